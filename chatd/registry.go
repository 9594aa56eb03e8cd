package chatd

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
	histPace   *historyPacer // history bytes per second (historypace.go)
	// liveInFlight counts commits between their append and their apply
	// by the tailer: history replies wait while it is not zero.
	liveInFlight atomic.Int64
	logins       *loginGuard
	// lameduck: Shutdown began. admit reads it under cmu, so a connection
	// is either admitted before disconnectAll's snapshot or refused.
	lameduck     atomic.Bool
	limits       Limits           // immutable after New
	clientsGauge prometheus.Gauge // chatd_connections
}

func newRegistry(l Limits, m *metrics) registry {
	return registry{
		limits: l, clientsGauge: m.clients,
		clients: make(map[*Client]struct{}), ips: make(map[string]*ipState),
		exempt: parseExempt(l.ExemptNetworks), histSem: make(chan struct{}, l.HistoryConcurrency),
		logins:   newLoginGuard(l),
		histPace: newHistoryPacer(l, func(d time.Duration) { m.historyPaced.WithLabelValues("rate").Add(d.Seconds()) }),
	}
}

// waitClients waits until every connection's goroutine has finished, or the
// deadline.
func (r *registry) waitClients(deadline time.Time) bool {
	for {
		r.cmu.Lock()
		n := len(r.clients)
		r.cmu.Unlock()
		if n == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *registry) snapshotClients() []*Client {
	r.cmu.Lock()
	defer r.cmu.Unlock()
	cs := make([]*Client, 0, len(r.clients))
	for c := range r.clients {
		cs = append(cs, c)
	}
	return cs
}

func (r *registry) disconnectAll(reason, metric string) {
	for _, c := range r.snapshotClients() {
		c.close(reason, metric)
	}
}
