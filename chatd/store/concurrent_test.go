package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestTailSeesEveryCommitOnce appends from several handles (standing for nodes) and many goroutines
// while another handle tails the log: every committed event must come out exactly once, in Seq order,
// with no gap, at the Seq its Append reported. This is the §A3 hazard: with AUTO_INCREMENT ids a tail
// that reads "id > cursor" while an older id is still uncommitted skips that row forever.
func TestTailSeesEveryCommitOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		const nodes, workers = 3, 4
		perWorker := 60
		if testing.Short() {
			perWorker = 15
		}
		dsn := b.newDSN(t)
		handles := make([]*sqlStore, nodes)
		for i := range handles {
			handles[i] = open(t, dsn)
		}
		reader := open(t, dsn)
		ctx := testCtx(t)
		total := nodes * workers * perWorker

		type result struct {
			seq map[string]int64 // msgid -> Seq reported by Append
			err error
		}
		results := make(chan result, nodes*workers)
		var wg sync.WaitGroup
		for n, h := range handles {
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := result{seq: map[string]int64{}}
					for i := 0; i < perWorker; i++ {
						e := ev(fmt.Sprintf("node%d", n), fmt.Sprintf("n%d-w%d-%d", n, w, i), i, KindPrivmsg,
							"x!x@h", fmt.Sprintf("#c%d", w), "m")
						if r.err = h.Append(ctx, e); r.err != nil {
							break
						}
						r.seq[e.MsgID] = e.Seq
					}
					results <- r
				}()
			}
		}

		seen := map[string]int64{}
		var cur Cursor
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for len(seen) < total {
			evs, next, err := reader.Tail(ctx, cur, 50)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if e.Seq != int64(cur)+1 {
					t.Fatalf("Tail after %d returned Seq %d: a gap or a repeat", cur, e.Seq)
				}
				if prev, dup := seen[e.MsgID]; dup {
					t.Fatalf("msgid %s returned twice (Seq %d and %d)", e.MsgID, prev, e.Seq)
				}
				seen[e.MsgID] = e.Seq
				cur = Cursor(e.Seq)
			}
			if next != cur {
				t.Fatalf("Tail returned cursor %d after last Seq %d", next, cur)
			}
			if len(evs) == 0 {
				select {
				case <-ctx.Done():
					t.Fatalf("only %d of %d events tailed before the deadline", len(seen), total)
				case <-tick.C:
				}
			}
		}
		wg.Wait()
		close(results)
		appended := 0
		for r := range results {
			if r.err != nil {
				t.Fatalf("append: %v", r.err)
			}
			for id, seq := range r.seq {
				appended++
				if seen[id] != seq {
					t.Errorf("%s: Append reported Seq %d, Tail saw %d", id, seq, seen[id])
				}
			}
		}
		if appended != total || len(seen) != total {
			t.Fatalf("appended %d, tailed %d, want %d", appended, len(seen), total)
		}
		if evs, _, err := reader.Tail(ctx, cur, 50); err != nil || len(evs) != 0 {
			t.Errorf("Tail past the end = %d events, %v", len(evs), err)
		}
		if h, err := reader.Head(ctx); err != nil || h != Cursor(total) {
			t.Errorf("Head = %d, %v; want %d", h, err, total)
		}
	})
}

// TestTailHole checks the safety net for a position that never commits: Tail waits at the hole, then
// steps over it once it has been missing for holeTimeout. Rows are written directly to make the hole.
func TestTailHole(t *testing.T) {
	s, ctx := open(t, "sqlite::memory:"), testCtx(t)
	now := base
	s.now = func() time.Time { return now }
	for _, seq := range []int64{1, 2, 4} {
		if _, err := s.w.ExecContext(ctx, `INSERT INTO events (`+eventCols+`) VALUES (?, ?, 0, 'n', 'PRIVMSG', '#c', '#c', '', '', '', '', '')`,
			seq, fmt.Sprint("id", seq)); err != nil {
			t.Fatal(err)
		}
	}
	evs, cur, err := s.Tail(ctx, 0, 10)
	if err != nil || cur != 2 || len(evs) != 2 {
		t.Fatalf("Tail(0) = %v, %d, %v; want 1 2 and cursor 2", msgids(evs), cur, err)
	}
	evs, cur, err = s.Tail(ctx, 2, 10)
	if err != nil || cur != 2 || len(evs) != 0 {
		t.Fatalf("Tail at fresh hole = %v, %d, %v; want nothing", msgids(evs), cur, err)
	}
	now = now.Add(holeTimeout - time.Millisecond)
	if evs, cur, _ = s.Tail(ctx, 2, 10); cur != 2 || len(evs) != 0 {
		t.Fatalf("Tail just before holeTimeout = %v, %d; want nothing", msgids(evs), cur)
	}
	now = now.Add(time.Millisecond)
	if evs, cur, _ = s.Tail(ctx, 2, 10); cur != 4 || len(evs) != 1 || evs[0].MsgID != "id4" {
		t.Fatalf("Tail after holeTimeout = %v, %d; want id4 and cursor 4", msgids(evs), cur)
	}
}

