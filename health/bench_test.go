package health_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hachat/hachat/health"
)

// BenchmarkMonitorTCP measures the TCP checks per second one monitor
// sustains for 1000 targets against real loopback listeners, at intervals
// that ask for 1k (a realistic 1 s interval) to 100k checks/s (timeout =
// interval). Where the demand
// exceeds what the machine can do, the achieved rate is the capacity, and
// the cost shows as late ticks (deferred, overrun or missed) and timeouts
// per check; the sustained rate is the highest one with no failures.
// b.N is the number of checks:
//
//	go test -run '^$' -bench 'MonitorTCP/targets=1000/interval=1s$' -benchtime 5000x ./health/
//	go test -run '^$' -bench 'MonitorTCP/targets=1000/interval=.*ms$' -benchtime 30000x ./health/
func BenchmarkMonitorTCP(b *testing.B) {
	for _, iv := range []time.Duration{time.Second, 250 * time.Millisecond, 100 * time.Millisecond, 50 * time.Millisecond, 20 * time.Millisecond, 10 * time.Millisecond} {
		b.Run(fmt.Sprintf("targets=1000/interval=%v", iv), func(b *testing.B) { benchMonitorTCP(b, 1000, iv) })
	}
}

func benchMonitorTCP(b *testing.B, targets int, interval time.Duration) {
	// Several listeners on several loopback addresses, so that neither one
	// accept loop nor one address's port space is the bottleneck.
	var addrs []string
	for i := 1; i <= 8; i++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", i))
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		addrs = append(addrs, ln.Addr().String())
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	m := health.NewMonitor(health.MonitorConfig{})
	for i := range targets {
		if err := m.Add(health.Target{
			ID: fmt.Sprintf("rs%04d", i), Prober: &health.TCP{Addr: addrs[i%len(addrs)]},
			Interval: interval, Timeout: interval, Initial: health.Up,
		}); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ResetTimer()
	start := time.Now()
	go func() { done <- m.Run(ctx) }()
	want := uint64(b.N)
	deadline := time.Now().Add(5 * time.Minute)
	for m.Stats().Checks < want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-done
	s := m.Stats()
	var failures uint64
	for _, v := range s.Failures {
		failures += v
	}
	b.ReportMetric(float64(s.Checks)/elapsed.Seconds(), "checks/s")
	b.ReportMetric(float64(s.Deferred+s.Overruns+s.Missed)/float64(max(s.Checks, 1)), "late-ticks/check")
	b.ReportMetric(float64(failures)/float64(max(s.Checks, 1)), "failures/check")
	b.Logf("checks %d in %v, failures %v, deferred %d overruns %d missed %d", s.Checks, elapsed, s.Failures, s.Deferred, s.Overruns, s.Missed)
	if s.Checks < want {
		b.Fatalf("only %d of %d checks in 5 minutes", s.Checks, want)
	}
}

func BenchmarkTrackerResult(b *testing.B) {
	tr := health.NewTracker(3, 3, health.Down, time.Time{})
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		tr.Result(now, i%7 != 0)
	}
}

// BenchmarkExecProbe measures one script check (fork, exec of /bin/true in
// its own process group, wait): the cost that bounds how many
// track_scripts and MISC checks a node can run.
func BenchmarkExecProbe(b *testing.B) {
	p := &health.Exec{Argv: []string{"/bin/true"}}
	ctx := context.Background()
	for b.Loop() {
		if err := p.Probe(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTCPProbe measures one TCP check against a loopback listener,
// without the monitor.
func BenchmarkTCPProbe(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	p := &health.TCP{Addr: ln.Addr().String()}
	ctx := context.Background()
	for b.Loop() {
		if err := p.Probe(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
