package chatload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// FailoverConfig runs a steady load and, on cue, a hook that kills a chat
// node or fails the VRRP master. Clients detect the break (error, or no
// data for DeadAfter while pinging every PingInterval), reconnect (rotating
// through the servers), rejoin and resume with IRCv3 draft/chathistory:
// CHATHISTORY AFTER <channel> msgid=<last seen> <limit>, paging until a
// short page. Messages are deduplicated by msgid.
//
// Resuming after the last message seen is only complete if the server
// delivers every client's messages in the order of its history (chatd
// delivers from its log, in log order). A server that lets a later message
// overtake an earlier one can make a client skip the earlier one on
// resume: chatload reports that as missing, which is what a real client
// using AFTER would lose.
type FailoverConfig struct {
	Steady SteadyConfig `json:"steady"`
	// CueAfter is when the hook runs, counted from the first scheduled
	// message.
	CueAfter time.Duration `json:"cue_after"`
	// Hook does the damage; nil makes a control run without a fault.
	Hook func(ctx context.Context) error `json:"-"`
	// HookCommand documents the hook in the result (ShellHook sets it).
	HookCommand string `json:"hook,omitempty"`
	// HookTimeout bounds the hook (its context is cancelled after it);
	// default one minute.
	HookTimeout  time.Duration `json:"hook_timeout"`
	PingInterval time.Duration `json:"ping_interval"`
	DeadAfter    time.Duration `json:"dead_after"`
	// Drain bounds the wait after the last message for resumes to finish
	// and deliveries to arrive.
	Drain time.Duration `json:"drain"`
	// HistoryLimit caps the CHATHISTORY page size; 0 uses the server's
	// ISUPPORT CHATHISTORY= value, or 100.
	HistoryLimit int `json:"history_limit,omitempty"`
	// Backoff is the first pause between reconnect attempts; it doubles up
	// to one second.
	Backoff time.Duration `json:"backoff"`
}

// ErrMissing: accepted messages never reached a member, live or by
// CHATHISTORY.
var ErrMissing = errors.New("accepted messages missing after resume")

// Check returns ErrNoClients when nobody joined and ErrMissing when an
// accepted message is missing: the invariant a failover must keep.
func (r *FailoverResult) Check() error {
	if err := r.Steady.Check(); err != nil {
		return err
	}
	if r.Missing > 0 {
		return fmt.Errorf("%w: %d (must be 0)", ErrMissing, r.Missing)
	}
	return nil
}

// ShellHook returns a hook that runs command with /bin/sh -c, failing with
// the command's output when it exits non-zero.
func ShellHook(command string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		// On cancellation kill the whole process group, not only the
		// shell: a child holding the output pipe would keep Run waiting.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 2 * time.Second
		if err := cmd.Run(); err != nil {
			o := out.String()
			if len(o) > 2048 {
				o = o[:2048] + "..."
			}
			return fmt.Errorf("hook %q: %w: %s", command, err, strings.TrimSpace(o))
		}
		return nil
	}
}

func (c FailoverConfig) withDefaults() (FailoverConfig, error) {
	s, err := c.Steady.withDefaults()
	if err != nil {
		return c, fmt.Errorf("failover: %w", err)
	}
	c.Steady = s
	if c.CueAfter < 0 || c.CueAfter >= s.Duration {
		return c, fmt.Errorf("failover: cue %v must fall within the %v run", c.CueAfter, s.Duration)
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 500 * time.Millisecond
	}
	if c.DeadAfter <= 0 {
		c.DeadAfter = 3 * time.Second
	}
	if c.DeadAfter < c.PingInterval {
		return c, fmt.Errorf("failover: dead-after %v is shorter than the ping interval %v", c.DeadAfter, c.PingInterval)
	}
	if c.Drain <= 0 {
		c.Drain = 10 * time.Second
	}
	if c.Backoff <= 0 {
		c.Backoff = 50 * time.Millisecond
	}
	if c.HookTimeout <= 0 {
		c.HookTimeout = time.Minute
	}
	return c, nil
}

