//go:build linux

package host

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/router"
	"github.com/hachat/hachat/vrrp/vrrptest"

	//lint:ignore SA1019 the project chose mdlayher/raw (a shim over mdlayher/packet on Linux); Announcer hides it
	"github.com/mdlayher/raw"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// readOne reads one packet or fails after a deadline (closing the conn).
func readOne(t *testing.T, c vrrp.Conn) vrrp.Packet {
	t.Helper()
	type res struct {
		p   vrrp.Packet
		err error
	}
	ch := make(chan res, 1)
	go func() {
		buf := make([]byte, 2048)
		p, err := c.ReadPacket(buf)
		ch <- res{p, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.p
	case <-time.After(5 * time.Second):
		c.Close()
		t.Fatal("no packet within 5s")
	}
	return vrrp.Packet{}
}

func TestRawConnInNamespaces(t *testing.T) {
	p := vrrptest.NewNSPair(t)
	for _, fam := range []struct {
		name     string
		v6       bool
		src, dst netip.Addr
		unicast  netip.Addr
	}{
		{"ipv4", false, netip.MustParseAddr("198.18.0.1"), vrrp.MulticastGroup4, netip.MustParseAddr("198.18.0.2")},
		{"ipv6", true, netip.MustParseAddr("fe80::a"), vrrp.MulticastGroup6, netip.MustParseAddr("fe80::b")},
	} {
		t.Run(fam.name, func(t *testing.T) {
			var ca, cb vrrp.Conn
			var err error
			vrrptest.In(t, p.A, func() { ca, err = ListenConn("eth0", fam.v6) })
			if err != nil {
				t.Fatal(err)
			}
			defer ca.Close()
			vrrptest.In(t, p.B, func() { cb, err = ListenConn("eth0", fam.v6) })
			if err != nil {
				t.Fatal(err)
			}
			defer cb.Close()
			vip := netip.MustParseAddr("198.18.0.100")
			if fam.v6 {
				vip = netip.MustParseAddr("2001:db8::100")
			}
			for _, dst := range []netip.Addr{fam.dst, fam.unicast} {
				a := &vrrp.Advert{VRID: 7, Priority: 150, MaxAdvertInt: 20 * time.Millisecond, Addresses: []netip.Addr{vip}}
				b, err := a.Marshal(fam.src, dst, vrrp.ChecksumPseudoHeader)
				if err != nil {
					t.Fatal(err)
				}
				if err := ca.WritePacket(b, fam.src, dst); err != nil {
					t.Fatal(err)
				}
				got := readOne(t, cb)
				if got.TTL != 255 || got.Src != fam.src || got.Dst != dst {
					t.Errorf("to %v: got src %v dst %v ttl %d", dst, got.Src, got.Dst, got.TTL)
				}
				adv, err := (&vrrp.RxPolicy{}).Check(got.Payload, got.Src, got.Dst, got.TTL)
				if err != nil {
					t.Fatalf("to %v: received advert refused: %v", dst, err)
				}
				if adv.VRID != 7 || adv.Priority != 150 || adv.Addresses[0] != vip {
					t.Errorf("to %v: advert %+v", dst, adv)
				}
			}
		})
	}
}

func TestNetlinkAddrsAndAnnounceInNamespaces(t *testing.T) {
	p := vrrptest.NewNSPair(t)
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
	am := NewNetlinkAddrs(h)
	v4 := netip.MustParsePrefix("198.18.0.100/24")
	v6 := netip.MustParsePrefix("2001:db8::100/64")
	for _, vp := range []netip.Prefix{v4, v6} {
		for range 2 { // adding twice is not an error
			if err := am.AddAddr("eth0", vp); err != nil {
				t.Fatal(err)
			}
		}
	}
	have, err := am.Addrs("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if !holds(have, v4) || !holds(have, v6) {
		t.Fatalf("addresses %v lack the VIPs", have)
	}
	src, err := router.SourceAddr(am, "eth0", false, []netip.Prefix{v4})
	if err != nil || src != netip.MustParseAddr("198.18.0.1") {
		t.Errorf("IPv4 source %v, %v; want 198.18.0.1", src, err)
	}
	src6, err := router.SourceAddr(am, "eth0", true, []netip.Prefix{v6})
	if err != nil || !src6.IsLinkLocalUnicast() {
		t.Errorf("IPv6 source %v, %v; want a link-local address", src6, err)
	}

	// The other side sees our gratuitous ARP and neighbour advertisement.
	var rx *raw.Conn
	vrrptest.In(t, p.B, func() {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			t.Fatal(err)
		}
		rx, err = raw.ListenPacket(ifi, 0x0003, nil) // ETH_P_ALL
		if err != nil {
			t.Fatal(err)
		}
	})
	defer rx.Close()
	ann := NewRawAnnouncer()
	defer ann.Close()
	vrrptest.In(t, p.A, func() {
		if err := ann.Announce("eth0", v4.Addr()); err != nil {
			t.Fatal(err)
		}
		if err := ann.Announce("eth0", v6.Addr()); err != nil {
			t.Fatal(err)
		}
	})
	var arps, nas int
	buf := make([]byte, 2048)
	rx.SetReadDeadline(time.Now().Add(5 * time.Second))
	for arps < 2 || nas < 1 {
		n, _, err := rx.ReadFrom(buf)
		if err != nil {
			t.Fatalf("got %d ARP and %d NA frames: %v", arps, nas, err)
		}
		pk := gopacket.NewPacket(buf[:n], layers.LayerTypeEthernet, gopacket.Default)
		if a, ok := pk.Layer(layers.LayerTypeARP).(*layers.ARP); ok && net.IP(a.SourceProtAddress).Equal(v4.Addr().AsSlice()) && net.IP(a.DstProtAddress).Equal(v4.Addr().AsSlice()) {
			arps++
		}
		if na, ok := pk.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement); ok && na.TargetAddress.Equal(v6.Addr().AsSlice()) {
			nas++
		}
	}

	for _, vp := range []netip.Prefix{v4, v6} {
		for range 2 { // removing twice is not an error
			if err := am.DelAddr("eth0", vp); err != nil {
				t.Fatal(err)
			}
		}
	}
	have, _ = am.Addrs("eth0")
	if holds(have, v4) || holds(have, v6) {
		t.Errorf("VIPs still present: %v", have)
	}
}

// holds reports whether have contains want's address (zone ignored).
func holds(have []netip.Prefix, want netip.Prefix) bool {
	return slices.ContainsFunc(have, func(h netip.Prefix) bool {
		return h.Addr().WithZone("") == want.Addr().WithZone("")
	})
}
