package store

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestMasks: the +e and +I lists are kept apart from each other and from
// bans, limited, case-insensitive, and survive a reopen.
func TestMasks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dsn := b.newDSN(t)
		s, ctx := open(t, dsn), testCtx(t)
		e1 := Ban{Channel: "#Go", Mask: "friend!*@*", SetBy: "op!u@h", SetAt: base}
		i1 := Ban{Channel: "#Go", Mask: "*!*@Trusted.example", SetBy: "op!u@h", SetAt: base.Add(time.Second)}
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
		if err := s.RemoveMask(ctx, ListExcept, "#GO", "friend!*@*"); err != nil {
			t.Errorf("RemoveMask: %v", err)
		}
		if err := s.RemoveMask(ctx, ListExcept, "#go", "friend!*@*"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second RemoveMask: %v, want ErrNotFound", err)
		}
	})
}