// HookOutcome records when the hook ran and how it ended.
type HookOutcome struct {
	Ran       bool    `json:"ran"`
	AtS       float64 `json:"at_s"`
	DurationS float64 `json:"duration_s"`
	Error     string  `json:"error,omitempty"`
}

// FailoverResult holds what the clients saw across the failure.
type FailoverResult struct {
	Config FailoverConfig `json:"config"`
	// Steady holds the load's figures; its Delivered counts live
	// deliveries only, replays are in RecoveredByHistory.
	Steady *SteadyResult `json:"steady"`
	Hook   HookOutcome   `json:"hook"`
	// Disconnects counts broken connections; Affected the distinct
	// clients that had one; NotReconnected those still down at the end.
	Disconnects    int64 `json:"disconnects"`
	Affected       int   `json:"affected"`
	Reconnected    int64 `json:"reconnected"`
	NotReconnected int   `json:"not_reconnected"`
	// Detect: last byte received to the break being noticed. Reconnect:
	// noticed to registered and joined again. Outage: last byte received
	// to joined again, the gap each affected client saw. Resume: history
	// request to its last page. MaxGap: per client, the longest pause
	// between live channel messages (all clients, affected or not).
	Detect          Summary     `json:"detect"`
	Reconnect       Summary     `json:"reconnect"`
	Outage          Summary     `json:"outage"`
	Resume          Summary     `json:"resume"`
	MaxGap          Summary     `json:"max_gap"`
	ReconnectErrors ErrorCounts `json:"reconnect_errors"`
	// DisconnectCauses classifies how the connections broke: connreset
	// for a RST or close, client-timo for silence past DeadAfter.
	DisconnectCauses ErrorCounts `json:"disconnect_causes"`
	// Accepted messages were confirmed by their echo or seen by someone;
	// Unconfirmed were written but never confirmed (lost in flight with
	// the node, which the sender could tell). Missing counts accepted
	// messages some member of the channel never got, live or replayed:
	// it must be 0.
	Accepted           int64    `json:"accepted"`
	Unconfirmed        int64    `json:"unconfirmed"`
	Missing            int64    `json:"missing"`
	MissingSamples     []string `json:"missing_samples,omitempty"`
	Duplicates         int64    `json:"duplicates"`
	DuplicatesByBody   int64    `json:"duplicates_by_body"`
	RecoveredByHistory int64    `json:"recovered_by_history"`
	ResumeFailures     int64    `json:"resume_failures"`
	ResumeUnsupported  int64    `json:"resume_unsupported"`
	// Outages lists every break one by one, in the order they happened.
	Outages  []ClientOutage `json:"outages,omitempty"`
	Warnings []string       `json:"warnings,omitempty"`
}

// ClientOutage is one client's break and recovery, in milliseconds from
// the break being noticed; OutageMs counts from the last byte received.
type ClientOutage struct {
	Nick        string  `json:"nick"`
	Cause       string  `json:"cause"`
	FromServer  string  `json:"from_server"`
	ToServer    string  `json:"to_server,omitempty"`
	AtS         float64 `json:"at_s"` // noticed, seconds after the first message
	DetectMs    float64 `json:"detect_ms"`
	ReconnectMs float64 `json:"reconnect_ms,omitempty"`
	OutageMs    float64 `json:"outage_ms,omitempty"`
	Attempts    int     `json:"attempts"`
	Recovered   bool    `json:"recovered"`
}

type failoverState struct {
	r  *chatRun
	fo *FailoverConfig

	detect, reconnT, outage, resume *Recorder
	disconnects, reconnected        atomic.Int64
	resumeFail, resumeUnsupported   atomic.Int64

	mu         sync.Mutex
	outages    []ClientOutage
	causes     ErrorCounts // how connections broke
	reconnErrs ErrorCounts
	affected   map[int]bool
}

