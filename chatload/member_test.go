package chatload

import (
	"testing"
	"time"
)

func TestBodyGolden(t *testing.T) {
	b := body{run: "cabc", seq: 42, intended: time.Unix(0, 1764226800000000123), server: 1}
	const want = "cabc 42 1764226800000000123 1 xxxxxxx"
	if got := b.text(len(want)); got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	for _, bad := range []string{
		"cother 42 1 0",           // another run's history
		"cabc probe #cabc-0",      // the barrier probe
		"cabc -1 5 0",             // negative sequence
		"cabc 1 2",                // too short
		"cabc 1 notanumber 0 pad", // bad time
	} {
		if _, ok := parseBody("cabc", bad); ok {
			t.Errorf("parseBody(%q) accepted", bad)
		}
	}
}

// FuzzBodyRoundTrip: every body chatload writes parses back to itself, at
// any padding size.
func FuzzBodyRoundTrip(f *testing.F) {
	f.Add("cabc", int64(0), int64(1764226800000000000), 0, 64)
	f.Add("x", int64(1<<40), int64(-5), 3, 0)
	f.Fuzz(func(t *testing.T, run string, seq, ns int64, server, size int) {
		if run == "" || seq < 0 || server < 0 || size > 1<<16 {
			return
		}
		for _, c := range run {
			if c == ' ' || c == '\r' || c == '\n' || c == 0 {
				return
			}
		}
		in := body{run: run, seq: seq, intended: time.Unix(0, ns), server: server}
		out, ok := parseBody(run, in.text(size))
		if !ok || out.seq != in.seq || !out.intended.Equal(in.intended) || out.server != in.server || out.run != in.run {
			t.Fatalf("round trip of %+v: got %+v ok=%v", in, out, ok)
		}
	})
}

func TestBitset(t *testing.T) {
	var b bitset
	for _, i := range []int64{0, 63, 64, 1000} {
		b.set(i)
	}
	b.set(63)
	for _, i := range []int64{0, 63, 64, 1000} {
		if !b.has(i) {
			t.Errorf("has(%d) = false", i)
		}
	}
	if b.has(1) || b.has(5000) || b.count() != 4 {
		t.Errorf("has(1)=%v has(5000)=%v count=%d", b.has(1), b.has(5000), b.count())
	}
	b.clear(64)
	b.clear(1 << 20) // beyond the end: no-op
	if b.has(64) || !b.has(63) || b.count() != 3 {
		t.Errorf("after clear(64): has(64)=%v has(63)=%v count=%d", b.has(64), b.has(63), b.count())
	}
}

// TestLocalIdxNumbersEachChannelDensely: within a channel the local index
// is a bijection onto 0..n-1, whatever the split of senders over channels.
func TestLocalIdxNumbersEachChannelDensely(t *testing.T) {
	for _, tc := range []struct{ channels, members, senders int }{
		{1, 3, 1}, {2, 4, 2}, {3, 5, 7}, {4, 2, 3}, {2, 6, 5},
	} {
		cfg := SteadyConfig{Servers: []string{"x:1"}, Channels: tc.channels, Members: tc.members,
			Senders: tc.senders, Rate: 97, Duration: time.Second, NickPrefix: "c"}
		r := newChatRun(cfg)
		seen := make([]map[int64]bool, tc.channels)
		for i := range seen {
			seen[i] = map[int64]bool{}
		}
		for seq := int64(0); seq < r.totalSeqs; seq++ {
			ch := r.senders[seq%int64(tc.senders)].ch
			li := r.localIdx(seq)
			if seen[ch][li] {
				t.Fatalf("%+v: local index %d of channel %d used twice", tc, li, ch)
			}
			seen[ch][li] = true
		}
		for ch, s := range seen {
			for i := int64(0); i < int64(len(s)); i++ {
				if !s[i] {
					t.Errorf("%+v: channel %d: index %d unused among %d (not dense)", tc, ch, i, len(s))
				}
			}
		}
	}
}