// TestNickUniqueAcrossHandles races many ClaimNick calls for one nick (in different cases) through two
// handles: exactly one wins.
func TestNickUniqueAcrossHandles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dsn := b.newDSN(t)
		hs := []*sqlStore{open(t, dsn), open(t, dsn)}
		ctx := testCtx(t)
		const tries = 16
		errs := make(chan error, tries)
		for i := 0; i < tries; i++ {
			go func() {
				nick := "Racer"
				if i%2 == 1 {
					nick = "rACER"
				}
				errs <- hs[i%2].ClaimNick(ctx, Session{ID: fmt.Sprint("s", i), Node: fmt.Sprint("node", i%2), Nick: nick})
			}()
		}
		won := 0
		for i := 0; i < tries; i++ {
			switch err := <-errs; {
			case err == nil:
				won++
			case !errors.Is(err, ErrNickInUse):
				t.Errorf("ClaimNick: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d sessions claimed the nick, want 1", won)
		}
		sess, err := hs[1].Sessions(ctx)
		if err != nil || len(sess) != 1 {
			t.Fatalf("Sessions = %v, %v", sess, err)
		}
		// A rename onto the held nick loses as well, from either handle.
		if err := hs[0].ClaimNick(ctx, Session{ID: "other", Node: "node0", Nick: "other"}); err != nil {
			t.Fatal(err)
		}
		if err := hs[1].RenameNick(ctx, "other", "RaCeR"); !errors.Is(err, ErrNickInUse) {
			t.Errorf("RenameNick onto held nick: %v", err)
		}
	})
}

// TestReapersRace has two handles reap the same dead node at once: each session is reported exactly
// once in total.
func TestReapersRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dsn := b.newDSN(t)
		hs := []*sqlStore{open(t, dsn), open(t, dsn)}
		ctx := testCtx(t)
		const n = 40
		for _, node := range []string{"dead", "r0", "r1"} {
			if err := hs[0].Heartbeat(ctx, node); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < n; i++ {
			id := fmt.Sprint("s", i)
			if err := hs[0].ClaimNick(ctx, Session{ID: id, Node: "dead", Nick: fmt.Sprint("ghost", i)}); err != nil {
				t.Fatal(err)
			}
			if err := hs[0].Join(ctx, Member{Channel: "#c", SessionID: id}); err != nil {
				t.Fatal(err)
			}
		}
		ageNode(t, hs[0], "dead", time.Hour)

		var mu sync.Mutex
		count := map[string]int{}
		var wg sync.WaitGroup
		for r, h := range hs {
			for k := 0; k < 3; k++ { // several concurrent calls per reaper too
				wg.Add(1)
				go func() {
					defer wg.Done()
					self := fmt.Sprint("r", r)
					got, err := h.ReapDeadQuit(ctx, self, time.Minute, func(rp Reaped) *Event {
						return &Event{MsgID: "quit-" + rp.Session.ID, Time: base, Node: self, Kind: KindQuit,
							Sender: rp.Session.Nick + "!u@h", Text: "Server died", Params: []string{rp.Session.ID}}
					})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					for _, rp := range got {
						count[rp.Session.ID]++
						if rp.Quit == nil || rp.Quit.Seq == 0 || rp.Quit.MsgID != "quit-"+rp.Session.ID {
							t.Errorf("%s reaped without its committed QUIT: %+v", rp.Session.ID, rp.Quit)
						}
						if len(rp.Channels) != 1 || rp.Channels[0] != "#c" {
							t.Errorf("%s reaped with channels %v", rp.Session.ID, rp.Channels)
						}
					}
				}()
			}
		}
		wg.Wait()
		if len(count) != n {
			t.Errorf("%d sessions reaped, want %d", len(count), n)
		}
		for id, c := range count {
			if c != 1 {
				t.Errorf("session %s reaped %d times", id, c)
			}
		}
		if mem, err := hs[1].Members(ctx, "#c"); err != nil || len(mem) != 0 {
			t.Errorf("members left: %d, %v", len(mem), err)
		}
		// The log holds exactly one QUIT per session, committed with the reaping.
		evs, _, err := hs[1].Tail(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		quits := map[string]int{}
		for _, e := range evs {
			if e.Kind == KindQuit {
				quits[e.Params[0]]++
			}
		}
		if len(quits) != n {
			t.Errorf("%d sessions have a QUIT in the log, want %d", len(quits), n)
		}
		for id, c := range quits {
			if c != 1 {
				t.Errorf("session %s has %d QUITs", id, c)
			}
		}
	})
}

