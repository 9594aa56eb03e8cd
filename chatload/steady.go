package chatload

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// SteadyConfig describes a steady chat load: Senders send Rate messages/s
// in total into Channels channels of Members members each, the members
// spread round robin over Servers (nodes).
type SteadyConfig struct {
	Servers     []string      `json:"servers"`
	SourceAddrs []netip.Addr  `json:"source_addrs,omitempty"`
	Channels    int           `json:"channels"`
	Members     int           `json:"members"`
	Senders     int           `json:"senders"`
	Rate        float64       `json:"rate"`
	Duration    time.Duration `json:"duration"`
	MessageSize int           `json:"message_size"`
	// Timeout bounds each setup step and the final drain.
	Timeout time.Duration `json:"timeout"`
	// SetupRate is how many members connect per second before the run.
	SetupRate        float64        `json:"setup_rate"`
	NickPrefix       string         `json:"nick_prefix,omitempty"`
	NoRaiseFDLimit   bool           `json:"-"`
	Progress         func(Progress) `json:"-"`
	ProgressInterval time.Duration  `json:"-"`
	Dial             DialFunc       `json:"-"`
}

// wantedCaps is what steady and failover clients ask for: echo-message for
// the sender's own latency and proof of acceptance, the rest for resume
// (IRCv3 draft/chathistory requires batch, server-time, message-tags).
var wantedCaps = []string{"batch", "server-time", "message-tags", "echo-message", "draft/chathistory"}

func (c SteadyConfig) withDefaults() (SteadyConfig, error) {
	if len(c.Servers) == 0 {
		return c, errors.New("steady: no server given (--server host:port)")
	}
	if err := checkServers(c.Servers); err != nil {
		return c, fmt.Errorf("steady: %w", err)
	}
	if c.Channels <= 0 {
		c.Channels = 1
	}
	if c.Members < 2 {
		return c, fmt.Errorf("steady: members per channel must be at least 2, got %d", c.Members)
	}
	if c.Senders <= 0 {
		c.Senders = c.Channels
	}
	if c.Senders > c.Channels*c.Members {
		return c, fmt.Errorf("steady: %d senders exceed the %d members", c.Senders, c.Channels*c.Members)
	}
	if c.Rate <= 0 {
		return c, fmt.Errorf("steady: rate must be positive, got %g", c.Rate)
	}
	if c.Duration <= 0 {
		return c, fmt.Errorf("steady: duration must be positive, got %v", c.Duration)
	}
	if c.MessageSize <= 0 {
		c.MessageSize = 64
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.SetupRate <= 0 {
		c.SetupRate = 200
	}
	if c.NickPrefix == "" {
		c.NickPrefix = randomPrefix()
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = time.Second
	}
	if c.Dial == nil {
		c.Dial = defaultDial
	}
	return c, nil
}

// SteadyResult holds the delivery figures of a steady run.
type SteadyResult struct {
	Config SteadyConfig `json:"config"`
	// Clients is the number of members that joined; SetupErrors those that
	// did not.
	Clients     int         `json:"clients"`
	SetupS      float64     `json:"setup_s"`
	SetupErrors ErrorCounts `json:"setup_errors"`
	// Disconnects are members whose connection broke during the run (a
	// steady run does not reconnect); their share of deliveries is Lost.
	Disconnects       ErrorCounts `json:"disconnects"`
	DisconnectSamples []string    `json:"disconnect_samples,omitempty"`
	// BarrierOK: every member saw its channel's probe before the run.
	BarrierOK bool    `json:"barrier_ok"`
	DurationS float64 `json:"duration_s"`
	// Sent were written; Skipped fell due while the sender was down or
	// missing; SendErrors failed to write.
	Sent       int64 `json:"sent"`
	Skipped    int64 `json:"skipped"`
	SendErrors int64 `json:"send_errors"`
	// Expected deliveries: each sent message times the other members of
	// its channel. Lost = Expected - Delivered when the drain (Timeout
	// after the last send) ended: lost, or later than that.
	Expected        int64   `json:"expected"`
	Delivered       int64   `json:"delivered"`
	Lost            int64   `json:"lost"`
	Duplicates      int64   `json:"duplicates"`
	OfferedRate     float64 `json:"offered_rate"`
	SendRate        float64 `json:"send_rate"`
	DeliveredPerSec float64 `json:"delivered_per_s"`
	// Fanout: intended send time to each receiver; split by whether sender
	// and receiver sat on the same node.
	Fanout          Summary              `json:"fanout"`
	FanoutSameNode  Summary              `json:"fanout_same_node"`
	FanoutCrossNode Summary              `json:"fanout_cross_node"`
	Echo            Summary              `json:"echo"`
	SendLag         Summary              `json:"send_lag"`
	NetIO           NetIO                `json:"net_io"`
	Drops           map[DropReason]int64 `json:"drops,omitempty"`
	Timeline        []TimelineBin        `json:"timeline,omitempty"`
	TimelineWidthS  float64              `json:"timeline_width_s"`
	Client          ClientStats          `json:"client"`
	Warnings        []string             `json:"warnings,omitempty"`
}

// ErrNoClients: not one member could connect, register and join, so the
// run measured nothing.
var ErrNoClients = errors.New("no member could connect, register and join")

// Check returns ErrNoClients (with the setup error classes) when nobody
// joined. Like a storm's errors, a run's failures are figures, not errors
// of RunSteady; Check is for callers that want a verdict.
func (r *SteadyResult) Check() error {
	if r.Clients == 0 {
		return noClients(r.SetupErrors)
	}
	return nil
}

func noClients(e ErrorCounts) error {
	var parts []string
	for _, c := range AllClasses {
		if n := e.Get(c); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, c))
		}
	}
	return fmt.Errorf("%w (%s)", ErrNoClients, strings.Join(parts, ", "))
}