// reconnect replaces m's broken session old; cause is why it broke.
func (fs *failoverState) reconnect(ctx context.Context, m *member, old *session, cause error) {
	lastRecv := old.lastRecv
	if lastRecv.IsZero() {
		lastRecv = m.joined
	}
	detect := time.Now()
	old.close()
	fs.orphan(m)
	m.mu.Lock()
	m.down = true
	start := m.server
	m.mu.Unlock()
	fs.disconnects.Add(1)
	fs.r.tl.add(detect, func(b *TimelineBin) { b.Disconnects++ })
	fs.mu.Lock()
	fs.affected[m.idx] = true
	fs.causes.Add(Classify(cause))
	fs.mu.Unlock()
	fs.detect.Record(detect.Sub(lastRecv))
	m.histRef, m.resuming = "", false
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	rec := ClientOutage{Nick: m.nick, Cause: fmt.Sprint(cause), FromServer: fs.r.cfg.Servers[m.server],
		AtS: fs.r.tl.since(detect), DetectMs: ms(detect.Sub(lastRecv))}
	defer func() {
		fs.mu.Lock()
		fs.outages = append(fs.outages, rec)
		fs.mu.Unlock()
	}()

	base := fs.r.cfg.NickPrefix + strconv.FormatInt(int64(m.idx), 36)
	backoff := fs.fo.Backoff
	n := len(fs.r.cfg.Servers)
	server, nickRetry := start, false
	for attempt := 0; ctx.Err() == nil && !fs.r.stopping.Load(); attempt++ {
		if attempt > 0 && !nickRetry {
			server = (server + 1) % n
		}
		rec.Attempts++
		s, err := fs.r.connect(ctx, m, server)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			fs.mu.Lock()
			fs.reconnErrs.Add(Classify(err))
			fs.mu.Unlock()
			var se *ServerError
			if errors.As(err, &se) && se.Command == "433" {
				// The server still holds our old session (its node has not
				// reaped it yet): take another nick, as real clients do,
				// and retry this server at once, once.
				m.nick = fmt.Sprintf("%s_%d", base, attempt)
				if !nickRetry {
					nickRetry = true
					continue
				}
			}
			nickRetry = false
			sleepUntil(ctx, time.Now().Add(backoff))
			backoff = min(2*backoff, time.Second)
			continue
		}
		now := time.Now()
		m.mu.Lock()
		m.sess, m.server, m.down = s, server, false
		m.mu.Unlock()
		fs.reconnT.Record(now.Sub(detect))
		fs.outage.Record(now.Sub(lastRecv))
		rec.Recovered, rec.ToServer = true, fs.r.cfg.Servers[server]
		rec.ReconnectMs, rec.OutageMs = ms(now.Sub(detect)), ms(now.Sub(lastRecv))
		fs.reconnected.Add(1)
		fs.startResume(m, s, now)
		return
	}
}

// orphan marks m's sent but unconfirmed messages: their session is gone,
// so no echo will come, and the drain must not wait for one.
func (fs *failoverState) orphan(m *member) {
	if m.sender < 0 {
		return
	}
	r := fs.r
	r.setMu.Lock()
	defer r.setMu.Unlock()
	for seq := int64(m.sender); seq < r.totalSeqs; seq += int64(len(r.senders)) {
		if r.sentSet.has(seq) && !r.accepted.has(seq) {
			r.orphaned.set(seq)
		}
	}
}

// settled reports whether every sent message is confirmed or orphaned.
func (r *chatRun) settled() bool {
	r.setMu.Lock()
	defer r.setMu.Unlock()
	for seq := int64(0); seq < r.totalSeqs; seq++ {
		if r.sentSet.has(seq) && !r.accepted.has(seq) && !r.orphaned.has(seq) {
			return false
		}
	}
	return true
}

// historyTime formats a CHATHISTORY timestamp= anchor (IRCv3 server-time).
const historyTime = "2006-01-02T15:04:05.000Z"

// historySkew is subtracted from a timestamp anchor.
const historySkew = 2 * time.Second

func (fs *failoverState) startResume(m *member, s *session, now time.Time) {
	if !s.caps["draft/chathistory"] || !s.caps["batch"] {
		fs.resumeUnsupported.Add(1)
		return
	}
	limit := 100
	if v, err := strconv.Atoi(s.isupport["CHATHISTORY"]); err == nil && v > 0 {
		limit = v
	}
	if fs.fo.HistoryLimit > 0 && fs.fo.HistoryLimit < limit {
		limit = fs.fo.HistoryLimit
	}
	anchor := "msgid=" + m.lastMsgid
	if m.lastMsgid == "" {
		// No msgid seen: ask from the join, less a margin for clock skew
		// between client and server; the overlap is deduplicated.
		anchor = "timestamp=" + m.joined.Add(-historySkew).UTC().Format(historyTime)
	}
	m.histLimit, m.resuming, m.resumeAt, m.liveInRes, m.histCursor = limit, true, now, false, ""
	fs.requestHistory(m, s, anchor)
}

