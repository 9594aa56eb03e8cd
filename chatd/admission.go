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
// clients and connect are guarded by registry.cmu; queued is atomic because
// every send updates it.
type ipState struct {
	key     string
	conns   int
	clients map[*Client]struct{}
	connect tokenBucket // connection-rate throttle
	queued  atomic.Int64
}

// ipKey returns the per-IP key of addr ("" if it is exempt or unparsable).
func (r *registry) ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	for _, p := range r.exempt {
		if p.Contains(a) {
			return ""
		}
	}
	if a.Is6() {
		p, _ := a.Prefix(r.limits.IPv6Prefix)
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
func (r *registry) admit(c *Client) string {
	now := time.Now()
	r.cmu.Lock()
	defer r.cmu.Unlock()
	if r.lameduck.Load() {
		return discShutdown
	}
	if max := r.limits.MaxClients; max > 0 && len(r.clients) >= max {
		return discTooMany
	}
	if key := r.ipKey(c.ip); key != "" {
		st := r.ips[key]
		if st == nil {
			r.sweepIPs(now)
			l := r.limits
			st = &ipState{key: key, clients: map[*Client]struct{}{},
				connect: tokenBucket{rate: l.ConnectRate, burst: float64(l.ConnectBurst), tokens: float64(l.ConnectBurst), last: now}}
			r.ips[key] = st
		}
		if max := r.limits.MaxClientsPerIP; max > 0 && st.conns >= max {
			return discTooManyPerIP
		}
		if !st.connect.allow(now) {
			return discConnectThrottled
		}
		st.conns++
		st.clients[c] = struct{}{}
		c.ipst = st
	}
	r.clients[c] = struct{}{}
	r.clientsGauge.Inc()
	return ""
}

// sweepIPs forgets networks with no connection whose throttle has refilled
// (they would be created afresh identical), so the table holds only
// networks seen recently. cmu held; runs at most once a second.
func (r *registry) sweepIPs(now time.Time) {
	if now.Sub(r.ipsSwept) < time.Second {
		return
	}
	r.ipsSwept = now
	for k, st := range r.ips {
		if st.conns == 0 && st.connect.full(now) {
			delete(r.ips, k)
		}
	}
}

func (r *registry) forget(c *Client) {
	r.cmu.Lock()
	defer r.cmu.Unlock()
	if _, ok := r.clients[c]; !ok {
		return
	}
	delete(r.clients, c)
	if st := c.ipst; st != nil {
		st.conns--
		delete(st.clients, c)
	}
	r.clientsGauge.Dec()
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
func (r *registry) accountQueued(c *Client, n int) {
	total := r.queued.Add(int64(n))
	over := n > 0 && r.limits.MaxQueuedBytes > 0 && total > int64(r.limits.MaxQueuedBytes)
	if st := c.ipst; st != nil {
		ipq := st.queued.Add(int64(n))
		over = over || n > 0 && r.limits.MaxQueuedBytesPerIP > 0 && ipq > int64(r.limits.MaxQueuedBytesPerIP)
	}
	if over && r.reclaiming.CompareAndSwap(false, true) {
		go r.reclaim()
	}
}

// reclaim cuts the clients with the largest queues until the server and
// every network are back under 90% of their bounds. One runs at a time; it
// looks again after clearing the flag, so a bound crossed meanwhile is not
// missed, but only if it cut someone: what is left over is then held by
// writers of clients already cut, which let go of it at once, and the next
// send over a bound starts a new pass.
func (r *registry) reclaim() {
	for {
		cut := r.reclaimOnce()
		r.reclaiming.Store(false)
		if !cut || !r.overQueued() || !r.reclaiming.CompareAndSwap(false, true) {
			return
		}
	}
}

func (r *registry) overQueued() bool {
	l := r.limits
	if l.MaxQueuedBytes > 0 && r.queued.Load() > int64(l.MaxQueuedBytes) {
		return true
	}
	if l.MaxQueuedBytesPerIP <= 0 {
		return false
	}
	r.cmu.Lock()
	defer r.cmu.Unlock()
	for _, st := range r.ips {
		if st.queued.Load() > int64(l.MaxQueuedBytesPerIP) {
			return true
		}
	}
	return false
}

func (r *registry) reclaimOnce() bool {
	l := r.limits
	cut := false
	if max := int64(l.MaxQueuedBytes); max > 0 && r.queued.Load() > max {
		cut = r.cutLargest(r.snapshotClients(), max*9/10, discSendQServer)
	}
	if l.MaxQueuedBytesPerIP <= 0 {
		return cut
	}
	max := int64(l.MaxQueuedBytesPerIP)
	var overs [][]*Client
	r.cmu.Lock()
	for _, st := range r.ips {
		if st.queued.Load() > max {
			var cs []*Client
			for c := range st.clients {
				cs = append(cs, c)
			}
			overs = append(overs, cs)
		}
	}
	r.cmu.Unlock()
	for _, cs := range overs {
		if r.cutLargest(cs, max*9/10, discSendQIP) {
			cut = true
		}
	}
	return cut
}

// cutLargest disconnects clients of cs, largest queue first, until what
// the others hold is down to target bytes. Queues are read once, so the
// total and the choice agree. It reports whether it cut anyone.
func (r *registry) cutLargest(cs []*Client, target int64, reason string) bool {
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