// RunSteady runs a steady chat load and measures fan-out.
func RunSteady(ctx context.Context, cfg SteadyConfig) (*SteadyResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	client, warns, err := preflightChat(cfg)
	if err != nil {
		return nil, fmt.Errorf("steady: %w", err)
	}
	r := newChatRun(cfg)
	u0, s0 := cpuTimes()
	setup, dur, barrier := r.execute(ctx, "steady", nil, func() bool { return r.delivered.Load() >= r.expected() })
	res := r.steadyResult(setup, dur, barrier)
	res.Warnings = r.postflightChat(res, client, warns, u0, s0, dur)
	if ctx.Err() != nil {
		return res, fmt.Errorf("steady interrupted: %w", context.Cause(ctx))
	}
	return res, nil
}

// preflightChat checks the client side before a chat load of cfg (limits,
// descriptors for every member), returning the client's figures so far and
// warnings.
func preflightChat(cfg SteadyConfig) (ClientStats, []string, error) {
	n := cfg.Channels * cfg.Members
	client, warns := preflight(n, cfg.SetupRate, len(cfg.Servers), len(cfg.SourceAddrs), cfg.NoRaiseFDLimit)
	if client.FDSoft > 0 && uint64(n)+fdReserve > client.FDSoft {
		return client, warns, fmt.Errorf("%d clients need more descriptors than the limit %d; lower --members/--channels or raise the limit", n, client.FDSoft)
	}
	return client, warns, nil
}

// postflightChat completes res with the client's figures after the run and
// returns the preflight's warnings (warns), the postflight's and the run's.
func (r *chatRun) postflightChat(res *SteadyResult, client ClientStats, warns []string, u0, s0, dur time.Duration) []string {
	client.MaxConcurrent = r.c.maxOpen.Load()
	warns = append(warns, postflight(&client, u0, s0, dur, "message sends", res.SendLag, 50*time.Millisecond, res.SetupErrors)...)
	res.Client = client
	return append(warns, res.Warnings...)
}

func (r *chatRun) steadyResult(setup, dur time.Duration, barrier bool) *SteadyResult {
	res := &SteadyResult{
		Config:          r.cfg,
		SetupS:          setup.Seconds(),
		BarrierOK:       barrier,
		DurationS:       dur.Seconds(),
		Sent:            r.sent.Load(),
		Skipped:         r.skipped.Load(),
		SendErrors:      r.sendErr.Load(),
		Expected:        r.expected(),
		Delivered:       r.delivered.Load(),
		Duplicates:      r.dups.Load(),
		OfferedRate:     r.cfg.Rate,
		Fanout:          r.fanout.Summary(),
		FanoutSameNode:  r.fanSame.Summary(),
		FanoutCrossNode: r.fanCross.Summary(),
		Echo:            r.echo.Summary(),
		SendLag:         r.sendLag.Summary(),
		// Net I/O of the run itself: setup (registration, joins, the
		// barrier) is left out, as the duration leaves it out.
		NetIO:          netIO(r.io.Sent()-r.ioSent0, r.io.Recv()-r.ioRecv0, dur),
		Drops:          r.drops.Snapshot(),
		Timeline:       r.tl.bins(),
		TimelineWidthS: r.tl.width.Seconds(),
	}
	for _, m := range r.members {
		if m.ok {
			res.Clients++
		}
	}
	r.errMu.Lock()
	res.SetupErrors = r.setupErrs
	res.Disconnects = r.dropErrs
	res.DisconnectSamples = r.dropSamples
	r.errMu.Unlock()
	res.Lost = max(res.Expected-res.Delivered, 0)
	if s := dur.Seconds(); s > 0 {
		res.SendRate = float64(res.Sent) / s
		res.DeliveredPerSec = float64(res.Delivered) / s
	}
	if r.fs == nil && res.Lost > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d deliveries had not arrived %v after the last send (the drain): "+
			"late or lost; a longer --timeout tells which (a server's flood control delays, it does not drop)",
			res.Lost, r.drainTime()))
	}
	if !barrier {
		res.Warnings = append(res.Warnings, "not every member saw its channel's probe before the run: memberships may not have propagated across nodes")
	}
	if r.fs == nil && res.Disconnects.Total > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d members lost their connection during the run: %v",
			res.Disconnects.Total, res.DisconnectSamples))
	}
	if res.SetupErrors.Total > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d of %d members failed to connect and join", res.SetupErrors.Total, len(r.members)))
	}
	return res
}
