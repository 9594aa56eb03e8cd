package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hachat/hachat/internal/mariadbtest"
)

// TestCommittedSurvivesDatabaseCrash kills MariaDB (SIGKILL) right after a burst of appends and
// restarts it on the same datadir: every event whose Append returned nil is in the log, the log is
// still dense, and appending resumes after it. "Committed" means durable, so a client never saw an
// event that history lost.
func TestCommittedSurvivesDatabaseCrash(t *testing.T) {
	if mdb == nil {
		t.Skip(mdbSkip)
	}
	if testing.Short() {
		t.Skip("starts its own MariaDB twice")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := mariadbtest.Launch(ctx, mariadbtest.Options{Dir: dir, Database: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, "mysql://"+srv.DSN("crash"))
	if err != nil {
		srv.Stop()
		t.Fatal(err)
	}
	var mu sync.Mutex
	committed := map[string]int64{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				e := ev("n", fmt.Sprintf("w%d-%d", w, i), i, KindPrivmsg, "a!a@h", "#c", "x")
				if err := s.Append(ctx, e); err != nil {
					t.Errorf("append: %v", err)
					return
				}
				mu.Lock()
				committed[e.MsgID] = e.Seq
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	srv.Kill()
	s.Close()

	srv, err = mariadbtest.Launch(ctx, mariadbtest.Options{Dir: dir, Database: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	s2 := open(t, "mysql://"+srv.DSN("crash"))
	evs, cur, err := s2.Tail(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(committed) || int(cur) != len(committed) {
		t.Fatalf("after the crash the log has %d events up to %d, want the %d committed", len(evs), cur, len(committed))
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) || committed[e.MsgID] != e.Seq {
			t.Fatalf("event %s at Seq %d, committed at %d", e.MsgID, e.Seq, committed[e.MsgID])
		}
	}
	e := ev("n", "after", 0, KindPrivmsg, "a!a@h", "#c", "x")
	if err := s2.Append(ctx, e); err != nil || e.Seq != int64(len(committed)+1) {
		t.Fatalf("append after restart: Seq %d, %v; want %d", e.Seq, err, len(committed)+1)
	}
}
