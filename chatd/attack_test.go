package chatd

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// Tests for chatd under attack (issue 12). Each asserts on a counter or a
// bound, never on how long something took.

// addrConn gives a net.Pipe end the remote address of a client network.
type addrConn struct {
	net.Conn
	remote net.Addr
}

func (a addrConn) RemoteAddr() net.Addr { return a.remote }

// pipeClient serves one end of a pipe as a client from ip and returns the
// server's Client; nobody reads the other end until the test does, so what
// the server sends stays queued in memory.
func pipeClient(t *testing.T, n *testNode, ip string) (*Client, net.Conn) {
	t.Helper()
	srvEnd, cliEnd := net.Pipe()
	t.Cleanup(func() { cliEnd.Close() })
	n.ServeConn(addrConn{srvEnd, &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}})
	for _, c := range n.snapshotClients() {
		if ac, ok := c.conn.(addrConn); ok && ac.Conn == srvEnd {
			return c, cliEnd
		}
	}
	t.Fatal("pipe client not admitted")
	return nil, nil
}

func closedWith(c *Client) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closing {
		return ""
	}
	return c.quitMetric
}

// queue makes the server queue kb KiB of replies to c, in 100 KiB pieces.
func queue(c *Client, kb int) {
	for ; kb > 0; kb -= 100 {
		c.sendReply(make([]byte, min(kb, 100)<<10))
	}
}

// TestServerQueuedBytesBound: past max_queued_bytes the largest queue is cut
// first (and only as many as needed), with its own disconnect reason.
func TestServerQueuedBytesBound(t *testing.T) {
	cfg := testConfig("")
	cfg.Limits.MaxQueuedBytes = 1 << 20
	n := startNode(t, cfg, nil)
	a, _ := pipeClient(t, n, "198.18.0.1")
	b, _ := pipeClient(t, n, "198.18.0.2")
	c, _ := pipeClient(t, n, "198.18.0.3")
	queue(a, 600)
	queue(b, 300)
	queue(c, 200) // crosses 1 MiB: a is the largest
	waitFor(t, "the largest queue cut", func() bool { return closedWith(a) == discSendQServer })
	waitFor(t, "the reclaimer done", func() bool { return !n.reclaiming.Load() })
	if closedWith(b) != "" || closedWith(c) != "" {
		t.Errorf("smaller queues cut too: b %q, c %q", closedWith(b), closedWith(c))
	}
	// The cut client's writer lets go of what it holds at once.
	waitFor(t, "queued bytes back under the bound", func() bool { return n.queued.Load() <= int64(cfg.Limits.MaxQueuedBytes) })
}

// TestPerIPQueuedBytesBound: one network's queues are bounded on their own;
// another network's queue of the same size is left alone.
func TestPerIPQueuedBytesBound(t *testing.T) {
	cfg := testConfig("")
	cfg.Limits.MaxQueuedBytesPerIP = 512 << 10
	n := startNode(t, cfg, nil)
	a, _ := pipeClient(t, n, "198.18.0.1")
	b, _ := pipeClient(t, n, "198.18.0.1")
	other, _ := pipeClient(t, n, "198.18.0.2")
	queue(other, 400)
	queue(b, 200)
	queue(a, 400) // 198.18.0.1 now holds 600 KiB
	waitFor(t, "the network's largest queue cut", func() bool { return closedWith(a) == discSendQIP })
	waitFor(t, "the reclaimer done", func() bool { return !n.reclaiming.Load() })
	if closedWith(b) != "" || closedWith(other) != "" {
		qa, _ := a.queuedBytes()
		qb, _ := b.queuedBytes()
		t.Errorf("cut beyond need: b %q, other network %q (a %d, b %d, network %d)", closedWith(b), closedWith(other), qa, qb, a.ipst.queued.Load())
	}
}

// TestHistoryServerBound: with history_concurrency queries running, one
// more waits history_wait and is told to try again (not "no history").
func TestHistoryServerBound(t *testing.T) {
	cfg := testConfig("")
	cfg.Limits.HistoryConcurrency = 1
	cfg.Limits.HistoryWait = 50 * time.Millisecond
	n := startNode(t, cfg, nil)
	c := dial(t, n.Addr(), "h")
	c.register("histo", allCaps...)
	c.join("#c")
	n.histSem <- struct{}{} // the one slot is taken
	c.send("CHATHISTORY LATEST #c * 10")
	c.expectCmd("FAIL", "CHATHISTORY", "TEMPORARILY_UNAVAILABLE")
	if got := counterValue(t, n.m.historyRejected.WithLabelValues("server_busy")); got != 1 {
		t.Errorf("server_busy rejections = %v, want 1", got)
	}
	<-n.histSem
	c.send("CHATHISTORY LATEST #c * 10")
	c.expect("history batch end", func(m irc.Message) bool { return m.Command == "BATCH" && strings.HasPrefix(m.Param(0), "-") })
}

