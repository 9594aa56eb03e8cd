//go:build linux

package host

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	//lint:ignore SA1019 the project chose mdlayher/raw
	"github.com/mdlayher/raw"

	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/router"
	"github.com/hachat/hachat/vrrp/vrrptest"
)

// TestDialVMACSendsFromTheVirtualMAC checks RFC 5798 §7.3 ("the source
// address in the Ethernet header ... is the virtual router MAC address")
// on the wire: an advert written to DialVMAC's socket on a macvlan with the
// virtual MAC arrives at the peer in a frame from that MAC, carrying the
// parent interface's source address, for IPv4 and IPv6.
func TestDialVMACSendsFromTheVirtualMAC(t *testing.T) {
	p := vrrptest.NewNSPair(t)
	for _, fam := range []struct {
		name     string
		v6       bool
		src, dst netip.Addr
		ethType  uint16
	}{
		{"ipv4", false, netip.MustParseAddr("198.18.0.1"), vrrp.MulticastGroup4, ethTypeIPv4},
		{"ipv6", true, netip.MustParseAddr("fe80::a"), vrrp.MulticastGroup6, ethTypeIPv6},
	} {
		t.Run(fam.name, func(t *testing.T) {
			mac := router.VirtualMAC(7, fam.v6)
			var send vrrp.Conn
			var err error
			vrrptest.In(t, p.A, func() {
				v := NewNetlinkVMAC()
				if err = v.Ensure("eth0", "vrrp.7", mac); err == nil {
					err = v.SetUp("vrrp.7", true)
				}
				if err == nil {
					send, err = DialVMAC("vrrp.7", fam.v6)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			defer send.Close()
			defer vrrptest.In(t, p.A, func() { NewNetlinkVMAC().Delete("vrrp.7") })
			var capture *raw.Conn
			vrrptest.In(t, p.B, func() {
				ifi, ierr := net.InterfaceByName("eth0")
				if ierr != nil {
					err = ierr
					return
				}
				capture, err = raw.ListenPacket(ifi, fam.ethType, nil)
			})
			if err != nil {
				t.Fatal(err)
			}
			defer capture.Close()

			a := &vrrp.Advert{VRID: 7, Priority: 150, MaxAdvertInt: 20 * time.Millisecond, Addresses: []netip.Addr{netip.MustParseAddr("198.18.0.100")}}
			if fam.v6 {
				a.Addresses = []netip.Addr{netip.MustParseAddr("2001:db8::100")}
			}
			b, err := a.Marshal(fam.src, fam.dst, vrrp.ChecksumPseudoHeader)
			if err != nil {
				t.Fatal(err)
			}
			frame := make([]byte, 2048)
			deadline := time.Now().Add(5 * time.Second)
			capture.SetReadDeadline(deadline)
			// Sent again until seen: the first may go out while the new
			// macvlan's link is still settling.
			for sent := 0; ; sent++ {
				if err := send.WritePacket(b, fam.src, fam.dst); err != nil {
					t.Fatal(err)
				}
				capture.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				n, _, err := capture.ReadFrom(frame)
				if err != nil && time.Now().After(deadline) {
					t.Fatalf("no VRRP frame after %d adverts: %v", sent+1, err)
				}
				if err != nil {
					continue
				}
				pk, ok := ParseVMACFrame(frame[:n], mac, fam.v6)
				if !ok {
					if n >= 12 && !bytes.Equal(frame[6:12], mac) && isVRRPFrame(frame[:n], fam.v6) {
						t.Fatalf("advert sent from %v, want the virtual MAC %v", net.HardwareAddr(frame[6:12]), mac)
					}
					continue // other traffic (neighbour discovery, ...)
				}
				if pk.Src != fam.src || pk.Dst != fam.dst || pk.TTL != 255 {
					t.Errorf("src %v dst %v ttl %d, want %v %v 255", pk.Src, pk.Dst, pk.TTL, fam.src, fam.dst)
				}
				return
			}
		})
	}
}

// isVRRPFrame reports whether an Ethernet frame carries IP protocol 112.
func isVRRPFrame(f []byte, v6 bool) bool {
	if v6 {
		return len(f) > ethHeaderLen+6 && f[ethHeaderLen+6] == vrrp.IPProtocolVRRP
	}
	return len(f) > ethHeaderLen+9 && f[ethHeaderLen+9] == vrrp.IPProtocolVRRP
}
