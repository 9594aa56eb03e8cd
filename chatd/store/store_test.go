package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var base = time.Date(2026, 1, 2, 3, 4, 5, 123_000_000, time.UTC)

func TestAccounts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, ctx := open(t, b.newDSN(t)), testCtx(t)
		if err := s.CreateAccount(ctx, "Alice", "$argon2id$h1"); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAccount(ctx, "ALICE", "$argon2id$h2"); !errors.Is(err, ErrExists) {
			t.Errorf("duplicate account (other case): %v, want ErrExists", err)
		}
		if h, err := s.Account(ctx, "alice"); err != nil || h != (Account{Name: "Alice", Hash: "$argon2id$h1"}) {
			t.Errorf("Account(alice) = %+v, %v (want the registered spelling Alice)", h, err)
		}
		if _, err := s.Account(ctx, "bob"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Account(bob) error %v, want ErrNotFound", err)
		}
		// Non-ASCII letters are not folded (CASEMAPPING=ascii): these are two accounts.
		if err := s.CreateAccount(ctx, "émile", "h"); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAccount(ctx, "Émile", "h"); err != nil {
			t.Errorf("Émile vs émile: %v, want distinct accounts", err)
		}
	})
}

// TestRehashAccountComparesAndSets: a login's rehash replaces the hash it
// verified, and only that one (a password changed meanwhile stays).
func TestRehashAccountComparesAndSets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, ctx := open(t, b.newDSN(t)), testCtx(t)
		if err := s.CreateAccount(ctx, "Alice", "$argon2id$old"); err != nil {
			t.Fatal(err)
		}
		if err := s.RehashAccount(ctx, "alice", "$argon2id$other", "$argon2id$new"); !errors.Is(err, ErrNotFound) {
			t.Errorf("rehash from a hash the account no longer has: %v, want ErrNotFound", err)
		}
		if err := s.RehashAccount(ctx, "ALICE", "$argon2id$old", "$argon2id$new"); err != nil {
			t.Fatal(err)
		}
		if a, err := s.Account(ctx, "alice"); err != nil || a != (Account{Name: "Alice", Hash: "$argon2id$new"}) {
			t.Errorf("after rehash: %+v, %v", a, err)
		}
		if err := s.RehashAccount(ctx, "bob", "$argon2id$old", "$argon2id$new"); !errors.Is(err, ErrNotFound) {
			t.Errorf("rehash of a missing account: %v, want ErrNotFound", err)
		}
	})
}

func TestChannels(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, ctx := open(t, b.newDSN(t)), testCtx(t)
		if _, err := s.Channel(ctx, "#none"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Channel(#none): %v, want ErrNotFound", err)
		}
		go1 := Channel{Name: "#Go", Topic: "gophers \U0001F680", TopicBy: "a!u@h", TopicAt: base, Modes: "nt",
			Key: "k", Limit: 10, Created: base.Add(-time.Hour)}
		zed := Channel{Name: "#zed", Created: base}
		for _, c := range []Channel{zed, go1} {
			if err := s.SaveChannel(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Channel(ctx, "#GO")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(go1, got); d != "" {
			t.Errorf("Channel(#GO) (-want +got):\n%s", d)
		}
		go1.Topic, go1.Modes = "", "ntk"
		if err := s.SaveChannel(ctx, go1); err != nil {
			t.Fatal(err)
		}
		all, err := s.Channels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]Channel{go1, zed}, all); d != "" {
			t.Errorf("Channels (-want +got):\n%s", d)
		}
		if err := s.SaveChannel(ctx, Channel{Name: "nochan"}); err == nil {
			t.Error("SaveChannel(nochan) accepted a non-channel name")
		}
	})
}

// ev makes a channel or DM event; i spaces the times one second apart.
func ev(node, msgid string, i int, kind Kind, sender, target, text string) *Event {
	return &Event{MsgID: msgid, Time: base.Add(time.Duration(i) * time.Second), Node: node, Kind: kind,
		Sender: sender, Target: target, Text: text}
}

func msgids(evs []Event) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.MsgID)
	}
	return out
}

