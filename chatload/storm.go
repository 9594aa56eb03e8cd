package chatload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// StormConfig describes an open-loop connection storm, httperf style: Conns
// connections started at Rate per second, each scheduled at t0 + i/Rate no
// matter how the server answers.
type StormConfig struct {
	Servers []string `json:"servers"`
	// SourceAddrs are local IPs bound round robin, to multiply the
	// ephemeral ports available; empty lets the kernel choose.
	SourceAddrs []netip.Addr `json:"source_addrs,omitempty"`
	Conns       int          `json:"conns"`
	Rate        float64      `json:"rate"`
	// Messages is K, the PRIVMSGs each connection sends before QUIT.
	Messages    int `json:"messages"`
	MessageSize int `json:"message_size"`
	// Think is the pause between a message's echo and the next message;
	// Hold keeps the connection open (answering PINGs) after the last
	// message, before QUIT, to build up concurrent idle users.
	Think time.Duration `json:"think,omitempty"`
	Hold  time.Duration `json:"hold,omitempty"`
	// Channel, when set, is joined before sending; with Channels > 1
	// connection i joins Channel-(i mod Channels).
	Channel  string `json:"channel,omitempty"`
	Channels int    `json:"channels,omitempty"`
	// Caps requested with CAP LS 302; nil means echo-message. NoCaps skips
	// CAP negotiation entirely (RFC 1459 registration).
	Caps   []string `json:"caps,omitempty"`
	NoCaps bool     `json:"no_caps,omitempty"`
	// Timeout is httperf's --timeout: the longest wait for any one step
	// (connect, 001, JOIN, echo, close after QUIT).
	Timeout time.Duration `json:"timeout"`
	// MaxOpen bounds open connections; 0 means the open-file limit minus
	// a reserve. When reached, starts wait and their lag is reported.
	MaxOpen int `json:"max_open,omitempty"`
	// LagWarn: a p99 start lag above it is reported as a client bottleneck.
	LagWarn    time.Duration `json:"lag_warn"`
	NickPrefix string        `json:"nick_prefix,omitempty"`
	// NoRaiseFDLimit keeps the process's RLIMIT_NOFILE as it is.
	NoRaiseFDLimit   bool           `json:"-"`
	Progress         func(Progress) `json:"-"`
	ProgressInterval time.Duration  `json:"-"`
	Dial             DialFunc       `json:"-"`
}

func (c StormConfig) withDefaults() (StormConfig, error) {
	if len(c.Servers) == 0 {
		return c, errors.New("storm: no server given (--server host:port)")
	}
	if err := checkServers(c.Servers); err != nil {
		return c, fmt.Errorf("storm: %w", err)
	}
	if c.Conns <= 0 {
		return c, fmt.Errorf("storm: conns must be positive, got %d", c.Conns)
	}
	if c.Rate <= 0 {
		return c, fmt.Errorf("storm: rate must be positive, got %g", c.Rate)
	}
	if c.Messages < 0 {
		return c, fmt.Errorf("storm: messages must not be negative, got %d", c.Messages)
	}
	if c.Think < 0 || c.Hold < 0 {
		return c, fmt.Errorf("storm: think %v and hold %v must not be negative", c.Think, c.Hold)
	}
	if c.MessageSize <= 0 {
		c.MessageSize = 64
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.LagWarn <= 0 {
		c.LagWarn = 50 * time.Millisecond
	}
	if c.Caps == nil && !c.NoCaps {
		c.Caps = []string{"echo-message"}
	}
	if c.NoCaps {
		c.Caps = nil
	}
	if c.NickPrefix == "" {
		c.NickPrefix = randomPrefix()
	}
	if c.Dial == nil {
		c.Dial = defaultDial
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = time.Second
	}
	return c, nil
}

// checkServers rejects addresses that cannot be dialled, before a run
// would count every connection as an error.
func checkServers(servers []string) error {
	for _, s := range servers {
		if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
			return fmt.Errorf("server %q: want host:port, e.g. 198.18.0.10:6667", s)
		}
	}
	return nil
}

// randomPrefix keeps nicks of back-to-back runs apart, since a server may
// still hold the previous run's sessions. 'c' + 3 base-36 chars + the
// connection number in base 36 stays within RFC 1459's 9-char NICKLEN up to
// 36^5 connections.
func randomPrefix() string {
	const digits = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte{'c', 0, 0, 0}
	for i := 1; i < len(b); i++ {
		b[i] = digits[rand.IntN(26)] // letters only, so no clash with the number
	}
	return string(b)
}

