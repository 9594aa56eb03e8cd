package router

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNotifierRunsHooksInOrder(t *testing.T) {
	n := NewNotifier(time.Second, nil)
	var mu sync.Mutex
	var got []string
	n.exec = func(_ context.Context, argv []string) error {
		mu.Lock()
		got = append(got, strings.Join(argv, " "))
		mu.Unlock()
		return nil
	}
	n.SetInstance("a", NotifySpec{Master: []string{"/m"}, Backup: []string{"/b"}, Any: []string{"/any", "x"}})
	n.SetInstance("b", NotifySpec{})
	n.SetGroup("g", []string{"a", "b"}, NotifySpec{Master: []string{"/gm"}})
	for _, ev := range []InstanceEvent{
		{Kind: "transition", Instance: "a", To: "BACKUP", Priority: 100},
		{Kind: "priority", Instance: "a", Priority: 90}, // not a transition: no hook
		{Kind: "transition", Instance: "a", To: "MASTER", Priority: 100},
		{Kind: "transition", Instance: "b", To: "MASTER", Priority: 100},
	} {
		n.Event(ev)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n.Run(ctx) // drains the queue and returns
	want := []string{
		"/b a BACKUP 100", "/any x a BACKUP 100",
		"/m a MASTER 100", "/any x a MASTER 100",
		"/gm g MASTER 0", // both members MASTER now
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hooks (-want +got):\n%s", diff)
	}
}

// TestNotifierRealCommand runs a real script through procexec.Command.
func TestNotifierRealCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	script := filepath.Join(dir, "hook.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$@\" >> "+out+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	n := NewNotifier(5*time.Second, nil)
	n.SetInstance("vi", NotifySpec{Master: []string{script}})
	n.Event(InstanceEvent{Kind: "transition", Instance: "vi", To: "MASTER", Priority: 120})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n.Run(ctx)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != "vi MASTER 120" {
		t.Errorf("hook got %q", got)
	}
}

func TestBusDropsForSlowSubscriber(t *testing.T) {
	b := NewBus()
	s := b.Subscribe(1)
	b.Publish(InstanceEvent{Kind: "transition"})
	b.Publish(InstanceEvent{Kind: "transition"})
	if len(s.C) != 1 || s.Dropped.Load() != 1 {
		t.Errorf("queued %d dropped %d, want 1 and 1", len(s.C), s.Dropped.Load())
	}
	b.Unsubscribe(s)
	b.Publish(InstanceEvent{})
	if len(s.C) != 1 {
		t.Error("published to an unsubscribed subscriber")
	}
}
