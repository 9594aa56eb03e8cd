//go:build linux

package host

import (
	"net"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hachat/hachat/vrrp/vrrptest"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// TestFlushUnresolvedNeighborsInNamespace checks NetlinkAddrs against the
// kernel: an INCOMPLETE entry (a datagram to an address nobody answers) is
// deleted, a STALE and a PERMANENT entry are kept.
func TestFlushUnresolvedNeighborsInNamespace(t *testing.T) {
	p := vrrptest.NewNSPair(t)
	for _, args := range [][]string{
		{"-n", p.A, "neigh", "replace", "198.18.0.50", "lladdr", "02:00:00:00:00:50", "nud", "stale", "dev", "eth0"},
		{"-n", p.A, "neigh", "replace", "198.18.0.51", "lladdr", "02:00:00:00:00:51", "nud", "permanent", "dev", "eth0"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %q: %v\n%s", args, err, out)
		}
	}
	nsA, err := netns.GetFromName(p.A)
	if err != nil {
		t.Fatal(err)
	}
	defer nsA.Close()
	h, err := netlink.NewHandleAt(nsA)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	link, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	lost := netip.MustParseAddr("198.18.0.77")
	vrrptest.In(t, p.A, func() {
		c, err := net.Dial("udp4", net.JoinHostPort(lost.String(), "9"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	})
	states := func() map[netip.Addr]int {
		l, err := h.NeighList(link.Attrs().Index, netlink.FAMILY_V4)
		if err != nil {
			t.Fatal(err)
		}
		m := map[netip.Addr]int{}
		for _, e := range l {
			a, _ := netip.AddrFromSlice(e.IP)
			m[a.Unmap()] = e.State
		}
		return m
	}
	for deadline := time.Now().Add(5 * time.Second); states()[lost]&unresolvedStates == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("no unresolved entry for %v: %v", lost, states())
		}
		time.Sleep(5 * time.Millisecond)
	}

	deleted, err := NewNetlinkAddrs(h).FlushUnresolvedNeighbors("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if want := []netip.Addr{lost}; !cmp.Equal(deleted, want, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })) {
		t.Errorf("deleted %v, want %v", deleted, want)
	}
	got := states()
	if _, ok := got[lost]; ok {
		t.Errorf("%v still in the table: %v", lost, got)
	}
	for _, keep := range []string{"198.18.0.50", "198.18.0.51"} {
		if _, ok := got[netip.MustParseAddr(keep)]; !ok {
			t.Errorf("resolved entry %s was deleted: %v", keep, got)
		}
	}
	if _, err := NewNetlinkAddrs(h).FlushUnresolvedNeighbors("nosuch0"); err == nil {
		t.Error("flush on a missing interface did not fail")
	}
}
