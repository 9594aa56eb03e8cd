//go:build linux

package vrrp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	//lint:ignore SA1019 the project chose mdlayher/raw (a shim over mdlayher/packet on Linux); Announcer hides it
	"github.com/mdlayher/raw"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/net/ipv4"
)

// nsPair is two network namespaces joined by a veth pair, eth0 on both sides:
// a has 198.18.0.1/24 and fe80::a/64, b has 198.18.0.2/24 and fe80::b/64.
type nsPair struct{ a, b string }

func newNSPair(t *testing.T) nsPair {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and raw sockets")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command (iproute2)")
	}
	p := nsPair{fmt.Sprintf("vrrpt-%d-a", os.Getpid()), fmt.Sprintf("vrrpt-%d-b", os.Getpid())}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", p.a)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", p.a).Run() })
	run("netns", "add", p.b)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", p.b).Run() })
	run("link", "add", "eth0", "netns", p.a, "type", "veth", "peer", "name", "eth0", "netns", p.b)
	for ns, last := range map[string]string{p.a: "1", p.b: "2"} {
		ll := map[string]string{"1": "a", "2": "b"}[last]
		run("-n", ns, "addr", "add", "198.18.0."+last+"/24", "dev", "eth0")
		run("-n", ns, "addr", "add", "fe80::"+ll+"/64", "dev", "eth0", "nodad")
		run("-n", ns, "link", "set", "eth0", "up")
		run("-n", ns, "link", "set", "lo", "up")
	}
	// Wait for carrier: until the link watcher sees it, a veth drops what
	// it is given, silently.
	for _, ns := range []string{p.a, p.b} {
		h, err := netns.GetFromName(ns)
		if err != nil {
			t.Fatal(err)
		}
		nh, err := netlink.NewHandleAt(h)
		h.Close()
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			l, err := nh.LinkByName("eth0")
			if err == nil && l.Attrs().OperState == netlink.OperUp {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("eth0 in %s never came up", ns)
			}
			time.Sleep(10 * time.Millisecond)
		}
		nh.Close()
	}
	return p
}

// in runs f with the calling thread in namespace name; sockets opened by f
// stay in that namespace.
func in(t *testing.T, name string, f func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.GetFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := netns.Set(ns); err != nil {
		t.Fatal(err)
	}
	defer netns.Set(orig)
	f()
}

