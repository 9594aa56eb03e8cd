package health

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseStatusRanges(t *testing.T) {
	tests := []struct {
		in   string
		want []StatusRange
		err  bool
	}{
		{in: "200", want: []StatusRange{{200, 200}}},
		{in: "200-299, 301", want: []StatusRange{{200, 299}, {301, 301}}},
		{in: " 100 - 599 ", want: []StatusRange{{100, 599}}},
		{in: "", err: true},
		{in: "2xx", err: true},
		{in: "99", err: true},
		{in: "600", err: true},
		{in: "300-200", err: true},
		{in: "200,", err: true},
		{in: "200-", err: true},
		{in: "200-300-400", err: true},
	}
	for _, tc := range tests {
		got, err := ParseStatusRanges(tc.in)
		if tc.err {
			if !errors.Is(err, ErrInvalidTarget) {
				t.Errorf("ParseStatusRanges(%q) = %v, %v; want ErrInvalidTarget", tc.in, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseStatusRanges(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseStatusRanges(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
	if got := StatusCodes(200, 204); !cmp.Equal(got, []StatusRange{{200, 200}, {204, 204}}) {
		t.Errorf("StatusCodes(200, 204) = %v", got)
	}
}

// FuzzParseStatusRanges checks that whatever parses formats back to a
// string that parses to the same ranges, and that every parsed range is
// valid.
func FuzzParseStatusRanges(f *testing.F) {
	for _, s := range []string{"200", "200-299,301", " 100 - 599 ", "2xx", "-", ",", "300-200"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseStatusRanges(s)
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.Lo < 100 || r.Hi > 599 || r.Lo > r.Hi {
				t.Fatalf("ParseStatusRanges(%q) returned invalid range %v", s, r)
			}
		}
		again, err := ParseStatusRanges(FormatStatusRanges(rs))
		if err != nil {
			t.Fatalf("formatted %q does not parse: %v", FormatStatusRanges(rs), err)
		}
		if !cmp.Equal(rs, again) {
			t.Fatalf("round trip of %q: %v then %v", s, rs, again)
		}
	})
}