// TestConcurrentOpen starts several handles on one fresh database at once: the migration runs once and
// every Open succeeds.
func TestConcurrentOpen(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dsn := b.newDSN(t)
		errs := make(chan error, 4)
		for i := 0; i < 4; i++ {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				s, err := Open(ctx, dsn)
				if err == nil {
					s.Close()
				}
				errs <- err
			}()
		}
		for i := 0; i < 4; i++ {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		s, ctx := open(t, dsn), testCtx(t)
		var n int
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(migrations) {
			t.Errorf("schema_migrations has %d rows (%v), want %d", n, err, len(migrations))
		}
	})
}

func TestAppendCancelAndClose(t *testing.T) {
	s := open(t, "sqlite::memory:")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Append(ctx, ev("n", "c1", 0, KindPrivmsg, "a!a@h", "#c", "x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with cancelled context: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(context.Background(), ev("n", "c2", 0, KindPrivmsg, "a!a@h", "#c", "x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
}

// TestBatchWithDuplicate sends a group of concurrent appends of which one reuses a msgid: only that
// one fails, with ErrExists, and all others commit.
func TestBatchWithDuplicate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, ctx := open(t, b.newDSN(t)), testCtx(t)
		if err := s.Append(ctx, ev("n", "dup", 0, KindPrivmsg, "a!a@h", "#c", "first")); err != nil {
			t.Fatal(err)
		}
		const n = 64
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			go func() {
				id := fmt.Sprint("u", i)
				if i == n/2 {
					id = "dup"
				}
				errs <- s.Append(ctx, ev("n", id, i, KindPrivmsg, "a!a@h", "#c", "x"))
			}()
		}
		var dups int
		for i := 0; i < n; i++ {
			switch err := <-errs; {
			case errors.Is(err, ErrExists):
				dups++
			case err != nil:
				t.Errorf("append: %v", err)
			}
		}
		if dups != 1 {
			t.Errorf("%d appends failed as duplicates, want 1", dups)
		}
		if h, err := s.Head(ctx); err != nil || h != n {
			t.Errorf("Head = %d, %v; want %d (dense, the duplicate took no position)", h, err, n)
		}
	})
}

// TestAppendCommitNumbersEveryChunk checks doc.go's claims 1 and 3 for the append that commits in its
// own round trip (appendCommitTx: several INSERTs of maxBatch rows and the conversation index in one
// packet): the positions Append reports are dense, in the order of the events, and exactly what Tail
// reads back; the private conversations are indexed with them.
func TestAppendCommitNumbersEveryChunk(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, ctx := open(t, b.newDSN(t)), testCtx(t)
		if err := s.Append(ctx, ev("n", "first", 0, KindPrivmsg, "a!a@h", "#c", "x")); err != nil {
			t.Fatal(err)
		}
		n := 2*maxBatch + 3
		evs := make([]*Event, n)
		for i := range evs {
			target := "#c"
			if i%50 == 0 {
				target = fmt.Sprint("bob", i)
			}
			evs[i] = ev("n", fmt.Sprint("m", i), i, KindPrivmsg, "alice!a@h", target, "x")
			if err := prepareEvent(evs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.inTx(ctx, func(tx *sql.Tx) error { return s.appendCommitTx(ctx, tx, evs) }); err != nil {
			t.Fatal(err)
		}
		got, next, err := s.Tail(ctx, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n || next != Cursor(n+1) {
			t.Fatalf("Tail after 1 = %d events up to %d, want %d up to %d", len(got), next, n, n+1)
		}
		for i, e := range evs {
			if e.Seq != int64(i+2) || got[i].Seq != e.Seq || got[i].MsgID != e.MsgID {
				t.Fatalf("event %d: Append gave seq %d, Tail has %d %q; want %d %q", i, e.Seq, got[i].Seq, got[i].MsgID, i+2, e.MsgID)
			}
		}
		keys, err := s.Conversations(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if want := (n + 49) / 50; len(keys) != want {
			t.Errorf("alice has %d private conversations indexed, want %d", len(keys), want)
		}
	})
}