func TestAppendAndTail(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, ctx := open(t, b.newDSN(t)), testCtx(t)
		if h, err := s.Head(ctx); err != nil || h != 0 {
			t.Fatalf("Head of empty log = %d, %v", h, err)
		}
		e1 := ev("n1", "id-1", 0, KindPrivmsg, "alice!a@h", "#Chan", "hello")
		e1.Params = []string{"x", "y z"}
		e1.Tags = map[string]string{"+draft/reply": "id-0"}
		e2 := ev("n1", "id-2", 1, KindPrivmsg, "alice!a@h", "Bob", "psst")
		e3 := ev("n2", "id-3", 2, KindQuit, "bob!b@h", "", "bye caf\xe9 \xff") // not UTF-8: kept as bytes
		for _, e := range []*Event{e1, e2, e3} {
			if err := s.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if e1.Seq != 1 || e2.Seq != 2 || e3.Seq != 3 {
			t.Errorf("Seq = %d %d %d, want 1 2 3", e1.Seq, e2.Seq, e3.Seq)
		}
		if e1.HistoryKey != "#chan" || e2.HistoryKey != "alice,bob" || e3.HistoryKey != "" {
			t.Errorf("HistoryKey = %q %q %q", e1.HistoryKey, e2.HistoryKey, e3.HistoryKey)
		}
		dup := ev("n2", "id-1", 5, KindPrivmsg, "x!x@h", "#chan", "dup")
		if err := s.Append(ctx, dup); !errors.Is(err, ErrExists) || dup.Seq != 0 {
			t.Errorf("Append(duplicate msgid) = %v (Seq %d), want ErrExists", err, dup.Seq)
		}
		if err := s.Append(ctx, &Event{MsgID: "x", Kind: KindPrivmsg}); err == nil {
			t.Error("Append accepted an event without Node and Time")
		}
		if h, err := s.Head(ctx); err != nil || h != 3 {
			t.Errorf("Head = %d, %v; want 3 (the failed append must not consume a position)", h, err)
		}

		got, cur, err := s.Tail(ctx, 0, 2)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]Event{*e1, *e2}, got); d != "" || cur != 2 {
			t.Errorf("Tail(0, 2) cursor %d (-want +got):\n%s", cur, d)
		}
		got, cur, err = s.Tail(ctx, cur, 10)
		if err != nil || cur != 3 || len(got) != 1 || got[0].MsgID != "id-3" || got[0].Text != e3.Text {
			t.Errorf("Tail(2, 10) = %v, %d, %v", msgids(got), cur, err)
		}
		got, cur, err = s.Tail(ctx, cur, 10)
		if err != nil || cur != 3 || len(got) != 0 {
			t.Errorf("Tail at end = %v, %d, %v", msgids(got), cur, err)
		}
	})
}

// TestHistoryPagingSkewedTimes: event times are not monotonic in Seq (a node stamps an event, then
// waits for the group commit), and a client pages AFTER a timestamp, then AFTER the msgid of the last
// event it got (and BEFORE the mirror way). No event may fall between two pages.
func TestHistoryPagingSkewedTimes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, ctx := open(t, b.newDSN(t)), testCtx(t)
		// Log order x0..x4, times 0, 2, 3, 1, 4 s: x3 was stamped early and committed late.
		for i, sec := range []int{0, 2, 3, 1, 4} {
			if err := s.Append(ctx, ev("n1", fmt.Sprintf("x%d", i), sec, KindPrivmsg, "a!a@h", "#skew", "hi")); err != nil {
				t.Fatal(err)
			}
		}
		page := func(q HistoryQuery) []string {
			t.Helper()
			q.Target, q.Limit = "#skew", 2
			evs, err := s.History(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			return msgids(evs)
		}
		got := page(HistoryQuery{Mode: ModeAfter, Ref: Ref{Time: base.Add(-time.Second)}})
		for len(got) < 5 {
			next := page(HistoryQuery{Mode: ModeAfter, Ref: Ref{MsgID: got[len(got)-1]}})
			if len(next) == 0 {
				break
			}
			got = append(got, next...)
		}
		if d := cmp.Diff([]string{"x0", "x1", "x2", "x3", "x4"}, got); d != "" {
			t.Errorf("AFTER timestamp, then AFTER msgid (-want +got):\n%s", d)
		}
		got = page(HistoryQuery{Mode: ModeBefore, Ref: Ref{Time: base.Add(time.Minute)}})
		for len(got) < 5 {
			prev := page(HistoryQuery{Mode: ModeBefore, Ref: Ref{MsgID: got[0]}})
			if len(prev) == 0 {
				break
			}
			got = append(prev, got...)
		}
		if d := cmp.Diff([]string{"x0", "x1", "x2", "x3", "x4"}, got); d != "" {
			t.Errorf("BEFORE timestamp, then BEFORE msgid (-want +got):\n%s", d)
		}
	})
}