func (fs *failoverState) requestHistory(m *member, s *session, anchor string) {
	err := s.write(Message{Command: "CHATHISTORY",
		Params: []string{"AFTER", fs.r.chans[m.ch], anchor, strconv.Itoa(m.histLimit)}})
	if err != nil {
		fs.resumeFail.Add(1)
		m.resuming = false
	}
}

// batch tracks the chathistory batch of a resume and pages through it.
func (fs *failoverState) batch(m *member, s *session, msg Message) {
	ref := msg.Param(0)
	switch {
	case strings.HasPrefix(ref, "+") && msg.Param(1) == "chathistory" && m.resuming:
		m.histRef, m.histCount = ref[1:], 0
	case m.histRef != "" && ref == "-"+m.histRef:
		m.histRef = ""
		if m.histCount >= m.histLimit && m.histCursor != "" {
			fs.requestHistory(m, s, "msgid="+m.histCursor)
			return
		}
		fs.resume.Record(time.Since(m.resumeAt))
		m.resuming = false
		if !m.liveInRes && m.histCursor != "" {
			m.lastMsgid = m.histCursor
		}
	}
}

func (fs *failoverState) resumeFailed(m *member, msg Message) {
	_ = msg
	fs.resumeFail.Add(1)
	m.resuming, m.histRef = false, ""
}

// missing counts accepted messages of m's channel that m has not seen,
// appending up to max samples.
func (r *chatRun) missing(m *member, samples *[]string, maxSamples int) int64 {
	r.setMu.Lock()
	acc := append(bitset(nil), r.accepted...)
	r.setMu.Unlock()
	m.seenMu.Lock()
	defer m.seenMu.Unlock()
	var n int64
	step := int64(len(r.senders))
	for seq := int64(0); seq < r.totalSeqs; seq++ {
		if r.senders[seq%step].ch != m.ch || !acc.has(seq) || m.seen.has(r.localIdx(seq)) {
			continue
		}
		n++
		if samples != nil && len(*samples) < maxSamples {
			*samples = append(*samples, fmt.Sprintf("%s missed message %d", m.nick, seq))
		}
	}
	return n
}

// RunFailover runs a steady load with a failure on cue and measures what
// the clients lost and how fast they came back.
func RunFailover(ctx context.Context, cfg FailoverConfig) (*FailoverResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	client, warns, err := preflightChat(cfg.Steady)
	if err != nil {
		return nil, fmt.Errorf("failover: %w", err)
	}
	fs := newFailoverState(&cfg)
	r := fs.r
	var hook HookOutcome
	u0, s0 := cpuTimes()
	setup, dur, barrier := r.execute(ctx, "failover", fs.onCue(&hook), r.recovered)

	res := fs.result(hook, setup, dur, barrier)
	res.Warnings = append(r.postflightChat(res.Steady, client, warns, u0, s0, dur), fs.warnings(res)...)
	if ctx.Err() != nil {
		return res, fmt.Errorf("failover interrupted: %w", context.Cause(ctx))
	}
	return res, nil
}

// newFailoverState makes the run of cfg with its failover bookkeeping.
func newFailoverState(cfg *FailoverConfig) *failoverState {
	r := newChatRun(cfg.Steady)
	r.fo = cfg
	// Fine bins: a failover's dip lasts about a second.
	r.tl = newTimeline(time.Time{}, 100*time.Millisecond)
	fs := &failoverState{r: r, fo: cfg, detect: NewRecorder(), reconnT: NewRecorder(),
		outage: NewRecorder(), resume: NewRecorder(), affected: map[int]bool{}}
	r.fs = fs
	for _, m := range r.members {
		m.msgids = map[string]bool{}
	}
	return fs
}