// TestHistoryClientBacklog: a client whose previous reply has not drained
// below sendq_bytes gets no new history query run for it.
func TestHistoryClientBacklog(t *testing.T) {
	cfg := testConfig("")
	cfg.Limits.SendQBytes = 8192
	cfg.Limits.HistoryWait = 20 * time.Millisecond
	n := startNode(t, cfg, nil)
	c, peer := pipeClient(t, n, "198.18.0.1")
	c.sendReply(make([]byte, 64<<10))
	if _, ok := n.historyTurn(c); ok {
		t.Fatal("history ran with 64 KiB of the last reply unread")
	}
	if got := counterValue(t, n.m.historyRejected.WithLabelValues("client_backlog")); got != 1 {
		t.Errorf("client_backlog rejections = %v, want 1", got)
	}
	go func() { _, _ = io.Copy(io.Discard, peer) }()
	waitFor(t, "the reply drained", func() bool { q, _ := c.queuedBytes(); return q == 0 })
	release, ok := n.historyTurn(c)
	if !ok {
		t.Fatal("history refused with the queue drained")
	}
	release()
}

func noExempt(cfg Config) Config {
	cfg.Limits.ExemptNetworks = []string{}
	return cfg
}

// TestMaxClientsPerIP: the per-IP limit refuses the connection after the
// limit, with its reason counted; the default exempts loopback.
func TestMaxClientsPerIP(t *testing.T) {
	cfg := noExempt(testConfig(""))
	cfg.Limits.MaxClientsPerIP = 2
	cfg.Limits.ConnectRate = -1
	n := startNode(t, cfg, nil)
	for i := 0; i < 2; i++ {
		dial(t, n.Addr(), "ok").register(uniqueNick())
	}
	if got := dial(t, n.Addr(), "over").expectClosed(); !strings.Contains(got, "too many") {
		t.Errorf("third connection: ERROR %q", got)
	}
	if got := counterValue(t, n.m.disconnects.WithLabelValues(discTooManyPerIP)); got != 1 {
		t.Errorf("too_many_clients_per_ip = %v, want 1", got)
	}

	def := testConfig("")
	def.Limits.MaxClientsPerIP = 2
	m := startNode(t, def, nil)
	for i := 0; i < 3; i++ {
		dial(t, m.Addr(), "exempt").register(uniqueNick())
	}
}

// TestConnectRateThrottle: connect_burst connections at once, then the
// rate; a throttled one is refused and counted.
func TestConnectRateThrottle(t *testing.T) {
	cfg := noExempt(testConfig(""))
	cfg.Limits.ConnectBurst = 2
	cfg.Limits.ConnectRate = 0.001
	n := startNode(t, cfg, nil)
	for i := 0; i < 2; i++ {
		dial(t, n.Addr(), "ok").register(uniqueNick())
	}
	if got := dial(t, n.Addr(), "fast").expectClosed(); !strings.Contains(got, "too fast") {
		t.Errorf("third connection: ERROR %q", got)
	}
	if got := counterValue(t, n.m.disconnects.WithLabelValues(discConnectThrottled)); got != 1 {
		t.Errorf("connect_throttled = %v, want 1", got)
	}
}

