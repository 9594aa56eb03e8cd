package store

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestMasks: the +e and +I lists are kept apart from each other and from
// bans, limited, case-insensitive, in the snapshot, and survive a reopen.
func TestMasks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dsn := b.newDSN(t)
		s, ctx := open(t, dsn), testCtx(t)
		e1 := Ban{Channel: "#Go", Mask: "friend!*@*", SetBy: "op!u@h", SetAt: base}
		i1 := Ban{Channel: "#Go", Mask: "*!*@Trusted.example", SetBy: "op!u@h", SetAt: base.Add(time.Second)}
		if err := s.AddMask(ctx, ListExcept, e1, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("AddMask on a channel that does not exist: %v, want ErrNotFound", err)
		}
		if err := s.SaveChannel(ctx, Channel{Name: "#Go", Modes: "nt"}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMask(ctx, ListExcept, e1, 1); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMask(ctx, ListInvex, i1, 1); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMask(ctx, ListExcept, Ban{Channel: "#go", Mask: "FRIEND!*@*", SetAt: base}, 0); !errors.Is(err, ErrExists) {
			t.Errorf("AddMask of a mask differing only in case: %v, want ErrExists", err)
		}
		if err := s.AddMask(ctx, ListExcept, Ban{Channel: "#go", Mask: "x!*@*", SetAt: base}, 1); !errors.Is(err, ErrFull) {
			t.Errorf("AddMask beyond the limit: %v, want ErrFull", err)
		}
		if err := s.AddMask(ctx, "b", e1, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("AddMask to list b: %v, want ErrInvalid", err)
		}
		if bans, err := s.Bans(ctx, "#go"); err != nil || len(bans) != 0 {
			t.Errorf("Bans = %v, %v; want none", bans, err)
		}
		got, err := open(t, dsn).Masks(ctx, ListInvex, "")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]Ban{i1}, got); d != "" {
			t.Errorf("Masks(I) after reopen (-want +got):\n%s", d)
		}
		snap, err := s.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]Ban{e1}, snap.Excepts); d != "" {
			t.Errorf("Snapshot.Excepts (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]Ban{i1}, snap.Invex); d != "" {
			t.Errorf("Snapshot.Invex (-want +got):\n%s", d)
		}
		if err := s.RemoveMask(ctx, ListExcept, "#GO", "friend!*@*"); err != nil {
			t.Errorf("RemoveMask: %v", err)
		}
		if err := s.RemoveMask(ctx, ListExcept, "#go", "friend!*@*"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second RemoveMask: %v, want ErrNotFound", err)
		}
	})
}

// TestMasksGoWithChannel (RFC 2812 §1.3): a channel's +e and +I lists go in
// the transaction that removes its last member, as its bans do.
func TestMasksGoWithChannel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, ctx := open(t, b.newDSN(t)), testCtx(t)
		if err := s.Heartbeat(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		if err := s.ClaimNick(ctx, session("a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Join(ctx, Member{Channel: "#m", SessionID: "a"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, nil, func(tx Tx) error {
			if err := tx.AddMask(ListExcept, Ban{Channel: "#m", Mask: "e!*@*"}, 0); err != nil {
				return err
			}
			return tx.AddMask(ListInvex, Ban{Channel: "#m", Mask: "i!*@*"}, 0)
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Part(ctx, "#m", "a"); err != nil {
			t.Fatal(err)
		}
		for _, l := range []string{ListExcept, ListInvex} {
			if ms, err := s.Masks(ctx, l, "#m"); err != nil || len(ms) != 0 {
				t.Errorf("+%s of #m after it ceased: %v, %v", l, ms, err)
			}
		}
	})
}