func TestHistory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, ctx := open(t, b.newDSN(t)), testCtx(t)
		// m0..m9 in #chan at base+0..9 s, interleaved with noise in #other and a DM.
		for i := 0; i < 10; i++ {
			for _, e := range []*Event{
				ev("n1", fmt.Sprintf("m%d", i), i, KindPrivmsg, "alice!a@h", "#chan", "hi"),
				ev("n2", fmt.Sprintf("o%d", i), i, KindPrivmsg, "bob!b@h", "#other", "noise"),
			} {
				if err := s.Append(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i, e := range []*Event{
			ev("n1", "j0", 9, KindJoin, "carol!c@h", "#chan", ""),
			ev("n1", "p0", 9, KindPrivmsg, "carol!c@h", "#chan", "hi all"),
			ev("n1", "d0", 3, KindPrivmsg, "Alice!a@h", "bob", "to bob"),
			ev("n2", "d1", 4, KindNotice, "bob!b@h", "ALICE", "to alice"),
		} {
			_ = i
			if err := s.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		at := func(i int) Ref { return Ref{Time: base.Add(time.Duration(i) * time.Second)} }
		id := func(s string) Ref { return Ref{MsgID: s} }
		for _, tc := range []struct {
			name string
			q    HistoryQuery
			want []string
			err  error
		}{
			{"latest star", HistoryQuery{Mode: ModeLatest, Limit: 3}, []string{"m9", "j0", "p0"}, nil},
			{"latest star all", HistoryQuery{Mode: ModeLatest, Limit: 100},
				[]string{"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "j0", "p0"}, nil},
			{"latest after msgid", HistoryQuery{Mode: ModeLatest, Ref: id("m5"), Limit: 100},
				[]string{"m6", "m7", "m8", "m9", "j0", "p0"}, nil},
			{"latest after msgid limited", HistoryQuery{Mode: ModeLatest, Ref: id("m5"), Limit: 2}, []string{"j0", "p0"}, nil},
			{"latest after time", HistoryQuery{Mode: ModeLatest, Ref: at(7), Limit: 5}, []string{"m8", "m9", "j0", "p0"}, nil},
			{"before msgid", HistoryQuery{Mode: ModeBefore, Ref: id("m5"), Limit: 3}, []string{"m2", "m3", "m4"}, nil},
			{"before time", HistoryQuery{Mode: ModeBefore, Ref: at(5), Limit: 3}, []string{"m2", "m3", "m4"}, nil},
			{"before first", HistoryQuery{Mode: ModeBefore, Ref: id("m0"), Limit: 3}, []string{}, nil},
			{"after msgid", HistoryQuery{Mode: ModeAfter, Ref: id("m5"), Limit: 2}, []string{"m6", "m7"}, nil},
			{"after time", HistoryQuery{Mode: ModeAfter, Ref: at(5), Limit: 2}, []string{"m6", "m7"}, nil},
			{"around msgid", HistoryQuery{Mode: ModeAround, Ref: id("m5"), Limit: 4}, []string{"m3", "m4", "m5", "m6"}, nil},
			{"around time", HistoryQuery{Mode: ModeAround, Ref: at(5), Limit: 3}, []string{"m4", "m5", "m6"}, nil},
			{"around near start", HistoryQuery{Mode: ModeAround, Ref: id("m0"), Limit: 4}, []string{"m0", "m1", "m2", "m3"}, nil},
			{"between ascending", HistoryQuery{Mode: ModeBetween, Ref: id("m2"), Ref2: id("m7"), Limit: 100},
				[]string{"m3", "m4", "m5", "m6"}, nil},
			{"between ascending limited", HistoryQuery{Mode: ModeBetween, Ref: id("m2"), Ref2: id("m7"), Limit: 2},
				[]string{"m3", "m4"}, nil},
			{"between descending limited", HistoryQuery{Mode: ModeBetween, Ref: id("m7"), Ref2: id("m2"), Limit: 2},
				[]string{"m5", "m6"}, nil},
			{"between time and msgid", HistoryQuery{Mode: ModeBetween, Ref: at(2), Ref2: id("m7"), Limit: 100},
				[]string{"m3", "m4", "m5", "m6"}, nil},
			{"between msgid and time, descending", HistoryQuery{Mode: ModeBetween, Ref: id("m7"), Ref2: at(2), Limit: 1},
				[]string{"m6"}, nil},
			{"latest messages only", HistoryQuery{Mode: ModeLatest, Limit: 2, Kinds: []Kind{KindNotice, KindPrivmsg}},
				[]string{"m9", "p0"}, nil},
			{"after a join, messages only", HistoryQuery{Mode: ModeAfter, Ref: id("j0"), Limit: 2, Kinds: []Kind{KindPrivmsg}},
				[]string{"p0"}, nil},
			{"before a join, messages only", HistoryQuery{Mode: ModeBefore, Ref: id("j0"), Limit: 2, Kinds: []Kind{KindPrivmsg}},
				[]string{"m8", "m9"}, nil},
			{"joins only", HistoryQuery{Mode: ModeLatest, Limit: 5, Kinds: []Kind{KindJoin}}, []string{"j0"}, nil},
			{"msgid of another target", HistoryQuery{Mode: ModeAfter, Ref: id("o3"), Limit: 5}, nil, ErrNotFound},
			{"unknown msgid", HistoryQuery{Mode: ModeBefore, Ref: id("nope"), Limit: 5}, nil, ErrNotFound},
			{"zero limit", HistoryQuery{Mode: ModeLatest}, nil, ErrBadQuery},
			{"missing ref", HistoryQuery{Mode: ModeBefore, Limit: 5}, nil, ErrBadQuery},
			{"missing second ref", HistoryQuery{Mode: ModeBetween, Ref: id("m1"), Limit: 5}, nil, ErrBadQuery},
			{"bad mode", HistoryQuery{Mode: "SIDEWAYS", Ref: id("m1"), Limit: 5}, nil, ErrBadQuery},
		} {
			tc.q.Target = "#chan"
			got, err := s.History(ctx, tc.q)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Errorf("%s: error %v, want %v", tc.name, err, tc.err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if d := cmp.Diff(tc.want, msgids(got)); d != "" {
				t.Errorf("%s (-want +got):\n%s", tc.name, d)
			}
		}

		dm, err := s.History(ctx, HistoryQuery{Target: DMKey("bob", "alice"), Mode: ModeLatest, Limit: 10})
		if err != nil || !cmp.Equal([]string{"d0", "d1"}, msgids(dm)) {
			t.Errorf("DM history = %v, %v", msgids(dm), err)
		}
		if len(dm) == 2 && (!dm[0].Time.Equal(base.Add(3*time.Second)) || dm[0].Time.Location() != time.UTC) {
			t.Errorf("time not preserved: %v", dm[0].Time)
		}

		for _, nick := range []string{"alice", "BOB"} {
			conv, err := s.Conversations(ctx, nick)
			if err != nil || !cmp.Equal([]string{"alice,bob"}, conv) {
				t.Errorf("Conversations(%s) = %v, %v", nick, conv, err)
			}
		}
		if conv, err := s.Conversations(ctx, "carol"); err != nil || len(conv) != 0 {
			t.Errorf("Conversations(carol) = %v, %v", conv, err)
		}

		keys := []string{"#chan", "#other", "alice,bob", "#empty"}
		tgts, err := s.Targets(ctx, keys, base.Add(-time.Hour), base.Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		// #chan and #other both end at base+9s: ties break by key.
		want := []TargetInfo{
			{"alice,bob", base.Add(4 * time.Second)},
			{"#chan", base.Add(9 * time.Second)},
			{"#other", base.Add(9 * time.Second)},
		}
		if d := cmp.Diff(want, tgts); d != "" {
			t.Errorf("Targets (-want +got):\n%s", d)
		}
		// Before base+5s all three end at base+4s; the tie breaks by key.
		tgts, err = s.Targets(ctx, keys, base.Add(-time.Hour), base.Add(5*time.Second), 1)
		if err != nil || len(tgts) != 1 || tgts[0].Target != "#chan" || !tgts[0].Latest.Equal(base.Add(4*time.Second)) {
			t.Errorf("Targets up to base+5s, limit 1 = %v, %v", tgts, err)
		}
		// Reversed bounds count from the first: the newest one.
		tgts, err = s.Targets(ctx, keys, base.Add(time.Hour), base.Add(-time.Hour), 1)
		if err != nil || len(tgts) != 1 || tgts[0].Target != "#other" && tgts[0].Target != "#chan" {
			t.Errorf("Targets reversed, limit 1 = %v, %v", tgts, err)
		}
	})
}

func TestPresence(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, ctx := open(t, b.newDSN(t)), testCtx(t)
		if err := s.Heartbeat(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		if err := s.Heartbeat(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		alice := Session{ID: "s1", Node: "n1", Nick: "Alice", User: "a", Host: "h1", Account: "alice", Realname: "A", Since: base}
		bob := Session{ID: "s2", Node: "n1", Nick: "bob", User: "b", Host: "h2", Since: base}
		for _, ss := range []Session{alice, bob} {
			if err := s.ClaimNick(ctx, ss); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			name string
			ss   Session
			want error
		}{
			{"same nick other case", Session{ID: "s3", Node: "n2", Nick: "ALICE"}, ErrNickInUse},
			{"same session id", Session{ID: "s1", Node: "n1", Nick: "carol"}, ErrExists},
		} {
			if err := s.ClaimNick(ctx, tc.ss); !errors.Is(err, tc.want) {
				t.Errorf("ClaimNick %s: %v, want %v", tc.name, err, tc.want)
			}
		}
		if err := s.RenameNick(ctx, "s1", "BOB"); !errors.Is(err, ErrNickInUse) {
			t.Errorf("rename to taken nick: %v", err)
		}
		if err := s.RenameNick(ctx, "s1", "ALICE"); err != nil {
			t.Errorf("case-only rename: %v", err)
		}
		if err := s.RenameNick(ctx, "s1", "ALICE"); err != nil {
			t.Errorf("rename to the current nick: %v", err)
		}
		if err := s.RenameNick(ctx, "nope", "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("rename unknown session: %v", err)
		}
		alice.Nick = "ALICE"

		sess, err := s.Sessions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]Session{alice, bob}, sess); d != "" {
			t.Errorf("Sessions (-want +got):\n%s", d)
		}

		for _, m := range []Member{{Channel: "#Go", SessionID: "s1", Modes: "o"}, {Channel: "#go", SessionID: "s2"},
			{Channel: "#rust", SessionID: "s2"}} {
			if err := s.Join(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Join(ctx, Member{Channel: "#go", SessionID: "s1"}); err != nil {
			t.Errorf("re-join: %v", err)
		}
		if err := s.Join(ctx, Member{Channel: "#go", SessionID: "ghost"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("join of unknown session: %v", err)
		}
		if err := s.SetMemberModes(ctx, "#GO", "s2", "v"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetMemberModes(ctx, "#go", "s2", "v"); err != nil {
			t.Errorf("SetMemberModes to the same value: %v", err)
		}
		if err := s.SetMemberModes(ctx, "#elm", "s2", "v"); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetMemberModes non-member: %v", err)
		}
		mem, err := s.Members(ctx, "#gO")
		if err != nil {
			t.Fatal(err)
		}
		// Re-join kept alice's "o"; members come with their current nick, ordered by it.
		want := []Member{{"#Go", "s1", "ALICE", "o"}, {"#go", "s2", "bob", "v"}}
		if d := cmp.Diff(want, mem); d != "" {
			t.Errorf("Members (-want +got):\n%s", d)
		}
		all, err := s.AllMembers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// bob created #rust by joining it, so he is its operator.
		if d := cmp.Diff(append(want, Member{"#rust", "s2", "bob", "o"}), all); d != "" {
			t.Errorf("AllMembers (-want +got):\n%s", d)
		}
		if err := s.Part(ctx, "#GO", "s2"); err != nil {
			t.Fatal(err)
		}
		if err := s.Part(ctx, "#go", "s2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second Part: %v", err)
		}
		if err := s.ReleaseSession(ctx, "s1"); err != nil {
			t.Fatal(err)
		}
		if err := s.ReleaseSession(ctx, "s1"); err != nil {
			t.Errorf("second ReleaseSession: %v", err)
		}
		if mem, err := s.Members(ctx, "#go"); err != nil || len(mem) != 0 {
			t.Errorf("Members after release = %v, %v", mem, err)
		}
		// The nick is free again.
		if err := s.ClaimNick(ctx, Session{ID: "s9", Node: "n2", Nick: "alice"}); err != nil {
			t.Errorf("claim released nick: %v", err)
		}
	})
}

// ageNode makes node's heartbeat look d old, as if the node had stopped beating d ago.
func ageNode(t *testing.T, s *sqlStore, node string, d time.Duration) {
	t.Helper()
	res, err := s.w.ExecContext(testCtx(t), `UPDATE nodes SET heartbeat = heartbeat - ? WHERE node = ?`, d.Microseconds(), node)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("ageNode %s: %d rows", node, n)
	}
}

func TestReapDead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, ctx := open(t, b.newDSN(t)), testCtx(t)
		for _, n := range []string{"dead", "live", "self"} {
			if err := s.Heartbeat(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		d1 := Session{ID: "d1", Node: "dead", Nick: "ghost1", Since: base}
		d2 := Session{ID: "d2", Node: "dead", Nick: "ghost2", Since: base}
		l1 := Session{ID: "l1", Node: "live", Nick: "alive", Since: base}
		for _, ss := range []Session{d1, d2, l1} {
			if err := s.ClaimNick(ctx, ss); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range []Member{{Channel: "#a", SessionID: "d1"}, {Channel: "#B", SessionID: "d1"}, {Channel: "#a", SessionID: "l1"}} {
			if err := s.Join(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		// Nothing is stale yet.
		if r, err := s.ReapDead(ctx, "self", time.Hour); err != nil || len(r) != 0 {
			t.Fatalf("ReapDead with fresh nodes = %v, %v", r, err)
		}
		ageNode(t, s, "dead", 2*time.Hour)
		ageNode(t, s, "self", 2*time.Hour) // a reaper never reaps itself
		got, err := s.ReapDead(ctx, "self", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		want := []Reaped{{Session: d1, Channels: []string{"#a", "#B"}}, {Session: d2}}
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("ReapDead (-want +got):\n%s", d)
		}
		if r, err := s.ReapDead(ctx, "self", time.Hour); err != nil || len(r) != 0 {
			t.Errorf("second ReapDead = %v, %v; want nothing", r, err)
		}
		sess, _ := s.Sessions(ctx)
		if d := cmp.Diff([]Session{l1}, sess); d != "" {
			t.Errorf("sessions after reaping (-want +got):\n%s", d)
		}
		mem, _ := s.Members(ctx, "#a")
		if len(mem) != 1 || mem[0].SessionID != "l1" {
			t.Errorf("members of #a after reaping = %v", mem)
		}
		if err := s.ClaimNick(ctx, Session{ID: "n1", Node: "live", Nick: "GHOST1"}); err != nil {
			t.Errorf("reaped nick not free: %v", err)
		}
		// The dead node comes back: told once that it was reaped.
		if err := s.Heartbeat(ctx, "dead"); !errors.Is(err, ErrReaped) {
			t.Errorf("Heartbeat of reaped node: %v, want ErrReaped", err)
		}
		if err := s.Heartbeat(ctx, "dead"); err != nil {
			t.Errorf("second Heartbeat of reaped node: %v", err)
		}
	})
}