// TestIPv6CountedPerPrefix: IPv6 clients are counted by their /64.
func TestIPv6CountedPerPrefix(t *testing.T) {
	s := &Server{cfg: Defaults(), registry: registry{exempt: parseExempt(Defaults().Limits.ExemptNetworks), limits: Defaults().Limits}}
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"2001:db8::1", "2001:db8::ffff:2", true},
		{"2001:db8::1", "2001:db8:0:1::1", false},
		{"198.18.0.1", "198.18.0.2", false},
		{"::ffff:198.18.0.1", "198.18.0.1", true},
	} {
		if got := s.ipKey(tt.a) == s.ipKey(tt.b); got != tt.same {
			t.Errorf("%s and %s counted together: %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
	if k := s.ipKey("127.0.0.1"); k != "" {
		t.Errorf("loopback is not exempt by default: key %q", k)
	}
}

// TestPasswordSlotsRoundRobin: password check slots go round-robin between
// networks, so one network's queue cannot starve another's login.
func TestPasswordSlotsRoundRobin(t *testing.T) {
	l := Defaults().Limits
	l.PasswordChecks, l.LoginQueuePerIP = 1, 8
	g := newLoginGuard(l)
	ctx := context.Background()
	if err := g.acquire(ctx, "attacker"); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 8)
	enqueue := func(net, name string) {
		before := g.waiting()
		go func() {
			if err := g.acquire(ctx, net); err == nil {
				order <- name
			}
		}()
		waitFor(t, name+" queued", func() bool { return g.waiting() == before+1 })
	}
	for _, n := range []string{"a1", "a2", "a3", "a4"} {
		enqueue("attacker", n)
	}
	enqueue("user", "u")
	var got []string
	for i := 0; i < 5; i++ {
		g.release()
		got = append(got, <-order)
	}
	want := "a1 u a2 a3 a4"
	if strings.Join(got, " ") != want {
		t.Errorf("served %v, want %s", got, want)
	}
	// A network's queue is bounded.
	for i := 0; i < l.LoginQueuePerIP; i++ {
		enqueue("attacker", "x")
	}
	if err := g.acquire(ctx, "attacker"); err != errLoginBusy {
		t.Errorf("acquire past login_queue_per_ip: %v, want errLoginBusy", err)
	}
}

// TestPasswordSlotsCleanNetworkFirst: a network that failed a login within
// login_failure_interval waits behind one that did not, and one that
// logged in successfully lately goes before both, so 40 guessing networks,
// each with a turn, are not all served before a user's login.
func TestPasswordSlotsCleanNetworkFirst(t *testing.T) {
	l := Defaults().Limits
	l.PasswordChecks, l.LoginQueuePerIP = 1, 8
	g := newLoginGuard(l)
	ctx := context.Background()
	if err := g.acquire(ctx, "slot holder"); err != nil {
		t.Fatal(err)
	}
	for _, net := range []string{"guesser1", "guesser2"} {
		g.failed(time.Now(), net, "alice")
	}
	order := make(chan string, 8)
	enqueue := func(net string) {
		before := g.waiting()
		go func() {
			if err := g.acquire(ctx, net); err == nil {
				order <- net
			}
		}()
		waitFor(t, net+" queued", func() bool { return g.waiting() == before+1 })
	}
	g.succeeded(time.Now(), "returning user")
	enqueue("guesser1")
	enqueue("guesser2")
	enqueue("new network")
	enqueue("returning user")
	var got []string
	for i := 0; i < 4; i++ {
		g.release()
		got = append(got, <-order)
	}
	if want := "returning user,new network,guesser1,guesser2"; strings.Join(got, ",") != want {
		t.Errorf("served %v, want %s", got, want)
	}
}

// TestLoginGoodNetworksBounded: the table of networks that logged in
// successfully stays within maxTracked.
func TestLoginGoodNetworksBounded(t *testing.T) {
	g := newLoginGuard(Defaults().Limits)
	now := time.Unix(1e9, 0)
	for i := 0; i < maxTracked+100; i++ {
		g.succeeded(now, fmt.Sprintf("net%d", i))
	}
	if len(g.good) > maxTracked {
		t.Errorf("%d good networks tracked, bound %d", len(g.good), maxTracked)
	}
}

// legacyHash is "correct horse" hashed with the argon2id parameters chatd
// used before (m=64 MiB, t=3, p=2).
const legacyHash = "$argon2id$v=19$m=65536,t=3,p=2$aGFjaGF0LWxlZ2FjeS0xNg$rz163kmOpksFmqGFnCRrPQ8408fsb30bw8xgxhz4aEE"

// TestSASLRehashesLegacyHash (RFC 9106 §4, parameters chosen per
// deployment and carried in the hash): an account hashed with the old
// parameters logs in with them, and its hash is replaced by one with the
// current parameters at that login, once.
func TestSASLRehashesLegacyHash(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	ctx := context.Background()
	if err := n.st.CreateAccount(ctx, "alice", legacyHash); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		c := dial(t, n.Addr(), "a")
		if m := c.sasl("alice", "correct horse"); m.Command != rplSaslSuccess {
			t.Fatalf("login %d: %s %v", i+1, m.Command, m.Params)
		}
	}
	a, err := n.st.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.Hash, store.HashParams) {
		t.Errorf("stored hash after login %q, want parameters %s", a.Hash, store.HashParams)
	}
	if ok, err := store.CheckPassword(a.Hash, "correct horse"); !ok || err != nil {
		t.Errorf("new hash does not verify the password: %v, %v", ok, err)
	}
	if got := counterValue(t, n.m.rehashes.WithLabelValues("ok")); got != 1 {
		t.Errorf("rehashes = %v after two logins, want 1 (the second found a current hash)", got)
	}
}