// StormResult carries httperf's figures for one storm, plus percentiles.
type StormResult struct {
	Config      StormConfig `json:"config"`
	Interrupted bool        `json:"interrupted,omitempty"`
	// DurationS is httperf's test-duration: first scheduled start to the
	// end of the last connection.
	DurationS   float64     `json:"duration_s"`
	Connections ConnSummary `json:"connections"`
	// ConnRate is connections initiated per second of DurationS.
	ConnRate      float64 `json:"conn_rate"`
	MsPerConn     float64 `json:"ms_per_conn"`
	MaxConcurrent int64   `json:"max_concurrent"`
	// ConnectionTime is the lifetime of successful connections, from the
	// intended start to the server's close after QUIT.
	ConnectionTime Summary `json:"connection_time"`
	// ConnectTime is intended start to TCP established (includes any lag).
	ConnectTime Summary `json:"connect_time"`
	// WelcomeTime is intended start to 001: what a user who connected on
	// schedule waited to be let in, queueing included (no coordinated
	// omission), where Reply.Register starts at the NICK/USER write.
	WelcomeTime Summary     `json:"welcome_time"`
	Reply       ReplyTimes  `json:"reply_time"`
	ReplyRate   RateStats   `json:"reply_rate"`
	NetIO       NetIO       `json:"net_io"`
	Errors      ErrorCounts `json:"errors"`
	// ErrorsByPhase tells a dial timeout from a reply timeout.
	ErrorsByPhase map[Phase]int64      `json:"errors_by_phase,omitempty"`
	ErrorSamples  []string             `json:"error_samples,omitempty"`
	StartLag      Summary              `json:"start_lag"`
	Drops         map[DropReason]int64 `json:"drops,omitempty"`
	Timeline      []TimelineBin        `json:"timeline,omitempty"`
	Client        ClientStats          `json:"client"`
	Warnings      []string             `json:"warnings,omitempty"`
}

// ConnSummary counts connections.
type ConnSummary struct {
	Initiated int64 `json:"initiated"`
	Succeeded int64 `json:"succeeded"`
	Failed    int64 `json:"failed"`
	// Aborted were cut short by the run's interruption (not errors).
	Aborted int64 `json:"aborted,omitempty"`
}

// ReplyTimes are httperf's "Reply time [ms]: response": request sent to
// reply received, split by request kind. All merges them, which is the
// paper's "response time".
type ReplyTimes struct {
	All      Summary `json:"all"`
	Register Summary `json:"register"`
	Join     Summary `json:"join"`
	Message  Summary `json:"message"`
}

// RateStats is httperf's "Reply rate [replies/s]" over 5-second samples.
type RateStats struct {
	Min     float64 `json:"min"`
	Avg     float64 `json:"avg"`
	Max     float64 `json:"max"`
	Stddev  float64 `json:"stddev"`
	Samples int     `json:"samples"`
}

// NetIO is httperf's Net I/O: payload bytes both ways per second, KB = 1024.
type NetIO struct {
	SentBytes int64   `json:"sent_bytes"`
	RecvBytes int64   `json:"recv_bytes"`
	KBPerSec  float64 `json:"kb_per_s"`
	Mbps      float64 `json:"mbps"`
}

func netIO(sent, recv int64, d time.Duration) NetIO {
	n := NetIO{SentBytes: sent, RecvBytes: recv}
	if s := d.Seconds(); s > 0 {
		total := float64(sent + recv)
		n.KBPerSec = total / 1024 / s
		n.Mbps = total * 8 / 1e6 / s
	}
	return n
}

// stormRun holds one run's shared state.
type stormRun struct {
	cfg     StormConfig
	io      IOCount
	drops   Drops
	c       counters
	tl      *timeline
	connT   *Recorder
	connect *Recorder
	welcome *Recorder
	lag     *Recorder
	reg     *Recorder
	join    *Recorder
	msg     *Recorder

	aborted atomic.Int64

	mu      sync.Mutex
	errs    ErrorCounts
	byPhase map[Phase]int64
	samples []string
}

const maxErrorSamples = 8

func (r *stormRun) fail(ctx context.Context, err error) {
	if ctx.Err() != nil {
		// The run was interrupted and closed this connection: that is
		// not the server's error.
		r.aborted.Add(1)
		return
	}
	class := Classify(err)
	r.c.errors.Add(1)
	r.tl.add(time.Now(), func(b *TimelineBin) { b.Errors++ })
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs.Add(class)
	r.byPhase[PhaseOf(err)]++
	if len(r.samples) < maxErrorSamples {
		s := fmt.Sprintf("%s: %v", class, err)
		for _, have := range r.samples {
			if have == s {
				return
			}
		}
		r.samples = append(r.samples, s)
	}
}

