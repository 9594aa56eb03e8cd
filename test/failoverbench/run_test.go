package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/test/netns"
)

// TestRunOneRepEndToEnd runs the benchmark as `make bench-failover` does,
// reduced to one repetition at 100 ms with keepalived, so the command
// cannot rot between benchmark runs.
func TestRunOneRepEndToEnd(t *testing.T) {
	netns.RequireRoot(t, "keepalived")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, log bytes.Buffer
	err := run(ctx, []string{"-impl", "keepalived", "-intervals", "100ms", "-reps", "1"}, &out, &log)
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, log.String(), out.String())
	}
	for _, want := range []string{"100ms    node-loss            keepalived    1", "100ms    graceful             keepalived    1",
		"failback/node-loss", "failback/graceful"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(log.String(), "rep  1: failover") {
		t.Errorf("no per-repetition line:\n%s", log.String())
	}
}
