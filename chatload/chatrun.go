package chatload

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// member is one chat client of a steady or failover run.
type member struct {
	r      *chatRun
	idx    int
	nick   string
	ch     int
	sender int // index among senders, or -1
	joined time.Time

	mu     sync.Mutex
	sess   *session
	server int
	down   bool
	ok     bool // joined during setup

	seenMu sync.Mutex
	seen   bitset
	msgids map[string]bool // failover only: dedupe by msgid

	probeSeen atomic.Bool

	// reader-goroutine state
	lastMsgid  string
	lastLive   time.Time
	maxGap     time.Duration
	histRef    string
	histCount  int
	histCursor string
	liveInRes  bool
	resuming   bool
	resumeAt   time.Time
	histLimit  int
}

func (m *member) current() (*session, int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sess, m.server, m.down
}

// chatRun is the engine shared by RunSteady and RunFailover.
type chatRun struct {
	cfg   SteadyConfig
	fo    *FailoverConfig
	run   string
	chans []string
	io    IOCount
	drops Drops
	c     counters

	members   []*member
	senders   []*member
	chanSize  []int // members joined per channel
	t0        time.Time
	totalSeqs int64

	fanout, fanSame, fanCross, echo, sendLag *Recorder
	delivered, echoes, dups, dupMsgids       atomic.Int64
	noMsgid                                  atomic.Int64
	replayed, sent, sendErr, skipped         atomic.Int64
	probes                                   atomic.Int64
	// stopping is set before the final QUITs, so the servers' closing the
	// connections is not taken for a failure.
	stopping atomic.Bool

	setMu    sync.Mutex
	accepted bitset
	sentSet  bitset
	orphaned bitset // sent on a session that broke before confirmation
	sentBy   []int64
	// chanSenders counts the senders of each channel; rank is a sender's
	// position among its channel's senders (see localIdx).
	chanSenders []int64
	rank        []int64

	errMu       sync.Mutex
	setupErrs   ErrorCounts
	dropErrs    ErrorCounts // steady: connections lost during the run
	dropSamples []string

	fs *failoverState // nil in steady runs
	tl *timeline

	ioSent0, ioRecv0 int64 // byte counts when the run started
}

func newChatRun(cfg SteadyConfig) *chatRun {
	r := &chatRun{
		cfg: cfg, run: cfg.NickPrefix,
		fanout: NewRecorder(), fanSame: NewRecorder(), fanCross: NewRecorder(),
		echo: NewRecorder(), sendLag: NewRecorder(),
		chanSize: make([]int, cfg.Channels),
		tl:       newTimeline(time.Time{}, time.Second),
	}
	for k := 0; k < cfg.Channels; k++ {
		r.chans = append(r.chans, "#"+cfg.NickPrefix+"-"+strconv.Itoa(k))
	}
	// Member i sits in channel i mod Channels, so senders (the first S
	// members) spread over the channels, and on node (i div Channels) mod
	// nodes, so every channel spans the nodes.
	n := cfg.Channels * cfg.Members
	for i := 0; i < n; i++ {
		m := &member{r: r, idx: i, nick: cfg.NickPrefix + strconv.FormatInt(int64(i), 36),
			ch: i % cfg.Channels, sender: -1, server: (i / cfg.Channels) % len(cfg.Servers)}
		if i < cfg.Senders {
			m.sender = i
			r.senders = append(r.senders, m)
		}
		r.members = append(r.members, m)
	}
	r.sentBy = make([]int64, len(r.senders))
	r.totalSeqs = int64(cfg.Rate * cfg.Duration.Seconds())
	r.chanSenders = make([]int64, cfg.Channels)
	r.rank = make([]int64, len(r.senders))
	for i, m := range r.senders {
		r.rank[i] = r.chanSenders[m.ch]
		r.chanSenders[m.ch]++
	}
	return r
}

// localIdx numbers the messages of one channel 0, 1, 2... in send order,
// so a member's seen-set holds only its channel's messages: the memory is
// members × messages-per-channel, not members × all messages. Message seq
// is sender seq mod S's k-th (k = seq div S).
func (r *chatRun) localIdx(seq int64) int64 {
	s := seq % int64(len(r.senders))
	return (seq/int64(len(r.senders)))*r.chanSenders[r.senders[s].ch] + r.rank[s]
}

