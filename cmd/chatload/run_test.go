package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hachat/hachat/chatload"
	"github.com/hachat/hachat/chatload/fakeirc"
	"github.com/hachat/hachat/internal/cli"
)

func fake(t *testing.T) *fakeirc.Node {
	t.Helper()
	nd, err := fakeirc.New(fakeirc.Normal)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nd.Kill)
	return nd
}

func runCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestStormWritesTextJSONMarkdownPlots(t *testing.T) {
	nd := fake(t)
	dir := t.TempDir()
	out, stderr, err := runCmd(t, "storm", "--server", nd.Addr(), "--conns", "20", "--rate", "500",
		"--messages", "2", "--channel", "#c", "--progress", "plain",
		"--json", filepath.Join(dir, "r.json"), "--markdown", filepath.Join(dir, "r.md"), "--plot", filepath.Join(dir, "plots"))
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	for _, want := range []string{"Connection rate:", "Reply time [ms]: response", "Net I/O:", "Errors: total 0 client-timo 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "chatload storm") {
		t.Errorf("no plain progress line on stderr: %q", stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "r.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res chatload.StormResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Connections.Succeeded != 20 || res.Reply.Message.Count != 40 {
		t.Errorf("JSON: succeeded %d messages %d", res.Connections.Succeeded, res.Reply.Message.Count)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "r.md"))
	if !strings.Contains(string(md), "## chatload storm: 20 connections at 500 conn/s") {
		t.Errorf("markdown:\n%s", md)
	}
	for _, f := range []string{"storm-timeline.png", "storm-timeline.svg"} {
		if _, err := os.Stat(filepath.Join(dir, "plots", f)); err != nil {
			t.Errorf("plot: %v", err)
		}
	}
}

func TestStormSeriesTable(t *testing.T) {
	nd := fake(t)
	out, stderr, err := runCmd(t, "storm", "--server", nd.Addr(), "--series", "5:500,10:1000", "--reps", "2",
		"--progress", "none", "--label", "fake")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	for _, want := range []string{"## fake", "| 1 | 5-500/s | 2 |", "| 2 | 10-1000/s | 2 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(stderr, "chatload point"); n != 4 {
		t.Errorf("%d per-run lines on stderr, want 4:\n%s", n, stderr)
	}
}

func TestSteadyCommand(t *testing.T) {
	nd := fake(t)
	out, stderr, err := runCmd(t, "steady", "--server", nd.Addr(), "--members", "3", "--rate", "100",
		"--duration", "200ms", "--progress", "none")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "| delivered / expected | 40 / 40 |") {
		t.Errorf("stdout:\n%s", out)
	}
}

// TestFailoverCommandRunsHookOnCue: the hook writes into a FIFO; the test
// blocks reading it and kills node a when the hook fires.
func TestFailoverCommandRunsHookOnCue(t *testing.T) {
	n := fakeirc.NewNetwork()
	a, err := n.Listen("a")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Kill)
	b, err := n.Listen("b")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Kill)
	fifo := filepath.Join(t.TempDir(), "cue")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		f, err := os.Open(fifo) // blocks until the hook opens it for writing
		if err != nil {
			return
		}
		buf := make([]byte, 1)
		_, _ = f.Read(buf)
		f.Close()
		a.Kill()
	}()
	out, stderr, err := runCmd(t, "failover", "--server", a.Addr()+","+b.Addr(), "--members", "4", "--senders", "2",
		"--rate", "100", "--duration", "600ms", "--cue", "200ms", "--hook", "printf x > "+fifo,
		"--ping-interval", "100ms", "--dead-after", "1s", "--drain", "5s", "--progress", "none",
		"--plot", filepath.Join(filepath.Dir(fifo), "plots"))
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, stderr, out)
	}
	for _, want := range []string{"| clients affected / disconnects | 2 / 2 |", "| **missing** (must be 0) | **0** |"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(fifo), "plots", "failover-timeline.png")); err != nil {
		t.Error(err)
	}
}

func TestCeilingCommand(t *testing.T) {
	nd := fake(t)
	dir := t.TempDir()
	out, stderr, err := runCmd(t, "ceiling", "--server", nd.Addr(), "--start-rate", "100", "--step", "100",
		"--max-rate", "200", "--step-duration", "50ms", "--progress", "none", "--plot", dir,
		"--lag-warn", "1h", "--max-client-cpu", "-1")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "highest rate held 200") {
		t.Errorf("stdout:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "ceiling-response-time.png")); err != nil {
		t.Error(err)
	}
}

func TestCommandErrors(t *testing.T) {
	nd := fake(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "no command"},
		{"unknown command", []string{"flood"}, "unknown command"},
		{"no server", []string{"storm"}, "no --server"},
		{"bad progress", []string{"storm", "--server", nd.Addr(), "--progress", "fancy"}, "--progress"},
		{"bad source", []string{"storm", "--server", nd.Addr(), "--source-addrs", "nope"}, "--source-addrs"},
		{"stray argument", []string{"storm", "--server", nd.Addr(), "extra"}, "unexpected argument"},
		{"bad series", []string{"storm", "--server", nd.Addr(), "--series", "1000"}, "conns:rate"},
		{"failover without hook", []string{"failover", "--server", nd.Addr()}, "--hook"},
		{"bad flag", []string{"steady", "--members=x"}, "invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCmd(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestListFlagSplitsAndRepeats(t *testing.T) {
	var l cli.ListFlag
	_ = l.Set("a:1, b:2")
	_ = l.Set("c:3")
	if got := l.String(); got != "a:1,b:2,c:3" {
		t.Errorf("got %q", got)
	}
}

func TestPlotCommandCombinesSeries(t *testing.T) {
	nd := fake(t)
	dir := t.TempDir()
	for _, name := range []string{"single", "balanced"} {
		_, stderr, err := runCmd(t, "storm", "--server", nd.Addr(), "--series", "5:500,10:500", "--progress", "none",
			"--json", filepath.Join(dir, name+".json"))
		if err != nil {
			t.Fatalf("storm: %v\n%s", err, stderr)
		}
	}
	out, stderr, err := runCmd(t, "plot", "--out", filepath.Join(dir, "fig"),
		filepath.Join(dir, "single.json"), filepath.Join(dir, "balanced.json"))
	if err != nil {
		t.Fatalf("plot: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "## single") || !strings.Contains(out, "## balanced") {
		t.Errorf("stdout:\n%s", out)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "fig", "response-time.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{"single", "balanced"} {
		if !strings.Contains(string(svg), label) {
			t.Errorf("figure lacks the %q legend", label)
		}
	}
	if _, _, err := runCmd(t, "plot", "--out", dir); err == nil {
		t.Error("plot without files: nil error")
	}
	if _, _, err := runCmd(t, "plot", "--out", dir, filepath.Join(dir, "nope.json")); err == nil {
		t.Error("plot of a missing file: nil error")
	}
}

func TestSteadyCommandFailsWhenNobodyJoins(t *testing.T) {
	addr, err := fakeirc.RefusingAddr()
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, "steady", "--server", addr, "--members", "2", "--duration", "50ms", "--timeout", "1s", "--progress", "none")
	if !errors.Is(err, chatload.ErrNoClients) {
		t.Errorf("err = %v, want ErrNoClients", err)
	}
	if !strings.Contains(out, "Setup errors") {
		t.Errorf("the report is still printed; got:\n%s", out)
	}
}
