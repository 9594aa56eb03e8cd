package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hachat/hachat/chatload"
)

// The paper's §3.2 trials, in its order.
const (
	scenBothUp    = "both balancers up"
	scenMasterOff = "master stopped"
	scenFailback  = "master back (failback)"
	scenBothOff   = "both stopped"
	// Past the paper: a crash rather than a clean stop. The master's
	// cable is pulled at the switch, so the backup learns of it only from
	// missing adverts (3 × advert interval + skew).
	scenLinkCut = "master's link cut"
)

var scenarioOrder = []string{scenBothUp, scenMasterOff, scenFailback, scenLinkCut, scenBothOff}

// FailoverPlan is experiment 2.
type FailoverPlan struct {
	Reps                        int
	Duration, Cue, Drain        time.Duration
	Channels, Members, Senders  int
	Rate                        float64
	ProbeInterval, ProbeTimeout time.Duration
}

// ScenarioRun is one trial: a steady chat load through the VIP, a fault at
// the cue, and a prober opening new connections all along.
type ScenarioRun struct {
	Scenario string                   `json:"scenario"`
	Rep      int                      `json:"rep"`
	Chat     *chatload.FailoverResult `json:"chat"`
	Samples  []Sample                 `json:"probe_samples"`
	Outages  []Outage                 `json:"outages"`
	// WindowS is the message window (cue - Cue to cue - Cue + Duration);
	// DowntimeS the probe outages inside it.
	WindowS      float64 `json:"window_s"`
	DowntimeS    float64 `json:"downtime_s"`
	LongestS     float64 `json:"longest_outage_s"`
	Availability float64 `json:"availability"`
	// PaperStyle is the paper's uptime with our downtime:
	// U_paper / (U_paper + downtime); 0 when the paper gave no uptime.
	PaperStyle float64 `json:"paper_style_availability,omitempty"`
	// VIPMovedS is the time from the fault to the new holder having the
	// VIP (-1: it never did; 0 with NewHolder "": not applicable).
	VIPMovedS float64 `json:"vip_moved_s"`
	// HookAtS is when the fault was injected, in the prober's time.
	HookAtS   float64  `json:"hook_at_s"`
	NewHolder string   `json:"new_holder,omitempty"`
	Sessions  int      `json:"sessions"`
	Kept      int      `json:"sessions_kept"`
	Problems  []string `json:"problems,omitempty"`
	Findings  []string `json:"findings,omitempty"`
	DB        *DBTrial `json:"db,omitempty"` // the database trial's own figures (galera.go)
	// Sync is the connection-sync evidence of a takeover on the VMs (vmctl.go).
	Sync *SyncEvidence `json:"sync,omitempty"`
}

// scenarioSpec says what a trial does and what it must show.
type scenarioSpec struct {
	hook        func(t *Topology) error
	before      string // the VIP holder required before the fault
	newHolder   string // the VIP holder expected after it ("" none)
	wantDown    bool   // the service must be down at the end
	checkMissed bool   // messages must not go missing
	// restore undoes the fault after the trial, when the next trial needs it.
	restore func(ctx context.Context, t *Topology) error
}

var scenarioSpecs = map[string]scenarioSpec{
	scenBothUp:    {hook: func(*Topology) error { return nil }, before: "lb1", checkMissed: true},
	scenMasterOff: {hook: func(t *Topology) error { return t.StopVrrpd("lb1") }, before: "lb1", newHolder: "lb2", checkMissed: true},
	scenFailback:  {hook: func(t *Topology) error { return t.StartVrrpd("lb1") }, before: "lb2", newHolder: "lb1", checkMissed: true},
	scenLinkCut: {hook: func(t *Topology) error { return t.setLink("lb1", false) }, before: "lb1", newHolder: "lb2",
		checkMissed: true, restore: func(ctx context.Context, t *Topology) error {
			if err := t.setLink("lb1", true); err != nil {
				return err
			}
			return t.WaitService(ctx, "lb1", 30*time.Second)
		}},
	scenBothOff: {hook: func(t *Topology) error {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, lb := range []string{"lb1", "lb2"} {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = t.StopVrrpd(lb) }()
		}
		wg.Wait()
		return errors.Join(errs...)
	}, before: "lb1", wantDown: true},
}

var hookText = map[string]string{
	scenBothUp:    "none (control run)",
	scenMasterOff: "SIGTERM vrrpd on lb1 (the paper: keepalived stopped on the master)",
	scenFailback:  "start vrrpd on lb1 again (the paper: keepalived started again)",
	scenBothOff:   "SIGTERM vrrpd on lb1 and lb2",
	scenLinkCut:   "lb1's switch port down (a crash: no goodbye advert)",
}