// connect dials server, registers and joins m's channel.
func (r *chatRun) connect(ctx context.Context, m *member, server int) (*session, error) {
	var local *net.TCPAddr
	if n := len(r.cfg.SourceAddrs); n > 0 {
		local = net.TCPAddrFromAddrPort(netip.AddrPortFrom(r.cfg.SourceAddrs[m.idx%n], 0))
	}
	s, err := dialSession(ctx, r.cfg.Dial, local, r.cfg.Servers[server], r.cfg.Timeout, &r.io, &r.drops)
	if err != nil {
		return nil, err
	}
	if _, err := s.register(m.nick, wantedCaps); err != nil {
		s.close()
		return nil, err
	}
	if _, err := s.join(r.chans[m.ch]); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// setup connects every member at SetupRate.
func (r *chatRun) setup(ctx context.Context) {
	var wg sync.WaitGroup
	start := time.Now()
	for i, m := range r.members {
		at := start.Add(time.Duration(float64(i) * float64(time.Second) / r.cfg.SetupRate))
		if !sleepUntil(ctx, at) {
			break
		}
		wg.Add(1)
		go func(m *member) {
			defer wg.Done()
			r.c.started.Add(1)
			s, err := r.connect(ctx, m, m.server)
			r.c.done.Add(1)
			if err != nil {
				r.c.errors.Add(1)
				r.errMu.Lock()
				r.setupErrs.Add(Classify(err))
				r.errMu.Unlock()
				return
			}
			r.c.opened()
			m.mu.Lock()
			m.sess, m.ok, m.joined = s, true, time.Now()
			m.mu.Unlock()
		}(m)
	}
	wg.Wait()
	for _, m := range r.members {
		if m.ok {
			r.chanSize[m.ch]++
		}
	}
}

// sleepUntil waits for t or the context; false means cancelled.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// waitFor polls cond every step until it holds or the deadline passes. It
// waits for an event, bounded: a run must not hang on a broken server.
func waitFor(ctx context.Context, deadline time.Time, step time.Duration, cond func() bool) bool {
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || !sleepUntil(ctx, time.Now().Add(step)) {
			return cond()
		}
	}
}

// barrier makes the first joined member of each channel send a probe and
// waits until every member saw its channel's probe.
func (r *chatRun) barrier(ctx context.Context) bool {
	want := int64(0)
	for _, m := range r.members {
		if m.ok {
			want++
		}
	}
	probed := make([]bool, len(r.chans))
	for _, m := range r.members {
		if !m.ok || probed[m.ch] {
			continue
		}
		probed[m.ch] = true
		// The prober counts as having seen it: without echo-message it
		// never receives its own message.
		if m.probeSeen.CompareAndSwap(false, true) {
			r.probes.Add(1)
		}
		s, _, _ := m.current()
		_ = s.write(Message{Command: "PRIVMSG", Params: []string{r.chans[m.ch], probeText(r.run, r.chans[m.ch])}})
	}
	return waitFor(ctx, time.Now().Add(r.cfg.Timeout), 10*time.Millisecond, func() bool { return r.probes.Load() >= want })
}

// sendLoop is one sender's open-loop schedule: message seq is due at
// t0 + seq/Rate, and senders interleave (seq = sender + k×Senders).
func (r *chatRun) sendLoop(ctx context.Context, m *member) {
	step := int64(len(r.senders))
	for seq := int64(m.sender); seq < r.totalSeqs; seq += step {
		intended := r.t0.Add(time.Duration(float64(seq) * float64(time.Second) / r.cfg.Rate))
		if !sleepUntil(ctx, intended) {
			return
		}
		s, server, down := m.current()
		if down || s == nil {
			r.skipped.Add(1)
			continue
		}
		r.sendLag.Record(time.Since(intended))
		text := body{run: r.run, seq: seq, intended: intended, server: server}.text(r.cfg.MessageSize)
		// Mark before writing: if the session breaks right after the
		// write, the reconnect's orphan scan must already see it.
		r.setMu.Lock()
		r.sentSet.set(seq)
		r.setMu.Unlock()
		if err := s.write(Message{Command: "PRIVMSG", Params: []string{r.chans[m.ch], text}}); err != nil {
			r.setMu.Lock()
			r.sentSet.clear(seq)
			r.setMu.Unlock()
			r.sendErr.Add(1)
			continue
		}
		r.sent.Add(1)
		r.c.done.Add(1)
		r.tl.add(time.Now(), func(b *TimelineBin) { b.Sent++ })
		r.setMu.Lock()
		r.sentBy[m.sender]++
		r.setMu.Unlock()
	}
}

