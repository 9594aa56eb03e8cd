package store

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBans(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dsn := b.newDSN(t)
		s, ctx := open(t, dsn), testCtx(t)
		b1 := Ban{Channel: "#Go", Mask: "*!*@Evil.example", SetBy: "op!u@h", SetAt: base}
		b2 := Ban{Channel: "#Go", Mask: "troll!*@*", SetBy: "op!u@h", SetAt: base.Add(time.Second)}
		other := Ban{Channel: "#zed", Mask: "*!*@*", SetBy: "z!u@h", SetAt: base}
		if err := s.AddBan(ctx, b1, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("AddBan on a channel that does not exist: %v, want ErrNotFound", err)
		}
		for _, c := range []string{"#Go", "#zed"} {
			if err := s.SaveChannel(ctx, Channel{Name: c, Modes: "nt"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, x := range []Ban{b2, b1, other} {
			if err := s.AddBan(ctx, x, 2); err != nil {
				t.Fatalf("AddBan(%+v): %v", x, err)
			}
		}
		if err := s.AddBan(ctx, Ban{Channel: "#go", Mask: "*!*@EVIL.EXAMPLE", SetAt: base}, 0); !errors.Is(err, ErrExists) {
			t.Errorf("AddBan of a mask differing only in case: %v, want ErrExists", err)
		}
		if err := s.AddBan(ctx, Ban{Channel: "#go", Mask: "x!*@*", SetAt: base}, 2); !errors.Is(err, ErrFull) {
			t.Errorf("AddBan beyond the limit of 2: %v, want ErrFull", err)
		}
		if err := s.AddBan(ctx, Ban{Channel: "nochan", Mask: "x"}, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("AddBan on a non-channel: %v, want ErrInvalid", err)
		}
		got, err := s.Bans(ctx, "#GO")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]Ban{b1, b2}, got); d != "" {
			t.Errorf("Bans(#GO) (-want +got):\n%s", d)
		}
		// Bans survive a reopen (they are what a restarting node bootstraps from).
		all, err := open(t, dsn).Bans(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]Ban{b1, b2, other}, all); d != "" {
			t.Errorf("Bans(\"\") after reopen (-want +got):\n%s", d)
		}
		if err := s.RemoveBan(ctx, "#go", "*!*@evil.EXAMPLE"); err != nil {
			t.Errorf("RemoveBan: %v", err)
		}
		if err := s.RemoveBan(ctx, "#go", "*!*@evil.example"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second RemoveBan: %v, want ErrNotFound", err)
		}
		got, err = s.Bans(ctx, "#go")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]Ban{b2}, got); d != "" {
			t.Errorf("Bans(#go) after removal (-want +got):\n%s", d)
		}
	})
}
