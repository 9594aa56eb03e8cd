package chatd

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// registry is the node's connections, registered or not, with the per-IP
// admission state and the server-wide counters that bound memory and work
// (admission.go, chathistory.go, account.go).
//
// cmu guards clients, ips, ipsSwept and each ipState's conns and clients.
// It is a leaf below the world lock: it may be taken with mu held (LUSERS
// counts unregistered connections), never the other way round, and nothing
// else is locked while it is held. The counters are atomics or channels and
// need no lock.
type registry struct {
	cmu      sync.Mutex
	clients  map[*Client]struct{}
	ips      map[string]*ipState
	ipsSwept time.Time
	exempt   []netip.Prefix // immutable after New
	// queued is the bytes queued to all clients; over max_queued_bytes
	// the reclaimer (one at a time) cuts the largest queues.
	queued     atomic.Int64
	reclaiming atomic.Bool
	histSem    chan struct{} // running CHATHISTORY queries
	logins     *loginGuard
}

func newRegistry(l Limits) registry {
	return registry{
		clients: make(map[*Client]struct{}), ips: make(map[string]*ipState),
		exempt: parseExempt(l.ExemptNetworks), histSem: make(chan struct{}, l.HistoryConcurrency),
		logins: newLoginGuard(l),
	}
}
