package chatload_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/chatload"
	"github.com/hachat/hachat/chatload/fakeirc"
)

func startFake(t *testing.T, mode fakeirc.Mode) *fakeirc.Node {
	t.Helper()
	nd, err := fakeirc.New(mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nd.Kill)
	return nd
}

func TestStormAgainstFakeCountsEveryReply(t *testing.T) {
	nd := startFake(t, fakeirc.Normal)
	var events []chatload.Progress
	var mu sync.Mutex
	res, err := chatload.RunStorm(context.Background(), chatload.StormConfig{
		Servers:  []string{nd.Addr()},
		Conns:    40,
		Rate:     400,
		Messages: 3,
		Channel:  "#load",
		Channels: 4,
		Timeout:  5 * time.Second,
		Progress: func(p chatload.Progress) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, p)
		},
		ProgressInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("RunStorm: %v", err)
	}
	if res.Errors.Total != 0 {
		t.Fatalf("errors: %+v samples %v", res.Errors, res.ErrorSamples)
	}
	got := map[string]int64{
		"initiated":  res.Connections.Initiated,
		"succeeded":  res.Connections.Succeeded,
		"conn time":  res.ConnectionTime.Count,
		"connect":    res.ConnectTime.Count,
		"welcome":    res.WelcomeTime.Count,
		"register":   res.Reply.Register.Count,
		"join":       res.Reply.Join.Count,
		"message":    res.Reply.Message.Count,
		"all":        res.Reply.All.Count,
		"start lag":  res.StartLag.Count,
		"accepted":   nd.Accepted.Load(),
		"timeline r": sumReplies(res.Timeline),
	}
	want := map[string]int64{
		"initiated": 40, "succeeded": 40, "conn time": 40, "connect": 40, "welcome": 40,
		"register": 40, "join": 40, "message": 120, "all": 200, "start lag": 40,
		"accepted": 40, "timeline r": 200,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	// httperf's derived figures follow from the raw ones.
	if want := float64(res.Connections.Initiated) / res.DurationS; !approx(res.ConnRate, want) {
		t.Errorf("ConnRate = %v, want initiated/duration = %v", res.ConnRate, want)
	}
	io := res.NetIO
	if want := float64(io.SentBytes+io.RecvBytes) / 1024 / res.DurationS; !approx(io.KBPerSec, want) {
		t.Errorf("KBPerSec = %v, want (sent+recv)/1024/duration = %v", io.KBPerSec, want)
	}
	if res.MaxConcurrent < 1 || res.MaxConcurrent > 40 {
		t.Errorf("MaxConcurrent = %d, want 1..40", res.MaxConcurrent)
	}
	if files, err := chatload.PlotStorm(t.TempDir(), res); err != nil || len(files) != 2 {
		t.Errorf("PlotStorm: %v %v", files, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) == 0 || events[len(events)-1].Done != 40 {
		t.Errorf("last progress event %+v, want Done=40 (%d events)", lastOr(events), len(events))
	}
}

// TestStormNetIOCountsPayloadBytes checks Net I/O on a known input: the
// exact bytes chatload writes for RFC 1459 registration, K messages to
// oneself and QUIT.
func TestStormNetIOCountsPayloadBytes(t *testing.T) {
	nd := startFake(t, fakeirc.Normal)
	const conns, k, size = 10, 2, 40
	res, err := chatload.RunStorm(context.Background(), chatload.StormConfig{
		Servers: []string{nd.Addr()}, Conns: conns, Rate: 1000, Messages: k, MessageSize: size,
		NoCaps: true, NickPrefix: "t", Timeout: 5 * time.Second,
	})
	if err != nil || res.Errors.Total != 0 {
		t.Fatalf("RunStorm: %v %+v", err, res.Errors)
	}
	// Nicks t0..t9: "NICK t0\r\n"=9, "USER t0 0 * chatload\r\n"=22,
	// "PRIVMSG t0 :<40 bytes>\r\n"=54, "QUIT :chatload done\r\n"=21.
	want := int64(conns * (9 + 22 + k*54 + 21))
	if res.NetIO.SentBytes != want {
		t.Errorf("SentBytes = %d, want %d", res.NetIO.SentBytes, want)
	}
	if res.NetIO.RecvBytes == 0 {
		t.Error("RecvBytes = 0")
	}
}

func TestStormErrorClasses(t *testing.T) {
	const n = 4
	emfile := func(context.Context, *net.TCPAddr, string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", syscall.EMFILE)}
	}
	etimedout := func(context.Context, *net.TCPAddr, string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ETIMEDOUT)}
	}
	tests := []struct {
		name   string
		server func(t *testing.T) string
		mod    func(*chatload.StormConfig)
		class  chatload.ErrorClass
		phase  chatload.Phase
	}{
		{name: "refused port", class: chatload.ConnRefused, phase: chatload.PhaseConnect,
			server: func(t *testing.T) string {
				a, err := fakeirc.RefusingAddr()
				if err != nil {
					t.Fatal(err)
				}
				return a
			}},
		{name: "RST on first line", class: chatload.ConnReset, phase: chatload.PhaseRegister,
			server: fakeMode(fakeirc.Reset)},
		{name: "FIN before 001", class: chatload.ConnReset, phase: chatload.PhaseRegister,
			server: fakeMode(fakeirc.CloseEarly)},
		{name: "ERROR server full", class: chatload.Other, phase: chatload.PhaseRegister,
			server: fakeMode(fakeirc.RefuseError)},
		{name: "stall never replies", class: chatload.ClientTimo, phase: chatload.PhaseRegister,
			server: fakeMode(fakeirc.Stall)},
		{name: "no echo of messages", class: chatload.ClientTimo, phase: chatload.PhaseMessage,
			server: fakeMode(fakeirc.NoEcho)},
		{name: "accept queue full", class: chatload.ClientTimo, phase: chatload.PhaseConnect,
			server: func(t *testing.T) string {
				fb, err := fakeirc.NewFullBacklog()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(fb.Close)
				return fb.Addr()
			}},
		{name: "out of descriptors", class: chatload.FdUnavail, phase: chatload.PhaseConnect,
			server: fakeMode(fakeirc.Normal),
			mod:    func(c *chatload.StormConfig) { c.Dial = emfile }},
		{name: "kernel connect timeout", class: chatload.SocketTimo, phase: chatload.PhaseConnect,
			server: fakeMode(fakeirc.Normal),
			mod:    func(c *chatload.StormConfig) { c.Dial = etimedout }},
		{name: "source address not local", class: chatload.AddrUnavail, phase: chatload.PhaseConnect,
			server: fakeMode(fakeirc.Normal),
			mod: func(c *chatload.StormConfig) {
				// 198.18.0.0/15 is never configured on this host.
				c.SourceAddrs = []netip.Addr{netip.MustParseAddr("198.18.0.1")}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := chatload.StormConfig{
				Servers: []string{tt.server(t)}, Conns: n, Rate: 1000, Messages: 1,
				Timeout: 400 * time.Millisecond,
			}
			if tt.mod != nil {
				tt.mod(&cfg)
			}
			res, err := chatload.RunStorm(context.Background(), cfg)
			if err != nil {
				t.Fatalf("RunStorm: %v", err)
			}
			var want chatload.ErrorCounts
			for i := 0; i < n; i++ {
				want.Add(tt.class)
			}
			if diff := cmp.Diff(want, res.Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s\nsamples: %v", diff, res.ErrorSamples)
			}
			if diff := cmp.Diff(map[chatload.Phase]int64{tt.phase: n}, res.ErrorsByPhase); diff != "" {
				t.Errorf("errors by phase (-want +got):\n%s", diff)
			}
			if res.Connections.Failed != n || res.Connections.Succeeded != 0 {
				t.Errorf("connections %+v, want %d failed", res.Connections, n)
			}
			if tt.class == chatload.FdUnavail || tt.class == chatload.AddrUnavail {
				if !hasWarning(res.Warnings, "meaningless") {
					t.Errorf("no client-limited warning in %q", res.Warnings)
				}
			}
		})
	}
}