// RunStorm runs one open-loop connection storm: plan the client side,
// start each connection on schedule, then digest what was recorded.
func RunStorm(ctx context.Context, cfg StormConfig) (*StormResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg, client, warns, maxOpen := planStormClient(cfg)
	t0 := time.Now().Add(10 * time.Millisecond) // room to start the goroutines
	r := newStormRun(cfg, t0)
	u0, s0 := cpuTimes()
	stopProgress := func() {}
	if cfg.Progress != nil {
		ps := &progressSampler{phase: "storm", start: t0, total: int64(cfg.Conns), c: &r.c, io: &r.io, fn: cfg.Progress}
		stopProgress = ticker(cfg.ProgressInterval, ps.sample)
		defer func() { ps.sample(time.Now()) }()
	}
	defer stopProgress()

	interrupted := r.schedule(ctx, t0, maxOpen)
	end := time.Now()
	stopProgress()
	if ctx.Err() != nil {
		interrupted = true
	}
	res := r.result(t0, end, interrupted)
	client.MaxConcurrent = res.MaxConcurrent
	warns = append(warns, postflight(&client, u0, s0, end.Sub(t0), "connection starts", res.StartLag, cfg.LagWarn, res.Errors)...)
	res.Client = client
	res.Warnings = warns
	if interrupted {
		return res, fmt.Errorf("storm interrupted after %d of %d connections: %w", res.Connections.Initiated, cfg.Conns, context.Cause(ctx))
	}
	return res, nil
}

// planStormClient readies the client side: loopback source addresses when
// one would run out of ephemeral ports, the descriptor limit, and the bound
// on open connections it allows.
func planStormClient(cfg StormConfig) (StormConfig, ClientStats, []string, int) {
	var spread string
	if len(cfg.SourceAddrs) == 0 {
		if lo, hi, err := portRange(portRangePath); err == nil {
			if src := autoLoopbackSources(cfg.Servers, cfg.Conns, cfg.Rate, lo, hi); src != nil {
				cfg.SourceAddrs = src
				spread = fmt.Sprintf("client: spread over %d loopback source addresses (%v-%v) so ephemeral ports do not run out",
					len(src), src[0], src[len(src)-1])
			}
		}
	}
	client, warns := preflight(cfg.Conns, cfg.Rate, len(cfg.Servers), len(cfg.SourceAddrs), cfg.NoRaiseFDLimit)
	if spread != "" {
		warns = append(warns, spread)
	}
	maxOpen := cfg.MaxOpen
	if maxOpen <= 0 {
		maxOpen = cfg.Conns
		if client.FDSoft > fdReserve && uint64(maxOpen) > client.FDSoft-fdReserve {
			maxOpen = int(client.FDSoft - fdReserve)
		}
	}
	client.MaxOpen = maxOpen
	return cfg, client, warns, maxOpen
}

func newStormRun(cfg StormConfig, t0 time.Time) *stormRun {
	return &stormRun{
		cfg: cfg, tl: newTimeline(t0, time.Second),
		connT: NewRecorder(), connect: NewRecorder(), welcome: NewRecorder(), lag: NewRecorder(),
		reg: NewRecorder(), join: NewRecorder(), msg: NewRecorder(),
		byPhase: map[Phase]int64{},
	}
}

// schedule starts connection i at t0 + i/Rate (open loop), at most maxOpen
// at a time, and waits for all of them; true if ctx ended the schedule.
func (r *stormRun) schedule(ctx context.Context, t0 time.Time, maxOpen int) (interrupted bool) {
	sem := make(chan struct{}, maxOpen)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; i < r.cfg.Conns; i++ {
		// Multiply before dividing so late connections do not drift.
		intended := t0.Add(time.Duration(float64(i) * float64(time.Second) / r.cfg.Rate))
		if d := time.Until(intended); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return true
			case <-t.C:
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return true
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			r.runConn(ctx, i, intended)
		}(i)
	}
	return false
}