// RunFailovers runs every scenario Reps times, restoring both balancers
// after "both stopped".
func RunFailovers(ctx context.Context, t *Topology, p FailoverPlan, progress func(string)) ([]*ScenarioRun, error) {
	var runs []*ScenarioRun
	for rep := 1; rep <= p.Reps; rep++ {
		for _, name := range t.failoverScenarios() {
			r, err := runScenario(ctx, t, p, name, rep)
			if r != nil {
				runs = append(runs, r)
				progress(fmt.Sprintf("failover %-24s rep %d: outage %.3f s (longest %.3f s), VIP moved after %.3f s, sessions kept %d/%d, missing %d, availability %.4f; problems %q; findings %q",
					name, rep, r.DowntimeS, r.LongestS, r.VIPMovedS, r.Kept, r.Sessions, r.Chat.Missing, r.Availability, r.Problems, r.Findings))
				if s := r.Sync; s != nil {
					progress(fmt.Sprintf("  sync: %s knew %d of the trial's established chat connections at the takeover (+%d stale); daemons before: lb1 %q, lb2 %q",
						r.NewHolder, s.KnownAtTakeover, s.StaleAtTakeover, s.Daemons["lb1"], s.Daemons["lb2"]))
				}
			}
			if err != nil {
				return runs, fmt.Errorf("%s (rep %d): %w", name, rep, err)
			}
			if name == scenBothOff {
				// What the stopped balancers left behind explains a
				// service that stayed up: keep it with the logs.
				for _, lb := range []string{"lb1", "lb2"} {
					if t.Hosts[lb] == nil {
						continue // a VM (-dataplane ipvs-vm): its console log has the story
					}
					out, _ := t.Hosts[lb].Run(ctx, "nft", "list", "ruleset")
					os.WriteFile(filepath.Join(t.Lab.Dir(), fmt.Sprintf("%s-nft-after-stop-rep%d.txt", lb, rep)), []byte(out), 0o644)
				}
			}
			if re := scenarioSpecs[name].restore; re != nil {
				if err := re(ctx, t); err != nil {
					return runs, fmt.Errorf("%s (rep %d): restoring: %w", name, rep, err)
				}
			}
		}
		for _, lb := range []string{"lb1", "lb2"} {
			if err := t.StartVrrpd(lb); err != nil {
				return runs, err
			}
		}
		if err := t.WaitService(ctx, "lb1", 30*time.Second); err != nil {
			return runs, fmt.Errorf("restoring both balancers: %w", err)
		}
	}
	return runs, nil
}

func runScenario(ctx context.Context, t *Topology, p FailoverPlan, name string, rep int) (*ScenarioRun, error) {
	spec := scenarioSpecs[name]
	if err := t.WaitService(ctx, spec.before, 30*time.Second); err != nil {
		return nil, fmt.Errorf("precondition, %s holds the VIP: %w", spec.before, err)
	}
	if err := t.WaitSettled(ctx, spec.before, 60*time.Second); err != nil {
		return nil, fmt.Errorf("precondition, both chat servers healthy: %w", err)
	}
	ev := t.syncEvidence(ctx, spec.newHolder)
	start := time.Now()
	pctx, stopProbe := context.WithCancel(ctx)
	prober := &Prober{Host: t.Client(), Addr: vipChat, Interval: p.ProbeInterval, Timeout: p.ProbeTimeout}
	var pwg sync.WaitGroup
	pwg.Add(1)
	go func() { defer pwg.Done(); prober.Run(pctx, start) }()

	var (
		hookAt   time.Time
		movedAt  time.Time
		watchErr error
		wwg      sync.WaitGroup
	)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	hook := func(hctx context.Context) error {
		hookAt = time.Now()
		if spec.newHolder != "" {
			wwg.Add(1)
			go func() {
				defer wwg.Done()
				watchErr = t.waitVIP(wctx, spec.newHolder)
				if watchErr == nil {
					movedAt = time.Now()
					if ev != nil {
						ev.atTakeover(wctx, t, spec.newHolder)
					}
				}
			}()
		}
		return spec.hook(t)
	}
	res, err := chatload.RunFailover(ctx, chatload.FailoverConfig{
		Steady: chatload.SteadyConfig{
			Servers: []string{vipChat}, Channels: p.Channels, Members: p.Members, Senders: p.Senders,
			Rate: p.Rate, Duration: p.Duration, Timeout: 5 * time.Second, Dial: nsDial(t.Client()),
		},
		CueAfter: p.Cue, Hook: hook, HookCommand: hookText[name],
		// A session is declared dead only after 8 s of silence: TCP retransmits
		// through a 1 s-advert takeover (~3.5 s), as an IRC client would wait.
		PingInterval: 500 * time.Millisecond, DeadAfter: 8 * time.Second, Drain: p.Drain,
	})
	stopProbe()
	pwg.Wait()
	stopWatch()
	wwg.Wait()
	if err != nil {
		return nil, fmt.Errorf("chat load: %w", err)
	}
	r := &ScenarioRun{Scenario: name, Rep: rep, Chat: res, Samples: prober.Samples(), NewHolder: spec.newHolder, Sync: ev}
	if hookAt.IsZero() {
		return r, fmt.Errorf("the fault was never injected (hook did not run: %s)", res.Hook.Error)
	}
	r.score(p, hookAt.Sub(start), name)
	switch {
	case spec.newHolder == "":
	case movedAt.IsZero():
		r.VIPMovedS = -1
	default:
		r.VIPMovedS = movedAt.Sub(hookAt).Seconds()
	}
	if res.Steady != nil {
		r.Sessions = res.Steady.Clients
	}
	r.Kept = max(0, r.Sessions-res.Affected)
	r.Problems, r.Findings = judge(r, spec, res)
	if ev != nil && r.Kept < r.Sessions {
		r.Findings = append(r.Findings, ev.finding(spec.newHolder))
	}
	t.noteDBTrial(r)
	return r, nil
}

