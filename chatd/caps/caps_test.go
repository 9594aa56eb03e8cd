package caps

import (
	"fmt"
	"testing"
)

// TestRenderKeyDistinct: every subset of Render gets its own key, within
// RenderVariants, and capabilities outside Render do not change it.
func TestRenderKeyDistinct(t *testing.T) {
	seen := map[int]Set{}
	bits := []Set{ServerTime, MessageTags, AccountTag, ExtendedJoin, Multiline}
	for mask := 0; mask < 1<<len(bits); mask++ {
		var s Set
		for i, b := range bits {
			if mask&(1<<i) != 0 {
				s |= b
			}
		}
		k := RenderKey(s)
		if k < 0 || k >= RenderVariants {
			t.Fatalf("RenderKey(%b) = %d, outside 0..%d", s, k, RenderVariants-1)
		}
		if prev, dup := seen[k]; dup {
			t.Errorf("RenderKey(%b) = RenderKey(%b) = %d", s, prev, k)
		}
		seen[k] = s
		if RenderKey(s|Batch|EchoMessage|AwayNotify) != k {
			t.Errorf("non-render capabilities change RenderKey(%b)", s)
		}
	}
}

// TestSupportedNames: names are unique and Lookup finds each.
func TestSupportedNames(t *testing.T) {
	names := map[string]bool{}
	for _, ci := range Supported {
		if names[ci.Name] {
			t.Errorf("%s listed twice", ci.Name)
		}
		names[ci.Name] = true
		if got, ok := Lookup(ci.Name); !ok || got.Bit != ci.Bit {
			t.Errorf("Lookup(%q) = %v, %v", ci.Name, got, ok)
		}
	}
	if _, ok := Lookup("no-such-cap"); ok {
		t.Error("Lookup of an unknown name succeeded")
	}
}

// TestMultilineValue: CAP LS 302 advertises the limits the server enforces.
func TestMultilineValue(t *testing.T) {
	ci, ok := Lookup("draft/multiline")
	want := fmt.Sprintf("max-bytes=%d,max-lines=%d", MultilineMaxBytes, MultilineMaxLines)
	if !ok || ci.Value != want {
		t.Errorf("draft/multiline value = %q, want %q", ci.Value, want)
	}
}
