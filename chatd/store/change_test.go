package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var errRefused = errors.New("refused by the change")

func snapshot(t *testing.T, s *sqlStore) Snapshot {
	t.Helper()
	snap, err := s.Snapshot(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func session(id string) Session {
	return Session{ID: id, Node: "n1", Nick: "nick-" + id, User: "~u", Host: "h", Since: base}
}

// TestCommitIsOneTransaction: a change and its event commit together or not at all, whichever step
// fails: the change itself after some writes, or the event's INSERT after all of them.
func TestCommitIsOneTransaction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, ctx := open(t, b.newDSN(t)), testCtx(t)
		if err := s.Commit(ctx, ev("n1", "m0", 0, KindNick, "a!u@h", "", "a"), func(tx Tx) error {
			if err := tx.ClaimNick(session("s1")); err != nil {
				return err
			}
			_, err := tx.Join(Member{Channel: "#c", SessionID: "s1"}, Channel{Modes: "nt", Created: base})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, s)
		writeAll := func(tx Tx) error {
			if err := tx.ClaimNick(session("s2")); err != nil {
				return err
			}
			if _, err := tx.Join(Member{Channel: "#c", SessionID: "s2"}, Channel{}); err != nil {
				return err
			}
			if err := tx.UpdateChannel("#c", func(c *Channel) { c.Topic = "changed" }); err != nil {
				return err
			}
			return tx.AddBan(Ban{Channel: "#c", Mask: "x!*@*", SetAt: base}, 0)
		}
		// The change fails after its writes.
		err := s.Commit(ctx, ev("n1", "m1", 1, KindJoin, "b!u@h", "#c", ""), func(tx Tx) error {
			if err := writeAll(tx); err != nil {
				return err
			}
			return errRefused
		})
		if !errors.Is(err, errRefused) {
			t.Fatalf("Commit of a refusing change: %v, want its error", err)
		}
		if d := cmp.Diff(before, snapshot(t, s)); d != "" {
			t.Errorf("a refused change left writes (-before +after):\n%s", d)
		}
		// The event's INSERT fails (a msgid already logged) after every write of the change.
		err = s.Commit(ctx, ev("n1", "m0", 2, KindJoin, "b!u@h", "#c", ""), writeAll)
		if !errors.Is(err, ErrExists) {
			t.Fatalf("Commit with a duplicate msgid: %v, want ErrExists", err)
		}
		if d := cmp.Diff(before, snapshot(t, s)); d != "" {
			t.Errorf("a change whose event failed left writes (-before +after):\n%s", d)
		}
		// And whole, it commits.
		e := ev("n1", "m3", 3, KindJoin, "b!u@h", "#c", "")
		if err := s.Commit(ctx, e, writeAll); err != nil {
			t.Fatal(err)
		}
		if after := snapshot(t, s); after.Head != before.Head+1 || len(after.Members) != 2 || len(after.Bans) != 1 {
			t.Errorf("after the change: %+v", after)
		}
	})
}

// TestCommitBatchFailureIsolated: in one group-committed batch, a failing change fails alone; the
// others commit with their events.
func TestCommitBatchFailureIsolated(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, ctx := open(t, b.newDSN(t)), testCtx(t)
		const n = 40
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ss := session(fmt.Sprint(i))
				if i%4 == 0 {
					ss.Nick = "taken" // one of these wins, the others get ErrNickInUse
				}
				errs[i] = s.Commit(ctx, ev("n1", fmt.Sprint("m", i), i, KindNick, "x!u@h", "", ss.Nick),
					func(tx Tx) error { return tx.ClaimNick(ss) })
			}()
		}
		wg.Wait()
		inUse := 0
		for i, err := range errs {
			switch {
			case errors.Is(err, ErrNickInUse) && i%4 == 0:
				inUse++
			case err != nil:
				t.Errorf("registration %d: %v", i, err)
			}
		}
		if inUse != n/4-1 {
			t.Errorf("%d registrations of the same nick refused, want %d", inUse, n/4-1)
		}
		snap := snapshot(t, s)
		if len(snap.Sessions) != n-inUse || int(snap.Head) != n-inUse {
			t.Errorf("%d sessions and %d events committed, want %d of each", len(snap.Sessions), snap.Head, n-inUse)
		}
	})
}

