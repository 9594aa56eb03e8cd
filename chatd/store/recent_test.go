package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// readBack returns what Tail reads from the database after cursor, bypassing the ring: a second
// Store on the same database has committed nothing itself.
func readBack(t *testing.T, other *sqlStore, after Cursor) []Event {
	t.Helper()
	evs, _, err := other.Tail(testCtx(t), after, maxLimit)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// doc.go, "Why Tail can neither skip nor repeat": the events a Store serves from its own recent
// commits are exactly the rows the database holds at those positions.
func TestTailFromRecentEqualsTheLog(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dsn := b.newDSN(t)
		a, other := open(t, dsn), open(t, dsn)
		ctx := testCtx(t)
		now := time.Date(2026, 12, 8, 0, 0, 0, 123456789, time.FixedZone("x", 3600))
		evs := []*Event{
			{Kind: KindPrivmsg, Target: "#c", Sender: "n!u@h", Text: "hi\xff"},
			{Kind: KindNick, Sender: "n!u@h", Text: "m", Params: []string{"register", "sid", "real name", ""}},
			{Kind: KindPrivmsg, Target: "#c", Sender: "n!u@h", Text: "t", Tags: map[string]string{"+draft/reply": "x"}},
			{Kind: KindQuit, Sender: "n!u@h", Text: "bye", Params: []string{"sid", "bad \xff utf-8"}},
			{Kind: KindPrivmsg, Target: "#c", Sender: "n!u@h", Text: "empty", Params: []string{}, Tags: map[string]string{}},
		}
		for i, ev := range evs {
			ev.MsgID, ev.Node, ev.Time = fmt.Sprintf("m%d", i), "a", now
			if err := a.Append(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		log := readBack(t, other, 0)
		// The ring holds the first three; the fourth's params are not valid UTF-8, which JSON
		// would change, so it is left to the database.
		ring, whole := a.recent.after(0, maxLimit)
		if d := cmp.Diff(log[:3], ring); d != "" || whole {
			t.Errorf("whole %v; recent commits differ from the log (-log +recent):\n%s", whole, d)
		}
		got, next, err := a.Tail(ctx, 0, maxLimit)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(log, got); d != "" {
			t.Errorf("Tail differs from the log (-log +tail):\n%s", d)
		}
		if next != Cursor(len(evs)) {
			t.Errorf("next cursor %d, want %d", next, len(evs))
		}
		// Past the invalid one, the ring serves the rest.
		rest, _, err := a.Tail(ctx, 4, maxLimit)
		if d := cmp.Diff(log[4:], rest); d != "" || err != nil {
			t.Errorf("err %v; Tail after 4 differs from the log (-log +tail):\n%s", err, d)
		}
	})
}

// Another node's event between two of ours is read from the database, in its place.
func TestTailFromRecentStopsAtAnotherNodesEvent(t *testing.T) {
	dsn := backends[0].newDSN(t)
	a, b := open(t, dsn), open(t, dsn)
	ctx := testCtx(t)
	for i, st := range []*sqlStore{a, b, a} {
		ev := &Event{MsgID: fmt.Sprintf("m%d", i), Node: st.d.name, Time: time.Now(), Kind: KindPrivmsg, Target: "#c", Sender: "n!u@h", Text: "x"}
		if err := st.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	got, next, err := a.Tail(ctx, 0, maxLimit)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ev := range got {
		ids = append(ids, ev.MsgID)
	}
	if d := cmp.Diff([]string{"m0", "m1", "m2"}, ids); d != "" || next != 3 {
		t.Errorf("next %d, events (-want +got):\n%s", next, d)
	}
}

// OnCommit runs after the commit and before Append returns, when Tail already serves the event.
func TestOnCommitBeforeAppendReturns(t *testing.T) {
	s := open(t, "sqlite::memory:")
	ctx := testCtx(t)
	var seen []string
	s.OnCommit(func() { // the committer goroutine; Append waits for it
		evs, _, err := s.Tail(ctx, Cursor(len(seen)), maxLimit)
		if err != nil || len(evs) != 1 {
			t.Errorf("in OnCommit: Tail = %v, %v; want the one event just committed", evs, err)
			return
		}
		seen = append(seen, evs[0].MsgID)
	})
	for i := range 3 {
		ev := &Event{MsgID: fmt.Sprintf("m%d", i), Node: "a", Time: time.Now(), Kind: KindPrivmsg, Target: "#c", Sender: "n!u@h", Text: "x"}
		if err := s.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if len(seen) != i+1 {
			t.Fatalf("after Append %d: OnCommit saw %v", i, seen)
		}
	}
}