func plainLogin(account, pw string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + account + "\x00" + pw))
}

func dialFrom(t *testing.T, addr net.Addr, src, name string) *tclient {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	conn, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &tclient{t: t, name: name, conn: conn, r: newTestReader(conn)}
}

// sasl runs one SASL PLAIN exchange and returns the final numeric.
func (c *tclient) sasl(account, pw string) irc.Message {
	c.t.Helper()
	c.send("AUTHENTICATE PLAIN")
	c.expectCmd("AUTHENTICATE", "+")
	c.send("AUTHENTICATE %s", plainLogin(account, pw))
	m, _ := c.expect("SASL result", func(m irc.Message) bool {
		switch m.Command {
		case rplSaslSuccess, errSaslFail, errSaslAborted:
			return true
		}
		return false
	})
	return m
}

// hashes caches one argon2id hash per password across tests: each costs
// seconds on a busy machine.
var hashes sync.Map

func createAccount(t *testing.T, n *testNode, name, pw string) {
	t.Helper()
	h, ok := hashes.Load(pw)
	if !ok {
		hash, err := store.HashPassword(pw)
		if err != nil {
			t.Fatal(err)
		}
		h, _ = hashes.LoadOrStore(pw, hash)
	}
	hash := h.(string)
	if err := n.st.CreateAccount(context.Background(), name, hash); err != nil {
		t.Fatal(err)
	}
}

// TestSASLBusyIsNotWrongPassword (IRCv3 sasl-3.1: 904 means the credentials
// were wrong): a login that gets no password check slot is aborted with a
// try-again FAIL, not 904.
func TestSASLBusyIsNotWrongPassword(t *testing.T) {
	cfg := testConfig("")
	cfg.Limits.PasswordChecks = 1
	cfg.Limits.LoginWait = 20 * time.Millisecond
	n := startNode(t, cfg, nil)
	createAccount(t, n, "alice", "alice's password")
	if err := n.logins.acquire(context.Background(), "elsewhere"); err != nil {
		t.Fatal(err)
	}
	c := dial(t, n.Addr(), "a")
	if m := c.sasl("alice", "alice's password"); m.Command != errSaslAborted {
		t.Fatalf("busy login answered %s %v, want 906 after FAIL", m.Command, m.Params)
	}
	if !strings.Contains(strings.Join(c.seen, "\n"), "FAIL AUTHENTICATE TEMPORARILY_UNAVAILABLE") {
		t.Errorf("no FAIL AUTHENTICATE TEMPORARILY_UNAVAILABLE in\n%s", c.tail())
	}
	n.logins.release()
	if m := c.sasl("alice", "alice's password"); m.Command != rplSaslSuccess {
		t.Fatalf("login with a free slot: %s %v", m.Command, m.Params)
	}
	if got := counterValue(t, n.m.logins.WithLabelValues(loginBusy)); got != 1 {
		t.Errorf("busy logins = %v, want 1", got)
	}
}

// TestSASLMissingAccountCostsAHash: a login for a missing account runs the
// same argon2id check as a wrong password for an existing one, so the
// answer's timing does not tell which accounts exist.
func TestSASLMissingAccountCostsAHash(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	createAccount(t, n, "alice", "alice's password")
	c := dial(t, n.Addr(), "a")
	before := counterValue(t, n.m.argon2Runs)
	c.sasl("alice", "wrong")
	existing := counterValue(t, n.m.argon2Runs) - before
	c.sasl("nobody", "wrong")
	missing := counterValue(t, n.m.argon2Runs) - before - existing
	if existing != 1 || missing != 1 {
		t.Errorf("argon2id runs: %v for an existing account, %v for a missing one; want 1 and 1", existing, missing)
	}
}

