package store

import (
	"errors"
	"testing"
)

// TestSessionPresence: UpdateSession's realname, away message and user
// modes are in the Snapshot a starting node loads, and go with the session.
func TestSessionPresence(t *testing.T) {
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
		if err := s.Commit(ctx, nil, func(tx Tx) error {
			return tx.UpdateSession("a", func(ss *Session) { ss.Realname, ss.Away, ss.Modes = "New Name", "lunch", "iw" })
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, nil, func(tx Tx) error {
			return tx.UpdateSession("nobody", func(*Session) {})
		}); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateSession of an unknown session: %v, want ErrNotFound", err)
		}
		snap, err := s.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]Session{}
		for _, ss := range snap.Sessions {
			got[ss.ID] = ss
		}
		if a := got["a"]; a.Realname != "New Name" || a.Away != "lunch" || a.Modes != "iw" {
			t.Errorf("session a in the snapshot = %+v", a)
		}
		if b := got["b"]; b.Away != "" || b.Modes != "" {
			t.Errorf("session b in the snapshot = %+v, want no presence", b)
		}
		if err := s.ReleaseSession(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if err := s.ClaimNick(ctx, session("a")); err != nil {
			t.Fatal(err)
		}
		snap, err = s.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ss := range snap.Sessions {
			if ss.ID == "a" && (ss.Away != "" || ss.Modes != "") {
				t.Errorf("a session registered again under a released id kept its presence: %+v", ss)
			}
		}
	})
}