// result digests the run's recorders and counters.
func (r *stormRun) result(t0, end time.Time, interrupted bool) *StormResult {
	dur := end.Sub(t0)
	res := &StormResult{
		Config:      r.cfg,
		Interrupted: interrupted,
		DurationS:   dur.Seconds(),
		Connections: ConnSummary{
			Initiated: r.c.started.Load(),
			Succeeded: r.c.done.Load() - r.c.errors.Load() - r.aborted.Load(),
			Failed:    r.c.errors.Load(),
			Aborted:   r.aborted.Load(),
		},
		MaxConcurrent:  r.c.maxOpen.Load(),
		ConnectionTime: r.connT.Summary(),
		ConnectTime:    r.connect.Summary(),
		WelcomeTime:    r.welcome.Summary(),
		StartLag:       r.lag.Summary(),
		NetIO:          netIO(r.io.Sent(), r.io.Recv(), dur),
		Drops:          r.drops.Snapshot(),
		Timeline:       r.tl.bins(),
	}
	all := NewRecorder()
	all.Merge(r.reg)
	all.Merge(r.join)
	all.Merge(r.msg)
	res.Reply = ReplyTimes{All: all.Summary(), Register: r.reg.Summary(), Join: r.join.Summary(), Message: r.msg.Summary()}
	res.ReplyRate = replyRate(res.Timeline, 5)
	if s := dur.Seconds(); s > 0 {
		res.ConnRate = float64(res.Connections.Initiated) / s
	}
	if res.Connections.Initiated > 0 {
		res.MsPerConn = dur.Seconds() * 1000 / float64(res.Connections.Initiated)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	res.Errors = r.errs
	for p, n := range r.byPhase {
		if res.ErrorsByPhase == nil {
			res.ErrorsByPhase = map[Phase]int64{}
		}
		res.ErrorsByPhase[p] = n
	}
	res.ErrorSamples = r.samples
	return res
}

// runConn is one connection's life: connect, register, join, K messages,
// quit. Every time is measured from intended, the scheduled start.
func (r *stormRun) runConn(ctx context.Context, i int, intended time.Time) {
	now := time.Now()
	r.lag.Record(now.Sub(intended))
	r.c.started.Add(1)
	r.tl.add(now, func(b *TimelineBin) { b.Started++ })
	defer r.c.done.Add(1)

	cfg := r.cfg
	server := cfg.Servers[i%len(cfg.Servers)]
	var local *net.TCPAddr
	if n := len(cfg.SourceAddrs); n > 0 {
		local = net.TCPAddrFromAddrPort(netip.AddrPortFrom(cfg.SourceAddrs[i%n], 0))
	}
	s, err := dialSession(ctx, cfg.Dial, local, server, cfg.Timeout, &r.io, &r.drops)
	if err != nil {
		r.fail(ctx, err)
		return
	}
	r.c.opened()
	defer r.c.open.Add(-1)
	defer s.close()
	r.connect.Record(time.Since(intended))

	nick := cfg.NickPrefix + strconv.FormatInt(int64(i), 36)
	d, err := s.register(nick, cfg.Caps)
	if err != nil {
		r.fail(ctx, err)
		return
	}
	r.reg.Record(d)
	r.welcome.Record(time.Since(intended))
	r.tl.add(time.Now(), func(b *TimelineBin) { b.Replies++ })

	target := nick
	if cfg.Channel != "" {
		target = cfg.Channel
		if cfg.Channels > 1 {
			target = fmt.Sprintf("%s-%d", cfg.Channel, i%cfg.Channels)
		}
		d, err := s.join(target)
		if err != nil {
			r.fail(ctx, err)
			return
		}
		r.join.Record(d)
		r.tl.add(time.Now(), func(b *TimelineBin) { b.Replies++ })
	}
	for k := 0; k < cfg.Messages; k++ {
		tok := fmt.Sprintf("%s.%d", nick, k)
		d, err := s.message(target, messageText(tok, cfg.MessageSize), tok)
		if err != nil {
			r.fail(ctx, err)
			return
		}
		r.msg.Record(d)
		r.tl.add(time.Now(), func(b *TimelineBin) { b.Replies++ })
		if cfg.Think > 0 && k < cfg.Messages-1 {
			if err := s.idle(cfg.Think, PhaseMessage); err != nil {
				r.fail(ctx, err)
				return
			}
		}
	}
	if cfg.Hold > 0 {
		if err := s.idle(cfg.Hold, PhaseHold); err != nil {
			r.fail(ctx, err)
			return
		}
	}
	if err := s.quit(); err != nil {
		r.fail(ctx, err)
		return
	}
	r.connT.Record(time.Since(intended))
}

// messageText pads tok to size bytes, so the payload size is a parameter of
// the run and Net I/O is comparable across runs.
func messageText(tok string, size int) string {
	if len(tok) >= size {
		return tok
	}
	return tok + " " + strings.Repeat("x", size-len(tok)-1)
}
