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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, srv, s := crashDB(ctx, t)
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

	srv, err := mariadbtest.Launch(ctx, mariadbtest.Options{Dir: dir, Database: "crash"})
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

// TestChangesSurviveDatabaseCrashWhole kills MariaDB (SIGKILL) in the middle of a burst of
// registrations, each a nick claim committed with its event (Commit), and restarts it on the same
// datadir: every registration that was acknowledged is there, and whatever the crash cut, the tables
// and the log agree: a session row exactly for each logged registration event.
func TestChangesSurviveDatabaseCrashWhole(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, srv, s := crashDB(ctx, t)
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	enough := make(chan struct{})
	var once sync.Once
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				e := ev("n", "m-"+id, i, KindNick, id+"!u@h", "", id)
				e.Params = []string{"+register", id}
				ss := Session{ID: id, Node: "n", Nick: id, Since: base}
				if err := s.Commit(ctx, e, func(tx Tx) error { return tx.ClaimNick(ss) }); err != nil {
					return // the database is gone
				}
				mu.Lock()
				acked[id] = true
				if len(acked) >= 200 {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		}()
	}
	<-enough
	srv.Kill() // while the workers are still committing
	wg.Wait()
	s.Close()

	srv, err := mariadbtest.Launch(ctx, mariadbtest.Options{Dir: dir, Database: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	s2 := open(t, "mysql://"+srv.DSN("crash"))
	snap := snapshot(t, s2)
	evs, _, err := s2.Tail(ctx, 0, maxLimit)
	if err != nil {
		t.Fatal(err)
	}
	logged := map[string]bool{}
	for _, e := range evs {
		logged[e.Params[1]] = true
	}
	stored := map[string]bool{}
	for _, ss := range snap.Sessions {
		stored[ss.ID] = true
		if !logged[ss.ID] {
			t.Errorf("session %s is in the table but its registration is not in the log", ss.ID)
		}
	}
	for id := range logged {
		if !stored[id] {
			t.Errorf("registration %s is in the log but its session is not in the table", id)
		}
	}
	for id := range acked {
		if !logged[id] {
			t.Errorf("acknowledged registration %s lost in the crash", id)
		}
	}
	t.Logf("%d registrations acknowledged before the kill, %d in the log after it", len(acked), len(logged))
	if len(logged) < len(acked) || int(snap.Head) != len(evs) {
		t.Errorf("%d acknowledged, %d logged, head %d", len(acked), len(logged), snap.Head)
	}
}

// crashDB starts a MariaDB of the test's own on a fresh datadir, which a crash
// test kills and restarts there, and opens a store on it.
func crashDB(ctx context.Context, t *testing.T) (dir string, srv *mariadbtest.Server, s Store) {
	t.Helper()
	if mdb == nil {
		t.Skip(mdbSkip)
	}
	if testing.Short() {
		t.Skip("starts its own MariaDB twice")
	}
	dir = t.TempDir()
	srv, err := mariadbtest.Launch(ctx, mariadbtest.Options{Dir: dir, Database: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	if s, err = Open(ctx, "mysql://"+srv.DSN("crash")); err != nil {
		srv.Stop()
		t.Fatal(err)
	}
	return dir, srv, s
}
