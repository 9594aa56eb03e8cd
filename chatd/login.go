package chatd

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/hachat/hachat/chatd/store"
)

// Logins under attack. A password check (argon2id, 19 MiB, ~40 ms) is the
// most expensive thing a client can ask for, so:
//
//   - at most password_checks run at once, and the slots are handed out
//     round-robin between client networks: 40 connections of one attacker
//     queue behind each other, not in front of a user from elsewhere;
//   - a login that cannot get a slot in login_wait (or whose network already
//     has login_queue_per_ip waiting) is told to try again, never that its
//     password is wrong;
//   - a missing account is checked against a dummy hash, so it costs what
//     a wrong password for an existing one costs (no account-name oracle);
//   - failures are limited per connection (disconnect), per network and per
//     account (token buckets). An exhausted account bucket refuses only
//     networks that have failed recently, so an attacker guessing alice's
//     password does not lock alice out from her own address.
//
// Fairness and failure limits key by network like the per-IP limits, but
// apply to exempt networks too: they cost an attacker, never a user.

// netKey is the network a client address is counted in: the address, or
// its /ipv6_prefix for IPv6.
func (s *Server) netKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(s.cfg.Limits.IPv6Prefix)
		return p.String()
	}
	return a.String()
}

// Login outcomes, the labels of chatd_logins_total.
const (
	loginOK        = "ok"
	loginBad       = "bad_password"
	loginBusy      = "busy"      // no password check slot in time
	loginThrottled = "throttled" // too many recent failures from the network or on the account
	loginError     = "store_error"
)

var errLoginBusy = errors.New("chatd: password checks busy")

// maxTracked bounds each failure table; beyond it, refilled entries are
// forgotten first, then arbitrary ones.
const maxTracked = 1 << 16

// loginGuard holds the password check slots and the failure tables.
type loginGuard struct {
	mu     sync.Mutex
	free   int
	queues map[string][]*pwWaiter // waiting logins by network
	order  []string               // networks with waiters, next served first
	nwait  int
	perNet int

	failRate  float64
	netBurst  int
	acctBurst int
	netFails  map[string]*tokenBucket
	acctFails map[string]*tokenBucket
	regs      map[string]*tokenBucket // REGISTER per network
	good      map[string]time.Time    // networks by their last successful login
	regRate   float64
	regBurst  int

	dummy string // a hash to check passwords of missing accounts against
}

// dummyParams are the argon2id parameters store.HashPassword uses. The
// dummy hash is random bytes under them: checking a password against it
// costs what a real check costs, and computing it costs nothing. (An
// account still holding a hash with the old, dearer parameters costs more
// until its owner's next login re-hashes it.)
var dummyParams = store.HashParams

type pwWaiter struct {
	ch      chan struct{}
	granted bool
}

func newLoginGuard(l Limits) *loginGuard {
	g := &loginGuard{free: l.PasswordChecks, queues: map[string][]*pwWaiter{}, perNet: l.LoginQueuePerIP,
		failRate: 1 / l.LoginFailureInterval.Seconds(), netBurst: l.LoginFailuresPerIP, acctBurst: l.LoginFailuresPerAccount,
		netFails: map[string]*tokenBucket{}, acctFails: map[string]*tokenBucket{},
		regs: map[string]*tokenBucket{}, good: map[string]time.Time{}, regRate: 1 / l.RegistrationInterval.Seconds(), regBurst: l.RegistrationsPerIP}
	salt, key := make([]byte, 16), make([]byte, 32)
	_, _ = rand.Read(salt)
	_, _ = rand.Read(key)
	b64 := base64.RawStdEncoding
	g.dummy = dummyParams + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
	return g
}

// acquire waits for a password check slot, served round-robin between
// networks. It fails at once if net already has perNet logins waiting, and
// when ctx ends.
func (g *loginGuard) acquire(ctx context.Context, net string) error {
	g.mu.Lock()
	if g.free > 0 && g.nwait == 0 {
		g.free--
		g.mu.Unlock()
		return nil
	}
	q := g.queues[net]
	if len(q) >= g.perNet {
		g.mu.Unlock()
		return errLoginBusy
	}
	w := &pwWaiter{ch: make(chan struct{})}
	if len(q) == 0 {
		g.order = append(g.order, net)
	}
	g.queues[net] = append(q, w)
	g.nwait++
	g.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	if w.granted {
		g.mu.Unlock()
		g.release()
		return errLoginBusy
	}
	q = g.queues[net]
	for i, x := range q {
		if x == w {
			q = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	g.nwait--
	if len(q) == 0 {
		delete(g.queues, net)
		for i, k := range g.order {
			if k == net {
				g.order = append(g.order[:i:i], g.order[i+1:]...)
				break
			}
		}
	} else {
		g.queues[net] = q
	}
	g.mu.Unlock()
	return errLoginBusy
}

// release hands the slot to the first waiter of the next network in turn,
// networks without recent failures first, and among those the ones that
// logged in successfully within goodFor: an attacker fails all the time, a
// user rarely, so a user is served next even behind 40 attacking networks
// (each of which would otherwise get its turn before the user's), and a
// returning user even in the first seconds of a storm, before the
// attacker's fresh networks have failed once.
func (g *loginGuard) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.nwait == 0 {
		g.free++
		return
	}
	i := g.nextNet(time.Now())
	net := g.order[i]
	q := g.queues[net]
	w := q[0]
	q = q[1:]
	g.order = append(g.order[:i:i], g.order[i+1:]...)
	if len(q) > 0 {
		g.queues[net] = q
		g.order = append(g.order, net) // back of the line
	} else {
		delete(g.queues, net)
	}
	g.nwait--
	w.granted = true
	close(w.ch)
}

// nextNet is the index in order of the network to serve: the first one
// with no failure within login_failure_interval (full failure bucket) and
// a success within goodFor, else the first with no recent failure, else
// the first. g.mu held.
func (g *loginGuard) nextNet(now time.Time) int {
	clean := -1
	for i, net := range g.order {
		if b := g.netFails[net]; b != nil && !b.full(now) {
			continue
		}
		if t, ok := g.good[net]; ok && now.Sub(t) < goodFor {
			return i
		}
		if clean < 0 {
			clean = i
		}
	}
	return max(clean, 0)
}

// goodFor is how long a network that logged in successfully is served
// before unknown ones.
const goodFor = 24 * time.Hour

// succeeded records a successful login from net.
func (g *loginGuard) succeeded(now time.Time, net string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.good[net]; !ok && len(g.good) >= maxTracked {
		for k, t := range g.good { // forget the expired, else one arbitrary
			if now.Sub(t) >= goodFor {
				delete(g.good, k)
			}
		}
		for k := range g.good {
			if len(g.good) < maxTracked {
				break
			}
			delete(g.good, k)
		}
	}
	g.good[net] = now
}

func (g *loginGuard) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.nwait
}