// TestChannelCeasesWithLastMember (RFC 2812 §1.3): the channel row and its bans go in the transaction
// that removes the last member, by Part, ReleaseSession or the reaper; the next Join creates it afresh
// and makes the joiner its operator.
func TestChannelCeasesWithLastMember(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, ctx := open(t, b.newDSN(t)), testCtx(t)
		if err := s.Heartbeat(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"a", "b"} {
			if err := s.ClaimNick(ctx, session(id)); err != nil {
				t.Fatal(err)
			}
		}
		lock := func(name string) {
			t.Helper()
			for _, id := range []string{"a", "b"} {
				if err := s.Join(ctx, Member{Channel: name, SessionID: id}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Commit(ctx, nil, func(tx Tx) error {
				if err := tx.UpdateChannel(name, func(c *Channel) { c.Modes, c.Key, c.Topic = "iknt", "k", "old" }); err != nil {
					return err
				}
				return tx.AddBan(Ban{Channel: name, Mask: "x!*@*"}, 0)
			}); err != nil {
				t.Fatal(err)
			}
		}
		gone := func(how, name string) {
			t.Helper()
			if _, err := s.Channel(ctx, name); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: channel %s after its last member left: %v, want ErrNotFound", how, name, err)
			}
			if bans, err := s.Bans(ctx, name); err != nil || len(bans) != 0 {
				t.Errorf("%s: bans of %s after it ceased: %v, %v", how, name, bans, err)
			}
		}
		lock("#part")
		for _, id := range []string{"a", "b"} {
			if err := s.Part(ctx, "#part", id); err != nil {
				t.Fatal(err)
			}
			if id == "a" {
				if _, err := s.Channel(ctx, "#part"); err != nil {
					t.Errorf("channel gone while it has a member: %v", err)
				}
			}
		}
		gone("part", "#part")
		var modes string
		if err := s.Commit(ctx, nil, func(tx Tx) (err error) {
			modes, err = tx.Join(Member{Channel: "#part", SessionID: "a"}, Channel{Modes: "nt", Created: base})
			return err
		}); err != nil || modes != "o" {
			t.Errorf("Join of a channel that ceased: modes %q, %v; want a fresh channel and \"o\"", modes, err)
		}
		if c, err := s.Channel(ctx, "#part"); err != nil || c.Modes != "nt" || c.Key != "" || c.Topic != "" {
			t.Errorf("re-created channel: %+v, %v; want fresh", c, err)
		}

		lock("#quit")
		if err := s.ReleaseSession(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Channel(ctx, "#quit"); err != nil {
			t.Errorf("channel gone while it has a member: %v", err)
		}
		if err := s.ReleaseSession(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		gone("release", "#quit")
		gone("release", "#part")

		// The reaper: every member on a dead node.
		if err := s.Heartbeat(ctx, "dead"); err != nil {
			t.Fatal(err)
		}
		ss := session("z")
		ss.Node = "dead"
		if err := s.ClaimNick(ctx, ss); err != nil {
			t.Fatal(err)
		}
		if err := s.Join(ctx, Member{Channel: "#reap", SessionID: "z"}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			r, err := s.ReapDead(ctx, "n1", time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if len(r) == 1 || time.Now().After(deadline) {
				break
			}
		}
		gone("reap", "#reap")
	})
}

// TestReapDeadCollectsLateSession: a node already reaped is looked at again while it has sessions, so
// a session it registered after it was reaped (it did not know yet) is collected by the next pass.
func TestReapDeadCollectsLateSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, ctx := open(t, b.newDSN(t)), testCtx(t)
		for _, n := range []string{"live", "dead"} {
			if err := s.Heartbeat(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		reap := func() []Reaped {
			t.Helper()
			deadline := time.Now().Add(time.Minute)
			for {
				r, err := s.ReapDead(ctx, "live", time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				if len(r) > 0 || time.Now().After(deadline) {
					return r
				}
			}
		}
		late := session("late")
		late.Node = "dead"
		if err := s.ClaimNick(ctx, late); err != nil {
			t.Fatal(err)
		}
		if r := reap(); len(r) != 1 || r[0].Session.ID != "late" {
			t.Fatalf("first pass reaped %+v", r)
		}
		// Reaped now, and with no session left: the next pass has nothing to do.
		if r, err := s.ReapDead(ctx, "live", time.Millisecond); err != nil || len(r) != 0 {
			t.Fatalf("pass over a reaped node without sessions: %+v, %v", r, err)
		}
		later := session("later")
		later.Node = "dead"
		if err := s.ClaimNick(ctx, later); err != nil {
			t.Fatal(err)
		}
		if r := reap(); len(r) != 1 || r[0].Session.ID != "later" {
			t.Fatalf("a session registered after the node was reaped: reaped %+v", r)
		}
	})
}

// TestConcurrentJoinsCreateOneChannel checks the rule a JOIN decides on (RFC 2812 §1.3.1: the first
// user to join a channel creates it and becomes its operator) when two nodes' JOINs race for a channel
// that does not exist yet: every JOIN succeeds, and exactly one member is the creator with +o. On
// MySQL the write transactions take no gap locks (READ COMMITTED), so both may find no row: the loser's
// INSERT fails on the key and it joins the winner's channel (lockOrCreateChannel).
func TestConcurrentJoinsCreateOneChannel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dsn := b.newDSN(t)
		hs := []*sqlStore{open(t, dsn), open(t, dsn)}
		ctx := testCtx(t)
		const rounds, per = 5, 4
		for i := range rounds * per * len(hs) {
			ss := Session{ID: fmt.Sprint("s", i), Node: "n", Nick: fmt.Sprint("u", i), User: "u", Host: "h"}
			if err := hs[0].ClaimNick(ctx, ss); err != nil {
				t.Fatal(err)
			}
		}
		for r := range rounds {
			ch := fmt.Sprint("#race", r)
			errs := make(chan error, per*len(hs))
			for h := range hs {
				for j := range per {
					sid := fmt.Sprint("s", (r*len(hs)+h)*per+j)
					go func() {
						_, err := hs[h].changeJoin(ctx, Member{Channel: ch, SessionID: sid})
						errs <- err
					}()
				}
			}
			ops := 0
			for range per * len(hs) {
				if err := <-errs; err != nil {
					t.Errorf("%s: join: %v", ch, err)
				}
			}
			ms, err := hs[1].Members(ctx, ch)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if strings.Contains(m.Modes, "o") {
					ops++
				}
			}
			if len(ms) != per*len(hs) || ops != 1 {
				t.Errorf("%s: %d members, %d with +o; want %d members, 1 operator (the creator)", ch, len(ms), ops, per*len(hs))
			}
		}
	})
}

// changeJoin runs one Join in a transaction of its own and returns the joiner's modes.
func (s *sqlStore) changeJoin(ctx context.Context, m Member) (string, error) {
	var modes string
	fresh := Channel{Name: m.Channel, Created: time.Now().UTC().Truncate(time.Millisecond)}
	err := s.change(ctx, func(t txOps) (err error) {
		modes, err = t.Join(m, fresh)
		return err
	})
	return modes, err
}
