package chatload_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/chatload"
	"github.com/hachat/hachat/chatload/fakeirc"
)

func TestParseSeries(t *testing.T) {
	got, err := chatload.ParseSeries("1000:100, 2000:200,")
	if err != nil {
		t.Fatal(err)
	}
	want := []chatload.LoadPoint{{Conns: 1000, Rate: 100}, {Conns: 2000, Rate: 200}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "1000", "x:1", "1:0", "-5:1", "10:abc"} {
		if _, err := chatload.ParseSeries(bad); err == nil {
			t.Errorf("ParseSeries(%q) = nil error", bad)
		}
	}
}

// TestNewSeriesPointAggregates checks median and spread on known runs.
func TestNewSeriesPointAggregates(t *testing.T) {
	mk := func(avg, kbps float64, errs int64) *chatload.StormResult {
		r := &chatload.StormResult{}
		r.Reply.All.Avg = avg
		r.NetIO.KBPerSec = kbps
		r.Connections.Initiated = 100
		r.Errors.Total = errs
		return r
	}
	sp := chatload.NewSeriesPoint(chatload.LoadPoint{Conns: 100, Rate: 10},
		[]*chatload.StormResult{mk(5, 40, 0), mk(9, 50, 2), mk(6, 45, 1), mk(100, 10, 50)})
	if sp.Reps != 4 {
		t.Errorf("Reps = %d", sp.Reps)
	}
	// Medians of even counts average the middle two.
	want := chatload.Figures{ResponseMs: 7.5, ThroughputKBps: 42.5, Errors: 1.5, ErrorRatio: 0.015}
	if diff := cmp.Diff(want, sp.Median); diff != "" {
		t.Errorf("median (-want +got):\n%s", diff)
	}
	if sp.Min.ResponseMs != 5 || sp.Max.ResponseMs != 100 || sp.Max.ErrorRatio != 0.5 {
		t.Errorf("min/max = %+v / %+v", sp.Min, sp.Max)
	}
	// 40,50,45,10: mean 36.25, sample stddev
	// sqrt((3.75²+13.75²+8.75²+26.25²)/3) = sqrt(968.75/3) = 17.9699.
	if got := sp.Stddev.ThroughputKBps; got < 17.969 || got > 17.971 {
		t.Errorf("stddev KB/s = %v, want 17.9699", got)
	}
}