func (r *chatRun) markAccepted(seq int64) {
	r.setMu.Lock()
	r.accepted.set(seq)
	r.setMu.Unlock()
}

// readLoop consumes m's connection until the run ends. In failover runs a
// broken or silent connection is replaced (see failover.go).
func (r *chatRun) readLoop(ctx context.Context, m *member) {
	ping := r.cfg.Timeout
	if r.fs != nil {
		ping = r.fo.PingInterval
	}
	for ctx.Err() == nil {
		s, _, _ := m.current()
		msg, err := s.read(time.Now().Add(ping))
		if err == nil {
			r.handle(m, s, msg)
			continue
		}
		if ctx.Err() != nil || r.stopping.Load() {
			return
		}
		if isTimeout(err) {
			if r.fs != nil && time.Since(s.lastRecv) > r.fo.DeadAfter {
				r.fs.reconnect(ctx, m, s, fmt.Errorf("no data for %v: %w", r.fo.DeadAfter, ErrClientTimeout))
				continue
			}
			_ = s.write(Message{Command: "PING", Params: []string{"chatload"}})
			continue
		}
		if r.fs == nil {
			// Steady runs do not reconnect: the member's share shows as
			// Lost, and the break itself is counted here.
			r.errMu.Lock()
			r.dropErrs.Add(Classify(err))
			if len(r.dropSamples) < maxErrorSamples {
				r.dropSamples = append(r.dropSamples, fmt.Sprintf("%s: %v", m.nick, err))
			}
			r.errMu.Unlock()
			r.tl.add(time.Now(), func(b *TimelineBin) { b.Disconnects++ })
			return
		}
		r.fs.reconnect(ctx, m, s, err)
	}
}

// handle processes one line for member m.
func (r *chatRun) handle(m *member, s *session, msg Message) {
	if m.histRef != "" {
		// Every line of a history page counts toward the page size and
		// moves the paging cursor, whoever wrote it (probes, other runs).
		if ref, _ := msg.Tag("batch"); ref == m.histRef {
			m.histCount++
			if id, ok := msg.Tag("msgid"); ok && id != "" {
				m.histCursor = id
			}
		}
	}
	switch msg.Command {
	case "PRIVMSG":
		r.handlePrivmsg(m, msg)
	case "BATCH":
		if r.fs != nil {
			r.fs.batch(m, s, msg)
		}
	case "FAIL":
		if r.fs != nil && msg.Param(0) == "CHATHISTORY" {
			r.fs.resumeFailed(m, msg)
		}
	}
}

