package nft

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ws(weights ...int) []weighted {
	out := make([]weighted, len(weights))
	for i, w := range weights {
		out[i] = weighted{netip.MustParseAddrPort(fmt.Sprintf("198.18.2.%d:80", 21+i)), w}
	}
	return out
}

func count(b []int, n int) []int {
	c := make([]int, n)
	for _, x := range b {
		c[x]++
	}
	return c
}

func TestRRBuckets(t *testing.T) {
	if diff := cmp.Diff([]int{0, 2}, rrBuckets(ws(1, 0, 5))); diff != "" {
		t.Error(diff)
	}
	if rrBuckets(ws(0, 0)) != nil {
		t.Error("no live destination must give no buckets")
	}
}

func TestWRRBucketsSmooth(t *testing.T) {
	if diff := cmp.Diff([]int{0, 1, 0, 2, 0}, wrrBuckets(ws(3, 1, 1))); diff != "" {
		t.Errorf("3:1:1 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{0, 1, 0}, wrrBuckets(ws(4, 2, 0))); diff != "" {
		t.Errorf("4:2:0 reduced by gcd (-want +got):\n%s", diff)
	}
	b := wrrBuckets(ws(5000, 1))
	if len(b) > maxWRR+1 || count(b, 2)[1] != 1 {
		t.Errorf("scaled table: len %d, counts %v", len(b), count(b, 2))
	}
}

func TestSHBucketsFollowWeights(t *testing.T) {
	b := shBucketsFor(ws(1, 3, 0))
	if len(b) != shBuckets {
		t.Fatalf("len %d", len(b))
	}
	if c := count(b, 3); c[0] != 64 || c[1] != 192 || c[2] != 0 {
		t.Errorf("counts %v, want 64/192/0", c)
	}
}

// TestMHMinimalDisruption checks the Maglev property the failover story
// rests on: removing one of four servers moves only the buckets it held
// (plus a few), and the other servers keep most of theirs.
func TestMHMinimalDisruption(t *testing.T) {
	all := ws(1, 1, 1, 1)
	before := mhBucketsFor(all)
	if c := count(before, 4); c[0] < 50 || c[3] < 50 {
		t.Errorf("unbalanced: %v", c)
	}
	after := mhBucketsFor([]weighted{all[0], all[1], all[3]}) // server 2 gone
	idx := []int{0, 1, 3}
	moved := 0
	for b := range before {
		if before[b] != 2 && idx[after[b]] != before[b] {
			moved++
		}
	}
	if moved > mhBuckets/10 {
		t.Errorf("%d of the surviving servers' buckets moved", moved)
	}
	if again := mhBucketsFor(all); !cmp.Equal(before, again) {
		t.Error("the table is not deterministic")
	}
}

func TestMHWeights(t *testing.T) {
	c := count(mhBucketsFor(ws(1, 2, 0)), 3)
	if c[2] != 0 || c[1] < 150 || c[0] < 70 {
		t.Errorf("counts %v, want about 84/167/0", c)
	}
}
