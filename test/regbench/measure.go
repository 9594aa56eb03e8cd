package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/chatload"
)

// cpuSeconds is a process's user+system CPU time (/proc/PID/stat fields
// 14 and 15, in USER_HZ ticks of 10 ms).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

func parseStatCPU(stat string) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 || i+2 > len(stat) {
		return 0, fmt.Errorf("/proc stat %.40q: no command field", stat)
	}
	f := strings.Fields(stat[i+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the command, want at least 13", len(f))
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	k, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc stat: utime %q stime %q", f[11], f[12])
	}
	return float64(u+k) / 100, nil
}

// rssBytes is a process's resident set (/proc/PID/status VmRSS).
func rssBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// loadAvg is the 1-minute load average: on a shared machine it says how
// much of the CPU the run really had.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return f
}

// stormOutcome is one storm against one server.
type stormOutcome struct {
	Conns, Failed int64
	RegisterP50   float64 // ms, 001 after NICK/USER
	RegisterP99   float64
	WelcomeP99    float64 // ms from the scheduled start: queueing included
	CPUPerReg     float64 // µs of server CPU per successful registration
	Load          float64
	Samples       []string
}

// clean is the criterion for a storm rate the server sustains:
// errors at most 1 %, register p99 at most 1 s (from the scheduled start,
// so a server that falls behind is not excused by coordinated omission).
func (o stormOutcome) clean() bool {
	return o.Conns > 0 && float64(o.Failed) <= 0.01*float64(o.Conns) && o.WelcomeP99 <= 1000
}

// storm runs one open-loop registration storm against s: each connection
// registers (RFC 1459 NICK/USER, no CAP, so every server takes the same
// path), reads the welcome burst and quits.
func storm(ctx context.Context, s *server, conns int, rate float64, caps bool) (stormOutcome, error) {
	cpu0, err := cpuSeconds(s.pid())
	if err != nil {
		return stormOutcome{}, err
	}
	res, err := chatload.RunStorm(ctx, chatload.StormConfig{
		Servers: []string{s.addr}, Conns: conns, Rate: rate,
		NoCaps: !caps, Timeout: 10 * time.Second, LagWarn: 100 * time.Millisecond,
	})
	if err != nil {
		return stormOutcome{}, err
	}
	cpu1, err := cpuSeconds(s.pid())
	if err != nil {
		return stormOutcome{}, err
	}
	o := stormOutcome{
		Conns: res.Connections.Initiated, Failed: res.Connections.Failed,
		RegisterP50: res.Reply.Register.P50, RegisterP99: res.Reply.Register.P99,
		WelcomeP99: res.WelcomeTime.P99, Load: loadAvg(), Samples: res.ErrorSamples,
	}
	if ok := res.Reply.Register.Count; ok > 0 {
		o.CPUPerReg = (cpu1 - cpu0) / float64(ok) * 1e6
	}
	return o, nil
}

// ceiling raises the storm rate step by step and returns the highest rate
// that was clean; each step lasts about secs seconds.
func ceiling(ctx context.Context, s *server, rates []float64, secs float64, caps bool) (float64, []stormOutcome, error) {
	best := 0.0
	var steps []stormOutcome
	for _, r := range rates {
		o, err := storm(ctx, s, int(r*secs), r, caps)
		if err != nil {
			return best, steps, err
		}
		steps = append(steps, o)
		if !o.clean() {
			break
		}
		best = r
		if err := settle(ctx, s); err != nil {
			return best, steps, err
		}
	}
	return best, steps, nil
}

// settle waits until the server has drained the previous storm: its CPU
// time stops growing (two quiet 200 ms samples), at most 10 s.
func settle(ctx context.Context, s *server) error {
	deadline := time.Now().Add(10 * time.Second)
	prev, _ := cpuSeconds(s.pid())
	quiet := 0
	for quiet < 2 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond): // sampling interval
		}
		cur, err := cpuSeconds(s.pid())
		if err != nil {
			return err
		}
		if cur-prev <= 0.01 {
			quiet++
		} else {
			quiet = 0
		}
		prev = cur
	}
	return nil
}

// idleMemory registers n clients at rate and holds them, then reports the
// server's RSS growth per client once its CPU settled.
// Clients that fail to register (a server that falls behind) are left out
// of the average and counted in held.
func idleMemory(ctx context.Context, s *server, n int, rate float64) (perClient float64, held int, err error) {
	if err := settle(ctx, s); err != nil {
		return 0, 0, err
	}
	base, err := rssBytes(s.pid())
	if err != nil {
		return 0, 0, err
	}
	conns := make([]net.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	var failed atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range n {
		if d := time.Until(t0.Add(time.Duration(float64(i) * float64(time.Second) / rate))); d > 0 {
			time.Sleep(d) // open-loop schedule
		}
		if ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := holdClient(s.addr, i, fmt.Sprintf("h%x", i))
			if err != nil {
				failed.Add(1)
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	held = n - int(failed.Load())
	if held < n/2 {
		return 0, held, fmt.Errorf("%s: %d of %d held clients failed to register", s.name, n-held, n)
	}
	if err := settle(ctx, s); err != nil {
		return 0, 0, err
	}
	rss, err := rssBytes(s.pid())
	if err != nil {
		return 0, 0, err
	}
	return float64(rss-base) / float64(held), held, nil
}

// holdClient registers one client from a loopback source address of its
// own (ports do not run out) and returns its open connection once 001 and
// the end of the MOTD (376 or 422) arrived.
func holdClient(addr string, i int, nick string) (net.Conn, error) {
	src := netip.AddrFrom4([4]byte{127, 0, byte(8 + i/50000), byte(1 + i%250)})
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(c, "NICK %s\r\nUSER %s 0 * :regbench\r\n", nick, nick); err != nil {
		c.Close()
		return nil, err
	}
	r := bufio.NewReader(c)
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("%s: %w", nick, err)
		}
		if f := strings.Fields(l); len(f) > 1 && (f[1] == "376" || f[1] == "422") {
			_ = c.SetDeadline(time.Time{})
			return c, nil
		}
	}
}
