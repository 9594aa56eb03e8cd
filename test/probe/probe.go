package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Reason says why one probe failed.
type Reason string

// Failure reasons. Every failed probe carries exactly one.
const (
	ReasonTimeout     Reason = "timeout"     // no handshake or no reply within Timeout (SYN or ARP lost)
	ReasonRefused     Reason = "refused"     // RST to the SYN: the host owns the address but nothing listens
	ReasonReset       Reason = "reset"       // RST after the handshake (e.g. SYN and ACK reached different hosts)
	ReasonUnreachable Reason = "unreachable" // ICMP unreachable or no route / ARP failure reported by the kernel
	ReasonShortReply  Reason = "short-reply" // connection closed before a full line arrived
	ReasonOther       Reason = "other"       // anything else; Result.Err has the text
)

// Result is one probe attempt.
type Result struct {
	Start     time.Time
	Latency   time.Duration
	OK        bool
	Responder string // the line the server sent, when OK
	Reason    Reason // empty when OK
	Err       string // error text, when Reason is ReasonOther
}

// Config describes a Prober.
type Config struct {
	Target   netip.AddrPort
	Interval time.Duration // time between probe starts; default 5 ms
	Timeout  time.Duration // per probe, connect plus reply; default 100 ms
	// Workers is how many probes may be in flight at once; default
	// 2·Timeout/Interval + 4, so timing-out probes never delay the schedule.
	Workers int
	// Enter, when set, runs each worker's whole life inside it; pass a
	// netns Host's Do so that the probes' sockets live in the client's
	// namespace. It must call the function it is given and return its error.
	Enter func(func() error) error
}

// Prober runs probes until Stop.
type Prober struct {
	cfg    Config
	cancel context.CancelFunc
	wg     sync.WaitGroup
	jobs   chan time.Time

	mu      sync.Mutex
	results []Result
	marks   []Mark
	skipped int // ticks with no idle worker: the client was too slow, not the target
}

// Mark is a labelled instant recorded during a run, such as "failover".
type Mark struct {
	At    time.Time
	Label string
}

// Start begins probing in the background. It returns once every worker has
// entered its namespace, so the first probe is already scheduled.
func Start(ctx context.Context, cfg Config) (*Prober, error) {
	if !cfg.Target.IsValid() {
		return nil, errors.New("probe: start: no target")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 100 * time.Millisecond
	}
	if cfg.Workers <= 0 {
		cfg.Workers = int(2*cfg.Timeout/cfg.Interval) + 4
	}
	if cfg.Enter == nil {
		cfg.Enter = func(f func() error) error { return f() }
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Prober{cfg: cfg, cancel: cancel, jobs: make(chan time.Time)}
	ready := make(chan error, cfg.Workers)
	for range cfg.Workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			err := cfg.Enter(func() error {
				ready <- nil
				p.work()
				return nil
			})
			if err != nil {
				ready <- err
			}
		}()
	}
	for range cfg.Workers {
		if err := <-ready; err != nil {
			cancel()
			close(p.jobs) // the scheduler never started: release the workers that did
			p.wg.Wait()
			return nil, fmt.Errorf("probe: start worker: %w", err)
		}
	}
	p.wg.Add(1)
	go p.schedule(ctx)
	return p, nil
}

func (p *Prober) schedule(ctx context.Context) {
	defer p.wg.Done()
	defer close(p.jobs) // workers finish their probe in flight, then exit
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			select {
			case p.jobs <- now:
			default:
				p.mu.Lock()
				p.skipped++
				p.mu.Unlock()
			}
		}
	}
}

func (p *Prober) work() {
	d := net.Dialer{Timeout: p.cfg.Timeout}
	for range p.jobs {
		r := p.once(&d)
		p.mu.Lock()
		p.results = append(p.results, r)
		p.mu.Unlock()
	}
}

