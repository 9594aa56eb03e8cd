package nft

import (
	"encoding/binary"
	"hash/fnv"
	"net/netip"
)

// Bucket tables. A scheduler becomes a list of buckets, each naming the
// index of a destination; the rule picks a bucket with numgen (rr, wrr) or
// a hash of the packet (sh, mh) and jumps to that destination's chain. The
// tables depend only on the destinations, their order and weights, so the
// two balancers of a VRRP pair build identical tables from the same config,
// and a flow that moves from one to the other on failover lands on the same
// real server.

// Table sizes of the hashing schedulers.
const (
	shBuckets = 256 // like IPVS's ip_vs_sh (IP_VS_SH_TAB_BITS 8)
	mhBuckets = 251 // a prime, as Maglev's lookup table needs (IPVS ip_vs_mh uses 251 by default)
	maxWRR    = 1024
)

// weighted is one destination as the bucket builders see it.
type weighted struct {
	addr   netip.AddrPort
	weight int
}

// rrBuckets gives each destination with a positive weight one bucket.
func rrBuckets(ds []weighted) []int {
	var out []int
	for i, d := range ds {
		if d.weight > 0 {
			out = append(out, i)
		}
	}
	return out
}

// wrrBuckets is the smooth weighted round-robin sequence (each step, every
// destination gains its weight and the richest pays the total), so that
// weights 5:1:1 give a a b a c a a rather than a a a a a b c. Weights are
// divided by their greatest common divisor and, if their sum is still above
// maxWRR, scaled down (keeping every positive weight at least 1).
func wrrBuckets(ds []weighted) []int {
	ws := make([]int, len(ds))
	g, total := 0, 0
	for i, d := range ds {
		if d.weight > 0 {
			ws[i] = d.weight
			g = gcd(g, d.weight)
		}
	}
	if g == 0 {
		return nil
	}
	for i := range ws {
		ws[i] /= g
		total += ws[i]
	}
	if total > maxWRR {
		scaled := 0
		for i := range ws {
			if ws[i] > 0 {
				ws[i] = max(1, ws[i]*maxWRR/total)
				scaled += ws[i]
			}
		}
		total = scaled
	}
	cur := make([]int, len(ws))
	out := make([]int, 0, total)
	for range total {
		best := -1
		for i, w := range ws {
			if w == 0 {
				continue
			}
			cur[i] += w
			if best < 0 || cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		out = append(out, best)
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// shBucketsFor fills 256 buckets the way IPVS's source-hash scheduler does
// (ip_vs_sh_reassign): destinations in turn, each taking as many
// consecutive buckets as its weight before the next one takes over.
func shBucketsFor(ds []weighted) []int {
	var live []int
	for i, d := range ds {
		if d.weight > 0 {
			live = append(live, i)
		}
	}
	if len(live) == 0 {
		return nil
	}
	out := make([]int, shBuckets)
	k, taken := 0, 0
	for b := range out {
		out[b] = live[k]
		taken++
		if taken >= ds[live[k]].weight {
			k, taken = (k+1)%len(live), 0
		}
	}
	return out
}

// mhBucketsFor builds a Maglev lookup table (Eisenbud et al., "Maglev: A
// Fast and Reliable Software Network Load Balancer", NSDI 2016, §3.4): each
// destination walks its own permutation of the buckets, derived from a hash
// of its address, and claims the next free one in turn. Removing a
// destination moves only (about) the buckets it held, which is what keeps
// flows on their real servers when another server leaves. Weights give a
// destination that many turns per round, like IPVS's ip_vs_mh.
func mhBucketsFor(ds []weighted) []int {
	type perm struct{ offset, skip, next int }
	ps := make([]perm, len(ds))
	maxW := 0
	for i, d := range ds {
		h1, h2 := addrHashes(d.addr)
		ps[i] = perm{offset: int(h1 % mhBuckets), skip: int(h2%(mhBuckets-1)) + 1}
		maxW = max(maxW, d.weight)
	}
	if maxW == 0 {
		return nil
	}
	out := make([]int, mhBuckets)
	for b := range out {
		out[b] = -1
	}
	filled := 0
	for filled < mhBuckets {
		for i, d := range ds {
			for turn := 0; turn < d.weight && filled < mhBuckets; turn++ {
				p := &ps[i]
				for {
					c := (p.offset + p.next*p.skip) % mhBuckets
					p.next++
					if out[c] < 0 {
						out[c] = i
						filled++
						break
					}
				}
			}
		}
	}
	return out
}

// addrHashes returns two independent hashes of a destination's address.
func addrHashes(a netip.AddrPort) (uint64, uint64) {
	b, _ := a.MarshalBinary()
	h := fnv.New64a()
	h.Write(b)
	h1 := h.Sum64()
	h.Write([]byte{0x5a})
	var x [8]byte
	binary.BigEndian.PutUint64(x[:], h1)
	h.Write(x[:])
	return h1, h.Sum64()
}

// serviceSeed is the jhash seed of a service: derived from its key, so that
// both balancers of a pair hash a flow alike.
func serviceSeed(key string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return h.Sum32()
}