// TestSASLFailuresPerConnection: login_failures_per_conn wrong passwords
// disconnect the client, counted.
func TestSASLFailuresPerConnection(t *testing.T) {
	cfg := testConfig("")
	cfg.Limits.LoginFailuresPerConn = 2
	n := startNode(t, cfg, nil)
	createAccount(t, n, "alice", "alice's password")
	c := dial(t, n.Addr(), "a")
	c.sasl("alice", "guess 1")
	c.sasl("alice", "guess 2")
	if got := c.expectClosed(); !strings.Contains(got, "failed logins") {
		t.Errorf("ERROR %q, want one about failed logins", got)
	}
	waitFor(t, "login_failures disconnect counted", func() bool {
		return counterValue(t, n.m.disconnects.WithLabelValues(discLoginFailures)) == 1
	})
}

// TestSASLFailuresPerNetworkDoNotLockOutAccount: a network that used up its
// failures is refused unchecked (even with the right password), while the
// account's owner from another network still logs in though the account's
// own failure budget is spent.
func TestSASLFailuresPerNetworkDoNotLockOutAccount(t *testing.T) {
	cfg := testConfig("")
	cfg.Limits.LoginFailuresPerIP = 2
	cfg.Limits.LoginFailuresPerAccount = 2
	cfg.Limits.LoginFailureInterval = time.Hour
	n := startNode(t, cfg, nil)
	createAccount(t, n, "alice", "alice's password")
	for i := 0; i < 2; i++ {
		if m := dialFrom(t, n.Addr(), "127.0.0.2", "attacker").sasl("alice", "guess"); m.Command != errSaslFail {
			t.Fatalf("guess %d: %s", i, m.Command)
		}
	}
	runs := counterValue(t, n.m.argon2Runs)
	if m := dialFrom(t, n.Addr(), "127.0.0.2", "attacker").sasl("alice", "alice's password"); m.Command != errSaslAborted {
		t.Fatalf("throttled network: %s %v, want 906 after FAIL", m.Command, m.Params)
	}
	if counterValue(t, n.m.argon2Runs) != runs {
		t.Error("a throttled login still ran argon2id")
	}
	if m := dialFrom(t, n.Addr(), "127.0.0.3", "alice").sasl("alice", "alice's password"); m.Command != rplSaslSuccess {
		t.Fatalf("owner from another network: %s %v, want 903", m.Command, m.Params)
	}
	if got := counterValue(t, n.m.logins.WithLabelValues(loginThrottled)); got != 1 {
		t.Errorf("throttled logins = %v, want 1", got)
	}
}

// TestRegisterLimits (draft/account-registration leaves limits to the
// server): one account per connection, registrations_per_ip per network,
// and a taken name is refused before any hash is computed.
func TestRegisterLimits(t *testing.T) {
	cfg := noExempt(testConfig(""))
	cfg.Limits.RegistrationsPerIP = 2
	cfg.Limits.RegistrationInterval = time.Hour
	n := startNode(t, cfg, nil)
	c := dial(t, n.Addr(), "r")
	c.register("reg1")
	c.send("REGISTER reg1 * :long enough password")
	c.expectCmd("REGISTER", "SUCCESS", "reg1")
	d := dial(t, n.Addr(), "r2")
	d.register("reg2")
	runs := counterValue(t, n.m.argon2Runs)
	d.send("REGISTER reg1 * :long enough password")
	d.expectCmd("FAIL", "REGISTER", "ACCOUNT_EXISTS")
	if counterValue(t, n.m.argon2Runs) != runs {
		t.Error("REGISTER of a taken name computed a hash")
	}
	d.send("REGISTER reg2 * :long enough password")
	d.expectCmd("REGISTER", "SUCCESS", "reg2")
	e := dial(t, n.Addr(), "r3")
	e.register("reg3")
	e.send("REGISTER reg3 * :long enough password")
	e.expectCmd("FAIL", "REGISTER", "TEMPORARILY_UNAVAILABLE")
	if got := counterValue(t, n.m.registrations.WithLabelValues(regThrottled)); got != 1 {
		t.Errorf("throttled registrations = %v, want 1", got)
	}
}