// TestStormIsOpenLoop: connections keep starting on schedule while earlier
// ones are stuck. A closed-loop generator would start one and wait.
func TestStormIsOpenLoop(t *testing.T) {
	const n = 12
	release := make(chan struct{})
	var mu sync.Mutex
	dials := 0
	allIn := make(chan struct{})
	dial := func(ctx context.Context, _ *net.TCPAddr, _ string) (net.Conn, error) {
		mu.Lock()
		dials++
		if dials == n {
			close(allIn)
		}
		mu.Unlock()
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}
	}
	done := make(chan *chatload.StormResult)
	go func() {
		res, _ := chatload.RunStorm(context.Background(), chatload.StormConfig{
			Servers: []string{"127.0.0.1:1"}, Conns: n, Rate: 500, Timeout: time.Minute, Dial: dial,
		})
		done <- res
	}()
	select {
	case <-allIn:
	case <-time.After(30 * time.Second):
		t.Fatalf("only %d of %d connections started while the first ones were blocked", dials, n)
	}
	close(release)
	res := <-done
	if res.Errors.ConnRefused != n {
		t.Errorf("connrefused = %d, want %d", res.Errors.ConnRefused, n)
	}
	if res.MaxConcurrent != 0 {
		t.Errorf("MaxConcurrent = %d, want 0: no connection was established", res.MaxConcurrent)
	}
}

func TestStormRejectsBadConfig(t *testing.T) {
	for _, cfg := range []chatload.StormConfig{
		{Conns: 1, Rate: 1},
		{Servers: []string{"x:1"}, Rate: 1},
		{Servers: []string{"x:1"}, Conns: 1},
		{Servers: []string{"x:1"}, Conns: 1, Rate: 1, Messages: -1},
		{Servers: []string{"198.18.0.10"}, Conns: 1, Rate: 1},
		{Servers: []string{"x:1"}, Conns: 1, Rate: 1, Hold: -time.Second},
	} {
		if _, err := chatload.RunStorm(context.Background(), cfg); err == nil {
			t.Errorf("RunStorm(%+v) = nil error", cfg)
		}
	}
}

