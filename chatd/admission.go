package chatd

import (
	"net/netip"
	"slices"
	"sync/atomic"
	"time"
)

// Admission and the server-wide memory bound.
//
// Per-IP limits key a client by its address, an IPv6 address by its
// /ipv6_prefix network: a single host usually holds a whole /64, so
// counting addresses would give it 2^64 allowances. Clients inside
// exempt_networks (loopback by default: tests, benchmarks, a local bouncer)
// have no ipState and no per-IP limit; the server-wide limits still apply.

// ipState is what the server knows about one client network. conns,
// clients and connect are guarded by Server.cmu; queued is atomic because
// every send updates it.
type ipState struct {
	key     string
	conns   int
	clients map[*Client]struct{}
	connect tokenBucket // connection-rate throttle
	queued  atomic.Int64
}

// ipKey returns the per-IP key of addr ("" if it is exempt or unparsable).
func (s *Server) ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	for _, p := range s.exempt {
		if p.Contains(a) {
			return ""
		}
	}
	if a.Is6() {
		p, _ := a.Prefix(s.cfg.Limits.IPv6Prefix)
		return p.String()
	}
	return a.String()
}

// parseExempt turns the validated exempt_networks into prefixes.
func parseExempt(nets []string) []netip.Prefix {
	var ps []netip.Prefix
	for _, n := range nets {
		if p, err := netip.ParsePrefix(n); err == nil {
			ps = append(ps, p.Masked())
		}
	}
	return ps
}

// admit applies the connection limits and records the client. It returns
// the reason (a disconnect metric label) when the client is refused.
func (s *Server) admit(c *Client) string {
	now := time.Now()
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if s.lameduck.Load() {
		return discShutdown
	}
	if max := s.cfg.Limits.MaxClients; max > 0 && len(s.clients) >= max {
		return discTooMany
	}
	if key := s.ipKey(c.ip); key != "" {
		st := s.ips[key]
		if st == nil {
			s.sweepIPs(now)
			l := s.cfg.Limits
			st = &ipState{key: key, clients: map[*Client]struct{}{},
				connect: tokenBucket{rate: l.ConnectRate, burst: float64(l.ConnectBurst), tokens: float64(l.ConnectBurst), last: now}}
			s.ips[key] = st
		}
		if max := s.cfg.Limits.MaxClientsPerIP; max > 0 && st.conns >= max {
			return discTooManyPerIP
		}
		if !st.connect.allow(now) {
			return discConnectThrottled
		}
		st.conns++
		st.clients[c] = struct{}{}
		c.ipst = st
	}
	s.clients[c] = struct{}{}
	s.m.clients.Inc()
	return ""
}

// sweepIPs forgets networks with no connection whose throttle has refilled
// (they would be created afresh identical), so the table holds only
// networks seen recently. cmu held; runs at most once a second.
func (s *Server) sweepIPs(now time.Time) {
	if now.Sub(s.ipsSwept) < time.Second {
		return
	}
	s.ipsSwept = now
	for k, st := range s.ips {
		if st.conns == 0 && st.connect.full(now) {
			delete(s.ips, k)
		}
	}
}

func (s *Server) forget(c *Client) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if _, ok := s.clients[c]; !ok {
		return
	}
	delete(s.clients, c)
	if st := c.ipst; st != nil {
		st.conns--
		delete(st.clients, c)
	}
	s.m.clients.Dec()
}

// refusal is the ERROR text for a refused connection.
func refusal(reason string) string {
	switch reason {
	case discConnectThrottled:
		return "Connecting too fast from your address, try again later"
	case discShutdown:
		return "Server restarting, please reconnect"
	}
	return "too many connections (" + reason + ")"
}

// allow takes one token if there is one (a throttle that refuses rather
// than delays). A bucket with rate <= 0 always allows.
func (b *tokenBucket) allow(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	b.refill(now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (b *tokenBucket) refill(now time.Time) {
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}

// full reports whether the bucket has refilled to its burst by now.
func (b *tokenBucket) full(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	return b.tokens+now.Sub(b.last).Seconds()*b.rate >= b.burst
}

// accountQueued records n more (or, negative, fewer) bytes queued to c,
// and starts the reclaimer when a memory bound is exceeded.
func (s *Server) accountQueued(c *Client, n int) {
	total := s.queued.Add(int64(n))
	over := n > 0 && s.cfg.Limits.MaxQueuedBytes > 0 && total > int64(s.cfg.Limits.MaxQueuedBytes)
	if st := c.ipst; st != nil {
		ipq := st.queued.Add(int64(n))
		over = over || n > 0 && s.cfg.Limits.MaxQueuedBytesPerIP > 0 && ipq > int64(s.cfg.Limits.MaxQueuedBytesPerIP)
	}
	if over && s.reclaiming.CompareAndSwap(false, true) {
		go s.reclaim()
	}
}

// reclaim cuts the clients with the largest queues until the server and
// every network are back under 90% of their bounds. One runs at a time; it
// looks again after clearing the flag, so a bound crossed meanwhile is not
// missed, but only if it cut someone: what is left over is then held by
// writers of clients already cut, which let go of it at once, and the next
// send over a bound starts a new pass.
func (s *Server) reclaim() {
	for {
		cut := s.reclaimOnce()
		s.reclaiming.Store(false)
		if !cut || !s.overQueued() || !s.reclaiming.CompareAndSwap(false, true) {
			return
		}
	}
}

func (s *Server) overQueued() bool {
	l := s.cfg.Limits
	if l.MaxQueuedBytes > 0 && s.queued.Load() > int64(l.MaxQueuedBytes) {
		return true
	}
	if l.MaxQueuedBytesPerIP <= 0 {
		return false
	}
	s.cmu.Lock()
	defer s.cmu.Unlock()
	for _, st := range s.ips {
		if st.queued.Load() > int64(l.MaxQueuedBytesPerIP) {
			return true
		}
	}
	return false
}

func (s *Server) reclaimOnce() bool {
	l := s.cfg.Limits
	cut := false
	if max := int64(l.MaxQueuedBytes); max > 0 && s.queued.Load() > max {
		cut = s.cutLargest(s.snapshotClients(), max*9/10, discSendQServer)
	}
	if l.MaxQueuedBytesPerIP <= 0 {
		return cut
	}
	max := int64(l.MaxQueuedBytesPerIP)
	var overs [][]*Client
	s.cmu.Lock()
	for _, st := range s.ips {
		if st.queued.Load() > max {
			var cs []*Client
			for c := range st.clients {
				cs = append(cs, c)
			}
			overs = append(overs, cs)
		}
	}
	s.cmu.Unlock()
	for _, cs := range overs {
		if s.cutLargest(cs, max*9/10, discSendQIP) {
			cut = true
		}
	}
	return cut
}

// cutLargest disconnects clients of cs, largest queue first, until what
// the others hold is down to target bytes. Queues are read once, so the
// total and the choice agree. It reports whether it cut anyone.
func (s *Server) cutLargest(cs []*Client, target int64, reason string) bool {
	type queue struct {
		c *Client
		n int
	}
	var qs []queue
	var total int64
	for _, c := range cs {
		// A client already cut counts as freed: its writer lets go at once.
		if n, closing := c.queuedBytes(); n > 0 && !closing {
			qs = append(qs, queue{c, n})
			total += int64(n)
		}
	}
	slices.SortFunc(qs, func(a, b queue) int { return b.n - a.n })
	cut := false
	for _, q := range qs {
		if total <= target {
			break
		}
		q.c.close("SendQ exceeded", reason)
		total -= int64(q.n)
		cut = true
	}
	return cut
}