// throttled reports whether a login from net to account is refused
// unchecked: net has used up its failures, or account has and net failed
// recently (on any account).
func (g *loginGuard) throttled(now time.Time, net, account string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	nb := g.netFails[net]
	if nb != nil && nb.refillAndGet(now) < 1 {
		return true
	}
	ab := g.acctFails[store.Fold(account)]
	return ab != nil && ab.refillAndGet(now) < 1 && nb != nil && !nb.full(now)
}

// failed charges one failure to net and account.
func (g *loginGuard) failed(now time.Time, net, account string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.charge(g.netFails, net, g.netBurst, now)
	g.charge(g.acctFails, store.Fold(account), g.acctBurst, now)
}

func (g *loginGuard) charge(m map[string]*tokenBucket, key string, burst int, now time.Time) {
	b := m[key]
	if b == nil {
		if len(m) >= maxTracked {
			forgetRefilled(m, now)
		}
		b = &tokenBucket{rate: g.failRate, burst: float64(burst), tokens: float64(burst), last: now}
		m[key] = b
	}
	b.refill(now)
	b.tokens = max(b.tokens-1, 0)
}

// forgetRefilled drops the entries that have refilled, or, if none has,
// one arbitrary entry, so m stays within maxTracked.
func forgetRefilled(m map[string]*tokenBucket, now time.Time) {
	n := len(m)
	for k, b := range m {
		if b.full(now) {
			delete(m, k)
		}
	}
	if len(m) < n {
		return
	}
	for k := range m {
		delete(m, k)
		return
	}
}

// allowRegistration takes one of net's account registrations, if any is left.
func (g *loginGuard) allowRegistration(now time.Time, net string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.regs[net]
	if b == nil {
		if len(g.regs) >= maxTracked {
			forgetRefilled(g.regs, now)
		}
		b = &tokenBucket{rate: g.regRate, burst: float64(g.regBurst), tokens: float64(g.regBurst), last: now}
		g.regs[net] = b
	}
	return b.allow(now)
}

func (b *tokenBucket) refillAndGet(now time.Time) float64 {
	b.refill(now)
	return b.tokens
}

// checkLogin verifies a SASL PLAIN login from c and returns the account's
// registered spelling and the outcome (a chatd_logins_total label).
func (s *Server) checkLogin(c *Client, account, password string) (string, string) {
	g := s.logins
	net := s.netKey(c.ip)
	if g.throttled(time.Now(), net, account) {
		return "", loginThrottled
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	acct, err := s.st.Account(ctx, account)
	hash := acct.Hash
	switch {
	case errors.Is(err, store.ErrNotFound):
		hash = g.dummy
	case err != nil:
		return "", loginError
	}
	wctx, wcancel := context.WithTimeout(ctx, s.cfg.Limits.LoginWait)
	err = g.acquire(wctx, net)
	wcancel()
	if err != nil {
		return "", loginBusy
	}
	ok, err := store.CheckPassword(hash, password)
	s.m.argon2Runs.Inc()
	var rehash string
	if ok && err == nil && acct.Name != "" && store.NeedsRehash(hash) {
		// Still inside the slot: hashing is a password check's cost too.
		rehash, _ = store.HashPassword(password)
		s.m.argon2Runs.Inc()
	}
	g.release()
	if err != nil || !ok || acct.Name == "" {
		g.failed(time.Now(), net, account)
		return "", loginBad
	}
	g.succeeded(time.Now(), net)
	if rehash != "" {
		s.m.rehashes.WithLabelValues(s.storeRehash(ctx, acct, rehash)).Inc()
	}
	// The registered spelling, not the client's: it is what account-tag,
	// 900 and WHOIS show, and it must not vary with how one typed it.
	return acct.Name, loginOK
}

// storeRehash replaces acct's verified hash by rehash and returns the
// chatd_password_rehashes_total label. A failure costs nothing but a
// rehash at the next login.
func (s *Server) storeRehash(ctx context.Context, acct store.Account, rehash string) string {
	err := s.st.RehashAccount(ctx, acct.Name, acct.Hash, rehash)
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, store.ErrNotFound):
		return "changed"
	}
	return "error"
}