func TestStormInterruptedReturnsPartial(t *testing.T) {
	nd := startFake(t, fakeirc.Stall)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	res, err := chatload.RunStorm(ctx, chatload.StormConfig{
		Servers: []string{nd.Addr()}, Conns: 100000, Rate: 100, Timeout: time.Minute,
		Progress: func(p chatload.Progress) {
			if p.Started > 0 {
				once.Do(cancel)
			}
		},
		ProgressInterval: 10 * time.Millisecond,
	})
	if err == nil || res == nil || !res.Interrupted {
		t.Fatalf("want interrupted partial result, got res=%v err=%v", res != nil, err)
	}
	if res.Connections.Initiated == 0 || res.Connections.Initiated >= 100000 {
		t.Errorf("initiated %d, want a partial count", res.Connections.Initiated)
	}
	// The stalled connections were cut by the interruption: aborted, not
	// errors of the server.
	if res.Errors.Total != 0 || res.Connections.Aborted != res.Connections.Initiated || res.Connections.Succeeded != 0 {
		t.Errorf("errors %+v connections %+v, want all aborted", res.Errors, res.Connections)
	}
}

func fakeMode(m fakeirc.Mode) func(t *testing.T) string {
	return func(t *testing.T) string { return startFake(t, m).Addr() }
}

func sumReplies(bins []chatload.TimelineBin) int64 {
	var n int64
	for _, b := range bins {
		n += b.Replies
	}
	return n
}

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func hasWarning(ws []string, sub string) bool {
	for _, w := range ws {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

func lastOr(ev []chatload.Progress) string {
	if len(ev) == 0 {
		return "none"
	}
	return fmt.Sprintf("%+v", ev[len(ev)-1])
}

func TestStormSpreadsSourceAddrs(t *testing.T) {
	nd := startFake(t, fakeirc.Normal)
	src, err := chatload.ParseSourceAddrs("127.0.0.2,127.0.0.3")
	if err != nil {
		t.Fatal(err)
	}
	res, err := chatload.RunStorm(context.Background(), chatload.StormConfig{
		Servers: []string{nd.Addr()}, SourceAddrs: src, Conns: 10, Rate: 1000, Timeout: 5 * time.Second,
	})
	if err != nil || res.Errors.Total != 0 {
		t.Fatalf("RunStorm: %v %+v %v", err, res.Errors, res.ErrorSamples)
	}
	if diff := cmp.Diff(map[string]int{"127.0.0.2": 5, "127.0.0.3": 5}, nd.Peers()); diff != "" {
		t.Errorf("source addresses used (-want +got):\n%s", diff)
	}
}

func TestParseSourceAddrs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "127.0.0.1", want: []string{"127.0.0.1"}},
		{in: "127.0.0.0/30, ::1", want: []string{"127.0.0.1", "127.0.0.2", "::1"}},
		{in: "198.18.0.7/32", want: []string{"198.18.0.7"}},
		{in: "198.18.0.6/31", want: []string{"198.18.0.6", "198.18.0.7"}},
		{in: "", want: nil},
		{in: "10.0.0.0/8", err: true},
		{in: "nope", err: true},
		{in: "1.2.3.4/40", err: true},
	}
	for _, tt := range tests {
		got, err := chatload.ParseSourceAddrs(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("ParseSourceAddrs(%q) err = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		var gs []string
		for _, a := range got {
			gs = append(gs, a.String())
		}
		if diff := cmp.Diff(tt.want, gs); diff != "" {
			t.Errorf("ParseSourceAddrs(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// TestStormThinkAndHoldStretchConnections: think time between messages and
// the hold before QUIT are lower bounds on every connection's lifetime.
func TestStormThinkAndHoldStretchConnections(t *testing.T) {
	nd := startFake(t, fakeirc.Normal)
	res, err := chatload.RunStorm(context.Background(), chatload.StormConfig{
		Servers: []string{nd.Addr()}, Conns: 10, Rate: 1000, Messages: 3,
		Think: 30 * time.Millisecond, Hold: 50 * time.Millisecond, Timeout: 5 * time.Second,
	})
	if err != nil || res.Errors.Total != 0 {
		t.Fatalf("RunStorm: %v %+v %v", err, res.Errors, res.ErrorSamples)
	}
	if res.ConnectionTime.Count != 10 || res.ConnectionTime.Min < 2*30+50 {
		t.Errorf("connection time %+v, want 10 of at least 110 ms", res.ConnectionTime)
	}
	if res.Reply.Message.Count != 30 {
		t.Errorf("message replies %d, want 30", res.Reply.Message.Count)
	}
}
