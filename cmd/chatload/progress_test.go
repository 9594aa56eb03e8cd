package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/chatload"
)

func TestProgressModeAutoIsPlainWithoutTerminal(t *testing.T) {
	var buf bytes.Buffer
	for in, want := range map[string]string{"auto": "plain", "": "plain", "bar": "bar", "none": "none"} {
		got, err := progressMode(in, &buf)
		if err != nil || got != want {
			t.Errorf("progressMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := progressMode("fancy", &buf); err == nil {
		t.Error("bad mode accepted")
	}
}

func TestPlainProgressThrottlesButPrintsPhaseChangesAndEnd(t *testing.T) {
	var buf bytes.Buffer
	p := &progressPrinter{mode: "plain", w: &buf, every: time.Hour}
	p.update(chatload.Progress{Phase: "setup", Total: 10, Done: 1})
	p.update(chatload.Progress{Phase: "setup", Total: 10, Done: 5})  // throttled
	p.update(chatload.Progress{Phase: "setup", Total: 10, Done: 10}) // finished: printed
	p.update(chatload.Progress{Phase: "steady", Total: 100, Done: 3, Errors: 2, Rate: 50})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[2], "chatload steady") || !strings.Contains(lines[2], "errors 2") || !strings.Contains(lines[2], "rate 50.0/s") {
		t.Errorf("last line %q", lines[2])
	}
}

func TestBarProgressRenders(t *testing.T) {
	var buf bytes.Buffer
	p := &progressPrinter{mode: "bar", w: &buf}
	p.update(chatload.Progress{Phase: "storm", Total: 10, Done: 10, Rate: 100})
	p.finish()
	if !strings.Contains(buf.String(), "storm") {
		t.Errorf("bar output %q", buf.String())
	}
}