// readOne reads one packet or fails after a deadline (closing the conn).
func readOne(t *testing.T, c Conn) Packet {
	t.Helper()
	type res struct {
		p   Packet
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
	return Packet{}
}

func TestRawConnInNamespaces(t *testing.T) {
	p := newNSPair(t)
	for _, fam := range []struct {
		name     string
		v6       bool
		src, dst netip.Addr
		unicast  netip.Addr
	}{
		{"ipv4", false, netip.MustParseAddr("198.18.0.1"), MulticastGroup4, netip.MustParseAddr("198.18.0.2")},
		{"ipv6", true, netip.MustParseAddr("fe80::a"), MulticastGroup6, netip.MustParseAddr("fe80::b")},
	} {
		t.Run(fam.name, func(t *testing.T) {
			var ca, cb Conn
			var err error
			in(t, p.a, func() { ca, err = ListenConn("eth0", fam.v6) })
			if err != nil {
				t.Fatal(err)
			}
			defer ca.Close()
			in(t, p.b, func() { cb, err = ListenConn("eth0", fam.v6) })
			if err != nil {
				t.Fatal(err)
			}
			defer cb.Close()
			vip := netip.MustParseAddr("198.18.0.100")
			if fam.v6 {
				vip = netip.MustParseAddr("2001:db8::100")
			}
			for _, dst := range []netip.Addr{fam.dst, fam.unicast} {
				a := &Advert{VRID: 7, Priority: 150, MaxAdvertInt: 20 * time.Millisecond, Addresses: []netip.Addr{vip}}
				b, err := a.Marshal(fam.src, dst, ChecksumPseudoHeader)
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
				adv, err := (&RxPolicy{}).Check(got.Payload, got.Src, got.Dst, got.TTL)
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
	p := newNSPair(t)
	nsA, err := netns.GetFromName(p.a)
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
	src, err := SourceAddr(am, "eth0", false, []netip.Prefix{v4})
	if err != nil || src != netip.MustParseAddr("198.18.0.1") {
		t.Errorf("IPv4 source %v, %v; want 198.18.0.1", src, err)
	}
	src6, err := SourceAddr(am, "eth0", true, []netip.Prefix{v6})
	if err != nil || !src6.IsLinkLocalUnicast() {
		t.Errorf("IPv6 source %v, %v; want a link-local address", src6, err)
	}

	// The other side sees our gratuitous ARP and neighbour advertisement.
	var rx *raw.Conn
	in(t, p.b, func() {
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
	in(t, p.a, func() {
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

// TestWireTTLDropped sends an advert with TTL 64 (routed from afar, RFC 5798
// §7.1) and a good one through real sockets: the demultiplexer counts the
// first as ttl_not_255 and delivers only the second.
func TestWireTTLDropped(t *testing.T) {
	p := newNSPair(t)
	var ca, cb Conn
	var err error
	in(t, p.a, func() { ca, err = ListenConn("eth0", false) })
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	in(t, p.b, func() { cb, err = ListenConn("eth0", false) })
	if err != nil {
		t.Fatal(err)
	}
	src, dst := netip.MustParseAddr("198.18.0.1"), MulticastGroup4
	a := &Advert{VRID: 51, Priority: 150, MaxAdvertInt: 100 * time.Millisecond, Addresses: []netip.Addr{netip.MustParseAddr("198.18.0.100")}}
	b, err := a.Marshal(src, dst, ChecksumPseudoHeader)
	if err != nil {
		t.Fatal(err)
	}
	h := &ipv4.Header{Version: 4, Len: 20, TotalLen: 20 + len(b), TTL: 64, Protocol: IPProtocolVRRP, Src: src.AsSlice(), Dst: dst.AsSlice()}
	if err := ca.(*conn4).raw.WriteTo(h, b, nil); err != nil {
		t.Fatal(err)
	}
	if err := ca.WritePacket(b, src, dst); err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	inst, _ := newTestInstance(t, testConfig("vi", 100, netip.MustParseAddr("198.18.0.2")), r)
	d := NewDemux("eth0", cb)
	d.Register(inst)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	select {
	case got := <-inst.rx:
		if got.src != src || got.adv.Priority != 150 {
			t.Errorf("delivered %+v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("good advert not delivered")
	}
	if n := d.Drops().Get(DropTTL); n != 1 {
		t.Errorf("ttl drops %d, want 1", n)
	}
}

// TestWatchLinksInNamespace: link states reach the hub (up, then down when
// the peer's end goes down), and a tracked interface that does not exist is
// reported down.
func TestWatchLinksInNamespace(t *testing.T) {
	p := newNSPair(t)
	r := newRecorder()
	inst, _ := newTestInstance(t, testConfig("vi", 100, netip.MustParseAddr("198.18.0.1")), r)
	hub := NewTrackHub()
	hub.Subscribe(InterfaceKey("eth0"), inst, 0, false)
	hub.Subscribe(InterfaceKey("nosuch0"), inst, 0, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // this thread stays in the namespace until it dies
		ns, err := netns.GetFromName(p.a)
		if err != nil {
			errc <- err
			return
		}
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		errc <- WatchLinks(ctx, hub)
	}()
	state := func(key string) (up, known bool) {
		hub.mu.Lock()
		defer hub.mu.Unlock()
		st, ok := hub.state[key]
		return st.up, ok
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			select {
			case err := <-errc:
				t.Fatalf("WatchLinks returned: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait("eth0 up", func() bool { up, ok := state(InterfaceKey("eth0")); return ok && up })
	wait("nosuch0 absent", func() bool { up, ok := state(InterfaceKey("nosuch0")); return ok && !up })
	if out, err := exec.Command("ip", "-n", p.b, "link", "set", "eth0", "down").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	wait("eth0 down after the peer went down", func() bool { up, ok := state(InterfaceKey("eth0")); return ok && !up })
}
