package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/hachat/hachat/chatload"
)

// progressMode picks how live progress is shown: "auto" is a bar when
// stderr is a terminal and plain lines otherwise (logs, CI).
func progressMode(mode string, stderr io.Writer) (string, error) {
	switch mode {
	case "bar", "plain", "none":
		return mode, nil
	case "auto", "":
		if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return "bar", nil
		}
		return "plain", nil
	}
	return "", fmt.Errorf("--progress %q: want auto, bar, plain or none", mode)
}

// progressPrinter renders chatload.Progress events. A new bar starts when
// the phase changes (setup, then the run).
type progressPrinter struct {
	mode  string
	w     io.Writer
	every time.Duration // plain mode: at most one line per interval

	mu    sync.Mutex
	phase string
	bar   *progressbar.ProgressBar
	last  time.Time
}

func (p *progressPrinter) update(ev chatload.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.mode {
	case "bar":
		if p.bar == nil || ev.Phase != p.phase {
			if p.bar != nil {
				_ = p.bar.Finish()
				fmt.Fprintln(p.w)
			}
			p.phase = ev.Phase
			max := ev.Total
			if max <= 0 {
				max = -1
			}
			p.bar = progressbar.NewOptions64(max,
				progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetDescription(ev.Phase),
				progressbar.OptionShowCount(),
				progressbar.OptionSetElapsedTime(true),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(200*time.Millisecond),
			)
		}
		p.bar.Describe(fmt.Sprintf("%s %6.0f/s err %d open %d %6.1f KB/s", ev.Phase, ev.Rate, ev.Errors, ev.Open, ev.KBPerSec))
		_ = p.bar.Set64(ev.Done)
	case "plain":
		now := time.Now()
		if ev.Phase == p.phase && now.Sub(p.last) < p.every && (ev.Total == 0 || ev.Done < ev.Total) {
			return
		}
		p.phase, p.last = ev.Phase, now
		fmt.Fprintf(p.w, "chatload %s t=%.1fs done %d/%d started %d open %d errors %d rate %.1f/s net %.1f KB/s\n",
			ev.Phase, ev.Elapsed.Seconds(), ev.Done, ev.Total, ev.Started, ev.Open, ev.Errors, ev.Rate, ev.KBPerSec)
	}
}

// finish closes a bar so the report starts on a clean line.
func (p *progressPrinter) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
		p.bar = nil
	}
}

func (p *progressPrinter) callback() func(chatload.Progress) {
	if p.mode == "none" {
		return nil
	}
	return p.update
}