// once runs one probe. Start is taken when the attempt really begins, not
// when it was scheduled, so a late worker does not hide an outage.
//
// A probe is never cancelled by Stop: one started during an outage would
// otherwise vanish instead of counting as failed.
func (p *Prober) once(d *net.Dialer) Result {
	start := time.Now()
	r := Result{Start: start}
	cctx, cancel := context.WithDeadline(context.Background(), start.Add(p.cfg.Timeout))
	defer cancel()
	c, err := d.DialContext(cctx, "tcp", p.cfg.Target.String())
	if err == nil {
		_ = c.SetDeadline(start.Add(p.cfg.Timeout))
		var line string
		line, err = bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err == nil {
			r.OK, r.Responder = true, strings.TrimSpace(line)
		} else if errors.Is(err, io.EOF) {
			err = errShort
		}
	}
	r.Latency = time.Since(start)
	if err != nil {
		r.Reason = classify(err)
		if r.Reason == ReasonOther && cctx.Err() != nil {
			// The per-probe deadline fired; depending on where the dial
			// was, the net package reports that as a cancellation.
			r.Reason = ReasonTimeout
		}
		if r.Reason == ReasonOther {
			r.Err = err.Error()
		}
	}
	return r
}

var errShort = errors.New("short reply")

func classify(err error) Reason {
	var ne net.Error
	switch {
	case errors.Is(err, errShort):
		return ReasonShortReply
	case errors.Is(err, syscall.ECONNREFUSED):
		return ReasonRefused
	case errors.Is(err, syscall.ECONNRESET):
		return ReasonReset
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return ReasonUnreachable
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	}
	return ReasonOther
}

// Mark records a labelled instant, e.g. just before a failure is injected.
func (p *Prober) Mark(label string) time.Time {
	now := time.Now()
	p.mu.Lock()
	p.marks = append(p.marks, Mark{At: now, Label: label})
	p.mu.Unlock()
	return now
}

// Snapshot returns the results so far without stopping.
func (p *Prober) Snapshot() Series {
	p.mu.Lock()
	defer p.mu.Unlock()
	return newSeries(p.results, p.marks, p.skipped)
}

// Stop ends probing, lets the probes in flight finish (at most Timeout), and
// returns everything recorded.
func (p *Prober) Stop() Series {
	p.cancel()
	p.wg.Wait()
	return p.Snapshot()
}

// WaitFailed blocks until at least n probes started at or after since have
// failed, or ctx ends.
func (p *Prober) WaitFailed(ctx context.Context, since time.Time, n int) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		p.mu.Lock()
		got := 0
		for _, r := range p.results {
			if !r.OK && !r.Start.Before(since) {
				got++
			}
		}
		p.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("probe: %d of %d failed probes of %v since %s: %w", got, n, p.cfg.Target, since.Format("15:04:05.000"), ctx.Err())
		case <-t.C:
		}
	}
}

// WaitOK blocks until a probe started at or after since succeeds, or ctx ends.
// Use it to wait for "the service is reachable" as the client sees it.
func (p *Prober) WaitOK(ctx context.Context, since time.Time) (Result, error) {
	return p.WaitFrom(ctx, since, "")
}

// WaitFrom blocks until a probe started at or after since is answered by
// responder (any responder when ""), or ctx ends.
func (p *Prober) WaitFrom(ctx context.Context, since time.Time, responder string) (Result, error) {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	seen := 0
	for {
		p.mu.Lock()
		for _, r := range p.results[seen:] {
			if r.OK && !r.Start.Before(since) && (responder == "" || r.Responder == responder) {
				p.mu.Unlock()
				return r, nil
			}
		}
		seen = len(p.results)
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			who := "any responder"
			if responder != "" {
				who = responder
			}
			return Result{}, fmt.Errorf("probe: no answer from %s to %v since %s: %w", who, p.cfg.Target, since.Format("15:04:05.000"), ctx.Err())
		case <-t.C:
		}
	}
}

func newSeries(rs []Result, ms []Mark, skipped int) Series {
	s := Series{Results: append([]Result(nil), rs...), Marks: append([]Mark(nil), ms...), Skipped: skipped}
	sort.Slice(s.Results, func(i, j int) bool { return s.Results[i].Start.Before(s.Results[j].Start) })
	return s
}
