//go:build linux

package host

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/hachat/hachat/vrrp/router"
	"github.com/hachat/hachat/vrrp/vrrptest"
	"github.com/vishvananda/netlink"
)

// TestNetlinkVMACInNamespace: Ensure creates the macvlan down with the
// virtual MAC and sets the ARP sysctls, is idempotent, refuses an interface
// of the name that is something else; SetUp switches it; Delete removes it
// and then has nothing to do.
func TestNetlinkVMACInNamespace(t *testing.T) {
	p := vrrptest.NewNSPair(t)
	vrrptest.In(t, p.A, func() {
		v := NewNetlinkVMAC()
		mac := router.VirtualMAC(51, false)
		for range 2 {
			if err := v.Ensure("eth0", "vrrp.51", mac); err != nil {
				t.Fatal(err)
			}
		}
		l, err := netlink.LinkByName("vrrp.51")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := l.(*netlink.Macvlan); !ok || l.Attrs().HardwareAddr.String() != "00:00:5e:00:01:33" || l.Attrs().Flags&1 != 0 {
			t.Errorf("vrrp.51: %T %v flags %v, want a macvlan with 00:00:5e:00:01:33, down", l, l.Attrs().HardwareAddr, l.Attrs().Flags)
		}
		for path, want := range map[string]string{
			"ipv4/conf/eth0/arp_ignore": "1", "ipv4/conf/eth0/arp_announce": "2",
			"ipv4/conf/vrrp.51/arp_ignore": "1", "ipv4/conf/vrrp.51/rp_filter": "0",
		} {
			b, err := os.ReadFile("/proc/sys/net/" + path)
			if err != nil || strings.TrimSpace(string(b)) != want {
				t.Errorf("%s = %q (%v), want %s", path, b, err, want)
			}
		}
		if err := v.SetUp("vrrp.51", true); err != nil {
			t.Fatal(err)
		}
		if l, _ := netlink.LinkByName("vrrp.51"); l == nil || l.Attrs().Flags&1 == 0 {
			t.Error("vrrp.51 not up after SetUp")
		}
		// The announcer's socket for vrrp.51 must survive the interface
		// being deleted and created again, as on an instance restart.
		ann := NewRawAnnouncer()
		defer ann.Close()
		vip := netip.MustParseAddr("198.18.0.100")
		if err := ann.Announce("vrrp.51", vip); err != nil {
			t.Fatal(err)
		}
		if err := v.Delete("vrrp.51"); err != nil {
			t.Fatal(err)
		}
		if err := v.Ensure("eth0", "vrrp.51", mac); err != nil {
			t.Fatal(err)
		}
		if err := v.SetUp("vrrp.51", true); err != nil {
			t.Fatal(err)
		}
		if err := ann.Announce("vrrp.51", vip); err != nil {
			t.Errorf("announce on a re-created vrrp.51: %v", err)
		}
		if err := v.Ensure("eth0", "lo", mac); err == nil {
			t.Error("Ensure accepted lo as a virtual MAC interface")
		}
		for range 2 {
			if err := v.Delete("vrrp.51"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := netlink.LinkByName("vrrp.51"); err == nil {
			t.Error("vrrp.51 still there after Delete")
		}
	})
}