// TestOverlongLinesChargedToFloodControl: a line too long to parse still
// costs a flood token, so a stream of them is cut like any flood.
func TestOverlongLinesChargedToFloodControl(t *testing.T) {
	cfg := testConfig("")
	// A slow refill: a busy machine descheduling the server between two
	// lines must not refill the bucket and end the flood.
	cfg.Limits.FloodBurst, cfg.Limits.FloodRate = 2, 2
	cfg.Limits.MaxFloodDelay = time.Millisecond
	n := startNode(t, cfg, nil)
	c := dial(t, n.Addr(), "f")
	long := strings.Repeat("x", cfg.Limits.LineBytes+100) + "\r\n"
	go func() {
		for i := 0; i < 50; i++ {
			if _, err := c.conn.Write([]byte(long)); err != nil {
				return
			}
		}
	}()
	if got := c.expectClosed(); got != "Closing link: Excess Flood" {
		t.Errorf("ERROR %q, want Excess Flood", got)
	}
	waitFor(t, "excess_flood counted", func() bool { return counterValue(t, n.m.disconnects.WithLabelValues(discFlood)) == 1 })
}

// TestReadBytesBound: bytes are metered whatever they are: a line that never
// ends (which never reaches the line throttle) is cut too.
func TestReadBytesBound(t *testing.T) {
	cfg := testConfig("")
	cfg.Limits.FloodRate = 100
	cfg.Limits.ReadBytesBurst, cfg.Limits.ReadBytesRate = cfg.Limits.LineBytes, 10000
	cfg.Limits.MaxFloodDelay = time.Millisecond
	n := startNode(t, cfg, nil)
	c := dial(t, n.Addr(), "b")
	go func() {
		chunk := []byte(strings.Repeat("y", 16<<10))
		for i := 0; i < 64; i++ {
			if _, err := c.conn.Write(chunk); err != nil {
				return
			}
		}
	}()
	if got := c.expectClosed(); got != "Closing link: Excess Flood" {
		t.Errorf("ERROR %q, want Excess Flood", got)
	}
	waitFor(t, "excess_flood counted", func() bool { return counterValue(t, n.m.disconnects.WithLabelValues(discFlood)) == 1 })
}

// TestChathistoryBannedNonMember (draft/chathistory leaves access to the
// server; chatd README "History access"): a non-member banned from a
// public channel cannot read its history, another non-member can.
func TestChathistoryBannedNonMember(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := dial(t, n.Addr(), "op")
	op.register("chanop", allCaps...)
	op.join("#pub")
	op.send("PRIVMSG #pub :hello")
	op.send("MODE #pub +b banned!*@*")
	op.expectCmd("MODE", "#pub", "+b")
	bad := dial(t, n.Addr(), "bad")
	bad.register("banned", allCaps...)
	bad.send("CHATHISTORY LATEST #pub * 10")
	bad.expectCmd("FAIL", "CHATHISTORY", "INVALID_TARGET")
	good := dial(t, n.Addr(), "good")
	good.register("reader", allCaps...)
	good.send("CHATHISTORY LATEST #pub * 10")
	good.expect("the message in history", func(m irc.Message) bool { return m.Command == "PRIVMSG" && m.Param(1) == "hello" })
}

// TestDummyHashCostsWhatARealOneCosts: the dummy hash checked for missing
// accounts has the parameters of a real one (so the same cost) and parses.
func TestDummyHashCostsWhatARealOneCosts(t *testing.T) {
	real, err := store.HashPassword("x")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(real, dummyParams) || dummyParams != store.HashParams {
		t.Fatalf("store hashes as %q, dummy parameters are %q", real[:strings.LastIndex(real[:strings.LastIndex(real, "$")], "$")+1], dummyParams)
	}
	g := newLoginGuard(Defaults().Limits)
	if ok, err := store.CheckPassword(g.dummy, "x"); err != nil || ok {
		t.Errorf("CheckPassword(dummy) = %v, %v; want false, nil", ok, err)
	}
}