// score finds the trial's outages from what the prober saw, hookAt after
// the start: the message window begins Cue before the fault.
func (r *ScenarioRun) score(p FailoverPlan, hookAt time.Duration, name string) {
	// The message window: the cue falls Cue after the first scheduled message.
	r.HookAtS = hookAt.Seconds()
	w0 := hookAt - p.Cue
	w1 := w0 + p.Duration
	// Outages are found over everything probed from the window's start
	// (the drain after it tells whether the service came back), and
	// counted inside the window only.
	var after []Sample
	for _, s := range r.Samples {
		if s.At >= w0 {
			after = append(after, s)
		}
	}
	end := w1
	if len(after) > 0 {
		end = max(end, after[len(after)-1].At)
	}
	r.Outages = Outages(after, end)
	inWindow := Clip(r.Outages, w0, w1)
	down := Downtime(inWindow)
	r.WindowS = p.Duration.Seconds()
	r.DowntimeS = down.Seconds()
	r.LongestS = Longest(inWindow).Seconds()
	r.Availability = WindowAvailability(p.Duration, down)
	if ps := paperScenarios[name]; ps.UptimeS > 0 {
		r.PaperStyle = Availability(time.Duration(ps.UptimeS*float64(time.Second)), down)
	}
}

// judge sorts what a trial shows into problems, which fail the lab (the
// invariants the system must keep: no accepted message lost, the backup
// takes over, the service comes back), and findings, which the report
// shows but which do not fail it: behaviour worth fixing that a noisy
// machine or a known open issue can also produce.
func judge(r *ScenarioRun, spec scenarioSpec, res *chatload.FailoverResult) (problems, findings []string) {
	if res.Hook.Error != "" {
		problems = append(problems, "fault injection failed: "+res.Hook.Error)
	}
	if r.Sessions == 0 {
		problems = append(problems, "no chat session was established through the VIP")
	}
	if spec.checkMissed && res.Missing > 0 {
		problems = append(problems, fmt.Sprintf("%d accepted messages missing (must be 0)", res.Missing))
	}
	if spec.newHolder != "" && r.VIPMovedS < 0 {
		problems = append(problems, spec.newHolder+" never took the VIP")
	}
	last := len(r.Outages) - 1
	if spec.wantDown {
		if last < 0 || r.Outages[last].Restored {
			findings = append(findings, "both balancers stopped, yet new connections still succeeded at the end of the window "+
				"(a stopped balancer left its forwarding rules, and clients' ARP entries still pointed at it)")
		}
	} else if last >= 0 && !r.Outages[last].Restored {
		// A lone late probe timing out on a loaded machine is not an
		// outage that lasted; one second of failures is.
		o := r.Outages[last]
		msg := fmt.Sprintf("the service never came back (down from %.2f s to the end, %.2f s)", o.Start.Seconds(), o.Duration().Seconds())
		if o.Duration() >= time.Second {
			problems = append(problems, msg)
		} else {
			findings = append(findings, msg)
		}
	}
	if r.Scenario == scenBothUp && res.Disconnects > 0 {
		findings = append(findings, fmt.Sprintf("%d sessions broke although nothing failed", res.Disconnects))
	}
	if spec.newHolder != "" && r.Kept < r.Sessions {
		findings = append(findings, fmt.Sprintf("%d of %d established sessions broke at the takeover (resumed by reconnect + CHATHISTORY)",
			r.Sessions-r.Kept, r.Sessions))
	}
	return problems, findings
}
