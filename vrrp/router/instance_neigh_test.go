package router

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hachat/hachat/vrrp"
)

// flushRecorder is a recorder whose address manager also flushes
// unresolved neighbour entries.
type flushRecorder struct {
	*recorder
	unresolved []netip.Addr
	fail       error
}

func (r *flushRecorder) FlushUnresolvedNeighbors(ifn string) ([]netip.Addr, error) {
	r.add("flush-neigh " + ifn)
	d := r.unresolved
	r.unresolved = nil
	return d, r.fail
}

// TestTakeOverFlushesUnresolvedNeighborsFirst checks that a new Master drops
// the neighbour entries left unresolved while its link was down before it
// adds and announces the VIP: otherwise its first replies wait behind the
// stale entries' retransmit timer (up to 1 s) while clients already send
// to it. Resolved entries are the kernel's business and are not touched.
func TestTakeOverFlushesUnresolvedNeighborsFirst(t *testing.T) {
	client := netip.MustParseAddr("198.18.0.10")
	r := &flushRecorder{recorder: newRecorder(), unresolved: []netip.Addr{client}}
	var evs []InstanceEvent
	in, err := NewInstance(testConfig("vi", 100, srcA), InstanceDeps{Sender: r, Addrs: r, Announcer: r, OnEvent: func(e InstanceEvent) { evs = append(evs, e) }})
	if err != nil {
		t.Fatal(err)
	}
	in.start(rt0)
	if got := r.take(); len(got) != 0 {
		t.Fatalf("start-up calls %q, want none (a Backup serves no one)", got)
	}
	in.handleTimer(in.m.Deadline())
	want := []string{"flush-neigh eth0", "add " + vip.String(), "announce 198.18.0.100", "announce 198.18.0.100", "advert prio=100 dst=224.0.0.18"}
	if got := r.take(); !cmp.Equal(got, want) {
		t.Errorf("takeover calls:\n got %q\nwant %q", got, want)
	}
	var flushed []string
	for _, e := range evs {
		if e.Kind == "neighbors_flushed" {
			flushed = append(flushed, e.Detail)
		}
	}
	if want := []string{"[198.18.0.10]"}; !cmp.Equal(flushed, want) {
		t.Errorf("neighbors_flushed events %q, want %q", flushed, want)
	}
}

// TestTakeOverGoesOnWhenNeighborFlushFails checks that a failing flush is
// counted and reported but does not keep the VIP from being added.
func TestTakeOverGoesOnWhenNeighborFlushFails(t *testing.T) {
	r := &flushRecorder{recorder: newRecorder(), fail: errors.New("netlink: permission denied")}
	in, err := NewInstance(testConfig("vi", 100, srcA), InstanceDeps{Sender: r, Addrs: r, Announcer: r})
	if err != nil {
		t.Fatal(err)
	}
	in.start(rt0)
	in.handleTimer(in.m.Deadline())
	if in.m.State() != vrrp.Master || !r.addrs.Has("eth0", vip) {
		t.Errorf("state %v, vip held %v; want MASTER holding the VIP", in.m.State(), r.addrs.Has("eth0", vip))
	}
	if n := in.stats.AddrErrors.Load(); n != 1 {
		t.Errorf("AddrErrors = %d, want 1", n)
	}
}