// onCue returns the run's during step: at CueAfter it runs the hook,
// bounded by HookTimeout, and records how it went in *hook.
func (fs *failoverState) onCue(hook *HookOutcome) func(ctx context.Context) {
	return func(ctx context.Context) {
		cfg := fs.fo
		if cfg.Hook == nil || !sleepUntil(ctx, fs.r.t0.Add(cfg.CueAfter)) {
			return
		}
		start := time.Now()
		hook.Ran, hook.AtS = true, start.Sub(fs.r.t0).Seconds()
		hctx, cancel := context.WithTimeout(ctx, cfg.HookTimeout)
		defer cancel()
		if err := cfg.Hook(hctx); err != nil {
			hook.Error = err.Error()
		}
		hook.DurationS = time.Since(start).Seconds()
	}
}

// recovered is the failover run's drain condition: every sent message is
// settled and every member is connected and has every accepted message.
func (r *chatRun) recovered() bool {
	if !r.settled() {
		return false
	}
	for _, m := range r.members {
		if !m.ok {
			continue
		}
		if _, _, down := m.current(); down || r.missing(m, nil, 0) > 0 {
			return false
		}
	}
	return true
}

// result gathers the figures of the finished run; the caller adds the
// client's own figures and the warnings.
func (fs *failoverState) result(hook HookOutcome, setup, dur time.Duration, barrier bool) *FailoverResult {
	r := fs.r
	res := &FailoverResult{Config: *fs.fo, Hook: hook, Steady: r.steadyResult(setup, dur, barrier)}
	res.Disconnects = fs.disconnects.Load()
	res.Reconnected = fs.reconnected.Load()
	fs.mu.Lock()
	res.Affected = len(fs.affected)
	res.ReconnectErrors = fs.reconnErrs
	res.DisconnectCauses = fs.causes
	res.Outages = fs.outages
	fs.mu.Unlock()
	res.Detect, res.Reconnect = fs.detect.Summary(), fs.reconnT.Summary()
	res.Outage, res.Resume = fs.outage.Summary(), fs.resume.Summary()
	gaps := NewRecorder()
	for _, m := range r.members {
		if !m.ok {
			continue
		}
		if _, _, down := m.current(); down {
			res.NotReconnected++
		}
		gaps.Record(m.maxGap)
		res.Missing += r.missing(m, &res.MissingSamples, 10)
	}
	res.MaxGap = gaps.Summary()
	r.setMu.Lock()
	res.Accepted = r.accepted.count()
	for seq := int64(0); seq < r.totalSeqs; seq++ {
		if r.sentSet.has(seq) && !r.accepted.has(seq) {
			res.Unconfirmed++
		}
	}
	r.setMu.Unlock()
	res.Duplicates = r.dupMsgids.Load()
	res.DuplicatesByBody = r.dups.Load()
	res.RecoveredByHistory = r.replayed.Load()
	res.ResumeFailures = fs.resumeFail.Load()
	res.ResumeUnsupported = fs.resumeUnsupported.Load()
	return res
}

// warnings says what makes res incomplete or suspect: no fault, a failed
// hook, lost messages, msgids missing or unstable across nodes.
func (fs *failoverState) warnings(res *FailoverResult) []string {
	var warns []string
	if fs.fo.Hook == nil {
		warns = append(warns, "no hook: a control run without a fault")
	} else if res.Hook.Error != "" {
		warns = append(warns, "hook failed: "+res.Hook.Error)
	}
	if res.Missing > 0 {
		warns = append(warns, fmt.Sprintf("%d accepted messages never reached some member, live or by CHATHISTORY", res.Missing))
	}
	if n := fs.r.noMsgid.Load(); n > 0 {
		warns = append(warns, fmt.Sprintf("%d messages came without a msgid tag (message-tags not offered?): "+
			"resume fell back to timestamps and dedupe to message bodies", n))
	} else if res.DuplicatesByBody > res.Duplicates {
		warns = append(warns, fmt.Sprintf("%d messages came twice under different msgids: msgids are not stable across nodes, so msgid dedupe cannot work",
			res.DuplicatesByBody-res.Duplicates))
	}
	return warns
}