func (r *chatRun) handlePrivmsg(m *member, msg Message) {
	if msg.Param(0) != r.chans[m.ch] && !equalFoldASCII(msg.Param(0), r.chans[m.ch]) {
		return
	}
	text := msg.Param(1)
	if text == probeText(r.run, r.chans[m.ch]) {
		if m.probeSeen.CompareAndSwap(false, true) {
			r.probes.Add(1)
		}
		return
	}
	b, ok := parseBody(r.run, text)
	if !ok {
		r.drops.add(DropForeign)
		return
	}
	if b.seq >= r.totalSeqs || r.senders[b.seq%int64(len(r.senders))].ch != m.ch {
		// Never sent by this run to this channel (a corrupted line):
		// marking it would also grow the bitsets without bound.
		r.drops.add(DropOutOfRange)
		return
	}
	now := time.Now()
	batch, _ := msg.Tag("batch")
	inHistory := m.histRef != "" && batch == m.histRef
	msgid, _ := msg.Tag("msgid")
	if !inHistory {
		if msgid != "" {
			m.lastMsgid = msgid
		}
		if m.resuming {
			m.liveInRes = true
		}
		if !m.lastLive.IsZero() && now.Sub(m.lastLive) > m.maxGap {
			m.maxGap = now.Sub(m.lastLive)
		}
		m.lastLive = now
	}
	if msgid == "" && r.fs != nil {
		r.noMsgid.Add(1)
	}
	m.seenMu.Lock()
	dupByID := false
	if m.msgids != nil && msgid != "" {
		dupByID = m.msgids[msgid]
		m.msgids[msgid] = true
	}
	li := r.localIdx(b.seq)
	dup := m.seen.has(li)
	m.seen.set(li)
	m.seenMu.Unlock()
	if dupByID {
		r.dupMsgids.Add(1)
	}
	if dup {
		r.dups.Add(1)
		return
	}
	r.markAccepted(b.seq)
	if inHistory {
		r.replayed.Add(1)
		r.tl.add(now, func(b *TimelineBin) { b.Replayed++ })
		return // its latency is the outage, measured there
	}
	lat := now.Sub(b.intended)
	if equalFoldASCII(msg.Nick(), m.nick) {
		r.echo.Record(lat)
		r.echoes.Add(1)
		return
	}
	r.fanout.Record(lat)
	if _, server, _ := m.current(); server == b.server {
		r.fanSame.Record(lat)
	} else {
		r.fanCross.Record(lat)
	}
	r.delivered.Add(1)
	r.tl.add(now, func(b *TimelineBin) { b.Delivered++ })
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// expected is the number of deliveries the sent messages owe receivers.
func (r *chatRun) expected() int64 {
	r.setMu.Lock()
	defer r.setMu.Unlock()
	var n int64
	for i, s := range r.senders {
		n += r.sentBy[i] * int64(max(r.chanSize[s.ch]-1, 0))
	}
	return n
}

// execute runs setup, barrier, the timed phase (with during() alongside)
// and the drain; it returns the phase's wall time.
func (r *chatRun) execute(ctx context.Context, phase string, during func(ctx context.Context), drained func() bool) (setup time.Duration, dur time.Duration, barrier bool) {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	setupStart := time.Now()
	if r.cfg.Progress != nil {
		ps := &progressSampler{phase: "setup", start: setupStart, total: int64(len(r.members)), c: &r.c, io: &r.io, fn: r.cfg.Progress}
		stop := ticker(r.cfg.ProgressInterval, ps.sample)
		r.setup(runCtx)
		stop()
	} else {
		r.setup(runCtx)
	}
	setup = time.Since(setupStart)
	var readers sync.WaitGroup
	for _, m := range r.members {
		if m.ok {
			readers.Add(1)
			go func(m *member) {
				defer readers.Done()
				r.readLoop(runCtx, m)
			}(m)
		}
	}
	barrier = r.barrier(runCtx)

	r.c.done.Store(0)
	r.c.errors.Store(0)
	r.t0 = time.Now().Add(10 * time.Millisecond)
	r.tl.start(r.t0)
	r.ioSent0, r.ioRecv0 = r.io.Sent(), r.io.Recv()
	stopProgress := func() {}
	if r.cfg.Progress != nil {
		ps := &progressSampler{phase: phase, start: r.t0, total: r.totalSeqs, c: &r.c, io: &r.io, fn: r.cfg.Progress}
		stopProgress = ticker(r.cfg.ProgressInterval, ps.sample)
	}
	var senders sync.WaitGroup
	for _, m := range r.senders {
		if m.ok {
			senders.Add(1)
			go func(m *member) {
				defer senders.Done()
				r.sendLoop(runCtx, m)
			}(m)
		} else {
			r.skipped.Add((r.totalSeqs - int64(m.sender) + int64(len(r.senders)) - 1) / int64(len(r.senders)))
		}
	}
	if during != nil {
		senders.Add(1)
		go func() {
			defer senders.Done()
			during(runCtx)
		}()
	}
	senders.Wait()
	// The run lasts its Duration even when senders fell out early.
	sleepUntil(runCtx, r.t0.Add(r.cfg.Duration))
	waitFor(runCtx, time.Now().Add(r.drainTime()), 20*time.Millisecond, drained)
	dur = time.Since(r.t0)
	stopProgress()
	r.stopping.Store(true)
	for _, m := range r.members {
		if s, _, _ := m.current(); s != nil {
			_ = s.write(Message{Command: "QUIT", Params: []string{"chatload done"}})
		}
	}
	cancel() // closes every session (dialSession armed it)
	readers.Wait()
	return setup, dur, barrier
}

func (r *chatRun) drainTime() time.Duration {
	if r.fo != nil && r.fo.Drain > 0 {
		return r.fo.Drain
	}
	return r.cfg.Timeout
}
