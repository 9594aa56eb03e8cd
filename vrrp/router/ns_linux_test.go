//go:build linux

package router

// The runtime against real sockets and rtnetlink, in network namespaces the
// tests create (vrrptest.NewNSPair).

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/host"
	"github.com/hachat/hachat/vrrp/vrrptest"
	"github.com/vishvananda/netns"
	"golang.org/x/net/ipv4"
)

// rawTTL64 opens, in namespace ns, a raw IPv4 socket for protocol 112 that
// sends the headers it is given (so a test can send TTL 64) out of eth0.
func rawTTL64(t *testing.T, ns string) *ipv4.RawConn {
	t.Helper()
	var rc *ipv4.RawConn
	var err error
	vrrptest.In(t, ns, func() {
		var pc net.PacketConn
		if pc, err = net.ListenPacket("ip4:112", "0.0.0.0"); err != nil {
			return
		}
		t.Cleanup(func() { pc.Close() })
		var ifi *net.Interface
		if ifi, err = net.InterfaceByName("eth0"); err != nil {
			return
		}
		if rc, err = ipv4.NewRawConn(pc); err == nil {
			err = rc.SetMulticastInterface(ifi)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// TestWireTTLDropped sends an advert with TTL 64 (routed from afar, RFC 5798
// §7.1) and a good one through real sockets: the demultiplexer counts the
// first as ttl_not_255 and delivers only the second.
func TestWireTTLDropped(t *testing.T) {
	p := vrrptest.NewNSPair(t)
	var ca, cb vrrp.Conn
	var err error
	vrrptest.In(t, p.A, func() { ca, err = host.ListenConn("eth0", false) })
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	vrrptest.In(t, p.B, func() { cb, err = host.ListenConn("eth0", false) })
	if err != nil {
		t.Fatal(err)
	}
	src, dst := netip.MustParseAddr("198.18.0.1"), vrrp.MulticastGroup4
	a := &vrrp.Advert{VRID: 51, Priority: 150, MaxAdvertInt: 100 * time.Millisecond, Addresses: []netip.Addr{netip.MustParseAddr("198.18.0.100")}}
	b, err := a.Marshal(src, dst, vrrp.ChecksumPseudoHeader)
	if err != nil {
		t.Fatal(err)
	}
	h := &ipv4.Header{Version: 4, Len: 20, TotalLen: 20 + len(b), TTL: 64, Protocol: vrrp.IPProtocolVRRP, Src: src.AsSlice(), Dst: dst.AsSlice()}
	if err := rawTTL64(t, p.A).WriteTo(h, b, nil); err != nil {
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
	if n := d.Drops().Get(vrrp.DropTTL); n != 1 {
		t.Errorf("ttl drops %d, want 1", n)
	}
}

// TestWatchLinksInNamespace: link states reach the hub (up, then down when
// the peer's end goes down), and a tracked interface that does not exist is
// reported down.
func TestWatchLinksInNamespace(t *testing.T) {
	p := vrrptest.NewNSPair(t)
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
		ns, err := netns.GetFromName(p.A)
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
	if out, err := exec.Command("ip", "-n", p.B, "link", "set", "eth0", "down").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	wait("eth0 down after the peer went down", func() bool { up, ok := state(InterfaceKey("eth0")); return ok && !up })
}