func TestRunSeriesAgainstFake(t *testing.T) {
	nd := startFake(t, fakeirc.Normal)
	var runs atomic.Int32
	s, err := chatload.RunSeries(context.Background(), chatload.SeriesConfig{
		Base:   chatload.StormConfig{Servers: []string{nd.Addr()}, Messages: 1, Timeout: 5 * time.Second},
		Points: []chatload.LoadPoint{{Conns: 10, Rate: 500}, {Conns: 20, Rate: 1000}},
		Reps:   3,
		OnRun:  func(int, int, *chatload.StormResult) { runs.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if runs.Load() != 6 || len(s.Points) != 2 {
		t.Fatalf("runs %d points %d, want 6 and 2", runs.Load(), len(s.Points))
	}
	for _, p := range s.Points {
		if p.Reps != 3 || len(p.Runs) != 3 || len(p.Results) != 3 {
			t.Errorf("point %+v: want 3 reps", p.LoadPoint)
		}
		if p.Median.Errors != 0 {
			t.Errorf("point %+v: errors %v", p.LoadPoint, p.Median.Errors)
		}
		if !(p.Min.ResponseMs <= p.Median.ResponseMs && p.Median.ResponseMs <= p.Max.ResponseMs) {
			t.Errorf("median %v outside [%v, %v]", p.Median.ResponseMs, p.Min.ResponseMs, p.Max.ResponseMs)
		}
		for _, r := range p.Results {
			if int(r.Connections.Succeeded) != p.Conns {
				t.Errorf("point %+v: a run had %d successes", p.LoadPoint, r.Connections.Succeeded)
			}
		}
	}

	var md bytes.Buffer
	s.Label = "fake single node"
	if err := chatload.WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## fake single node", "| 1 | 10-500/s | 3 |", "| 2 | 20-1000/s | 3 |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}

	dir := t.TempDir()
	other := &chatload.Series{Label: "second", Points: s.Points[:1]}
	files, err := chatload.PlotSeries(dir, s, other)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"response-time.png", "response-time.svg", "throughput.png", "throughput.svg"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Size() == 0 {
			t.Errorf("plot %s missing or empty: %v", name, err)
		}
	}
	if len(files) != 4 {
		t.Errorf("files = %v", files)
	}
}

// TestRunCeilingFindsTheKnee uses a server that fails every connection after
// the first 30: with 10, 20, 30... connections per step, steps at 100 and
// 200 conn/s hold and 300 fails; refining tries 250, which fails too.
func TestRunCeilingFindsTheKnee(t *testing.T) {
	nd := startFake(t, fakeirc.Normal)
	var n atomic.Int64
	dial := func(ctx context.Context, local *net.TCPAddr, server string) (net.Conn, error) {
		if n.Add(1) > 30 {
			return nil, &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", server)
	}
	res, err := chatload.RunCeiling(context.Background(), chatload.CeilingConfig{
		// A loaded test machine must not pass for a client limit here.
		Base:          chatload.StormConfig{Servers: []string{nd.Addr()}, Timeout: 5 * time.Second, Dial: dial, LagWarn: time.Hour},
		MaxClientCPU:  -1,
		StartRate:     100,
		Step:          100,
		MaxRate:       1000,
		StepDuration:  100 * time.Millisecond,
		MaxErrorRatio: 0.01,
		MaxP99:        time.Minute,
		Refine:        1,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range res.Steps {
		got = append(got, strings.Join([]string{ftoa(s.Rate), itoa(s.Conns), btoa(s.Held)}, "/"))
	}
	want := []string{"100/10/true", "200/20/true", "300/30/false", "250/25/false"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if res.HighestHeld != 200 || res.FirstFailed != 250 {
		t.Errorf("highest %v first failed %v, want 200 and 250", res.HighestHeld, res.FirstFailed)
	}
	var md bytes.Buffer
	if err := res.WriteMarkdown(&md); err != nil || !strings.Contains(md.String(), "highest rate held 200") {
		t.Errorf("markdown: %v\n%s", err, md.String())
	}
	if _, err := chatload.PlotCeiling(t.TempDir(), res); err != nil {
		t.Errorf("PlotCeiling: %v", err)
	}
}

// TestRunCeilingStopsAtClientLimit: running out of descriptors is the
// client's fault and must not be reported as the server's ceiling.
func TestRunCeilingStopsAtClientLimit(t *testing.T) {
	dial := func(context.Context, *net.TCPAddr, string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Err: os.NewSyscallError("socket", syscall.EMFILE)}
	}
	res, err := chatload.RunCeiling(context.Background(), chatload.CeilingConfig{
		Base:      chatload.StormConfig{Servers: []string{"127.0.0.1:1"}, Dial: dial},
		StartRate: 100, Step: 100, MaxRate: 500, StepDuration: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != 1 || !res.Steps[0].ClientLimited || res.HighestHeld != 0 {
		t.Errorf("steps %+v highest %v, want one client-limited step", res.Steps, res.HighestHeld)
	}
	if !hasWarning(res.Warnings, "client limit") {
		t.Errorf("warnings %q lack the client-limit note", res.Warnings)
	}
}

func TestCeilingRejectsBadConfig(t *testing.T) {
	for _, c := range []chatload.CeilingConfig{
		{StartRate: 0, Step: 1, MaxRate: 10},
		{StartRate: 1, MaxRate: 10},
		{StartRate: 10, Step: 1, MaxRate: 5},
		{StartRate: 1, Step: 1, MaxRate: 5, MaxErrorRatio: -1},
	} {
		if _, err := chatload.RunCeiling(context.Background(), c); err == nil {
			t.Errorf("RunCeiling(%+v) = nil error", c)
		}
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
func itoa(i int) string     { return strconv.Itoa(i) }
func btoa(b bool) string    { return strconv.FormatBool(b) }

// TestRunCeilingRetriesANoisyStep: the 300 conn/s step fails once (its
// first 30 connections are refused) and holds on the retry, so the search
// goes on to the maximum.
func TestRunCeilingRetriesANoisyStep(t *testing.T) {
	nd := startFake(t, fakeirc.Normal)
	var n atomic.Int64
	dial := func(ctx context.Context, local *net.TCPAddr, server string) (net.Conn, error) {
		if i := n.Add(1); i > 30 && i <= 60 {
			return nil, &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", server)
	}
	res, err := chatload.RunCeiling(context.Background(), chatload.CeilingConfig{
		Base:      chatload.StormConfig{Servers: []string{nd.Addr()}, Timeout: 5 * time.Second, Dial: dial, LagWarn: time.Hour},
		StartRate: 100, Step: 100, MaxRate: 300, StepDuration: 100 * time.Millisecond,
		MaxP99: time.Minute, MaxClientCPU: -1, Retries: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range res.Steps {
		got = append(got, ftoa(s.Rate)+"/"+btoa(s.Held))
	}
	if diff := cmp.Diff([]string{"100/true", "200/true", "300/false", "300/true"}, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if res.HighestHeld != 300 || res.FirstFailed != 0 {
		t.Errorf("highest %v first failed %v, want 300 and none", res.HighestHeld, res.FirstFailed)
	}
}