// TestLoginFailureTablesBounded: failures for ever new account names and
// networks cannot grow the tables past maxTracked.
func TestLoginFailureTablesBounded(t *testing.T) {
	g := newLoginGuard(Defaults().Limits)
	now := time.Unix(1e9, 0)
	for i := 0; i < maxTracked+100; i++ {
		g.failed(now, fmt.Sprintf("net%d", i), fmt.Sprintf("acct%d", i))
		g.allowRegistration(now, fmt.Sprintf("net%d", i))
	}
	if len(g.netFails) > maxTracked || len(g.acctFails) > maxTracked || len(g.regs) > maxTracked {
		t.Errorf("tables: %d networks, %d accounts, %d registrations; bound %d", len(g.netFails), len(g.acctFails), len(g.regs), maxTracked)
	}
	// A network that has just failed its whole budget is still refused:
	// eviction takes refilled entries first.
	for i := 0; i < Defaults().Limits.LoginFailuresPerIP; i++ {
		g.failed(now, "attacker", "alice")
	}
	if !g.throttled(now, "attacker", "bob") {
		t.Error("a network out of failures is not throttled")
	}
	if g.throttled(now.Add(time.Hour), "attacker", "bob") {
		t.Error("a network is still throttled after its budget refilled")
	}
}

// TestHistoryBytesRateServerWide: CHATHISTORY replies draw on one node-wide
// bucket of history_bytes_rate: a page beyond the burst waits for the rest
// (chatd_history_paced_seconds_total), and a second client's page, the
// burst spent, waits for all of its bytes. The waits are what the bucket
// computes, recorded instead of slept.
func TestHistoryBytesRateServerWide(t *testing.T) {
	cfg := testConfig("")
	cfg.Limits.HistoryBytesRate, cfg.Limits.HistoryBytesBurst = 100, 4096
	n := startNode(t, cfg, nil)
	var mu sync.Mutex
	var waited time.Duration
	n.histPace.mu.Lock()
	n.histPace.sleep = func(d time.Duration) { mu.Lock(); waited += d; mu.Unlock() }
	n.histPace.mu.Unlock()
	total := func() time.Duration { mu.Lock(); defer mu.Unlock(); return waited }
	c := dial(t, n.Addr(), "a")
	c.register("speaker", allCaps...)
	c.join("#c")
	for i := 0; i < 40; i++ {
		c.send("PRIVMSG #c :%03d %s", i, strings.Repeat("x", 200))
		c.expect("the echo", func(m irc.Message) bool { return m.Command == "PRIVMSG" })
	}
	page := func(cl *tclient) {
		cl.send("CHATHISTORY LATEST #c * 40")
		cl.expect("history batch end", func(m irc.Message) bool { return m.Command == "BATCH" && strings.HasPrefix(m.Param(0), "-") })
		// The last chunk is charged after the batch end is queued; the
		// next command runs after that.
		cl.send("PING :charged")
		cl.expect("PONG", func(m irc.Message) bool { return m.Command == "PONG" })
	}
	page(c)
	first := total()
	// 40 lines of over 200 bytes: more than the 4096-byte burst.
	if first <= 0 {
		t.Fatal("a page larger than history_bytes_burst did not wait")
	}
	d := dial(t, n.Addr(), "b")
	d.register("reader", allCaps...)
	page(d)
	second := total() - first
	if second <= first {
		t.Errorf("second page waited %v, first %v: the burst the first one spent was not charged to the second", second, first)
	}
	if got := counterValue(t, n.m.historyPaced.WithLabelValues("rate")); math.Abs(got-total().Seconds()) > 1e-6 {
		t.Errorf("chatd_history_paced_seconds_total = %v, want %v", got, total().Seconds())
	}
}

// TestHistoryYieldsToLive: a CHATHISTORY reply waits while a live event is
// between its commit and its delivery, and counts the wait; bounded, so the
// reply still completes while live work never stops.
func TestHistoryYieldsToLive(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := dial(t, n.Addr(), "a")
	c.register("reader", allCaps...)
	c.join("#c")
	c.send("PRIVMSG #c :hello")
	c.expect("the echo", func(m irc.Message) bool { return m.Command == "PRIVMSG" })
	if got := counterValue(t, n.m.historyPaced.WithLabelValues("live")); got != 0 {
		t.Fatalf("history yielded %vs to live work before any history was asked for", got)
	}
	n.liveInFlight.Add(1) // a commit that never completes
	defer n.liveInFlight.Add(-1)
	c.send("CHATHISTORY LATEST #c * 10")
	c.expect("history batch end", func(m irc.Message) bool { return m.Command == "BATCH" && strings.HasPrefix(m.Param(0), "-") })
	// The last chunk is charged after the batch end is queued.
	waitFor(t, "the history reply to count its wait for live work", func() bool {
		return counterValue(t, n.m.historyPaced.WithLabelValues("live")) > 0
	})
}
