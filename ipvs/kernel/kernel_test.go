package kernel

import (
	"net/netip"
	"testing"
	"time"

	cipvs "github.com/cloudflare/ipvs"
	"github.com/cloudflare/ipvs/netmask"
	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/ipvs/table"
)

var addrCmp = cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })

// TestToKernelQuirks: every service carries a netmask (the kernel answers
// EINVAL without one) and persistence sets the flag and the timeout.
func TestToKernelQuirks(t *testing.T) {
	s := table.Service{ServiceKey: table.ServiceKey{Address: netip.MustParseAddrPort("198.18.1.100:80"), Protocol: table.TCP},
		Scheduler: "wlc", Persistence: 300 * time.Second, PersistenceMask: 24}
	got := ToKernel(s)
	want := cipvs.Service{Address: netip.MustParseAddr("198.18.1.100"), Port: 80, Protocol: cipvs.TCP, Family: cipvs.INET,
		Scheduler: "wlc", Timeout: 300, Flags: cipvs.ServicePersistent, Netmask: netmask.MaskFrom(24, 32)}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netmask.Mask) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("ToKernel (-want +got):\n%s", diff)
	}
	plain := ToKernel(table.Service{ServiceKey: table.ServiceKey{FWMark: 7, IPv6: true}, Scheduler: "rr"})
	if !plain.Netmask.IsValid() || plain.Netmask.Bits() != 128 || plain.Flags != 0 || plain.Family != cipvs.INET6 {
		t.Errorf("fwmark v6 service: %+v", plain)
	}
	// What the kernel returns carries the hashed flag; it must not leak.
	back := got
	back.Flags |= cipvs.ServiceHashed
	if diff := cmp.Diff(s, FromKernel(back), addrCmp); diff != "" {
		t.Errorf("FromKernel (-want +got):\n%s", diff)
	}
}

func FuzzServiceRoundTrip(f *testing.F) {
	f.Add([]byte{198, 18, 1, 100}, uint16(80), uint8(0), uint8(3), uint32(300), uint8(24), uint32(0))
	f.Add([]byte{0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, uint16(443), uint8(1), uint8(12), uint32(0), uint8(0), uint32(0))
	f.Add([]byte{}, uint16(0), uint8(2), uint8(0), uint32(60), uint8(32), uint32(42))
	f.Fuzz(func(t *testing.T, a []byte, port uint16, proto, sched uint8, persist uint32, mask uint8, mark uint32) {
		s := table.Service{Scheduler: Schedulers[int(sched)%len(Schedulers)]}
		addr, ok := netip.AddrFromSlice(a)
		if mark != 0 {
			s.FWMark, s.IPv6 = mark, len(a) == 16
		} else {
			if !ok || port == 0 {
				return
			}
			s.Address = netip.AddrPortFrom(addr, port)
			s.Protocol = []table.Protocol{table.TCP, table.UDP, table.SCTP}[int(proto)%3]
		}
		full := 32
		if s.Is6() {
			full = 128
		}
		s.PersistenceMask = 1 + int(mask)%full
		if persist > 0 {
			s.Persistence = time.Duration(persist) * time.Second
		}
		back := FromKernel(ToKernel(s))
		if diff := cmp.Diff(s, back, addrCmp); diff != "" {
			t.Fatalf("round trip (-in +out):\n%s", diff)
		}
	})
}

func TestDestinationRoundTrip(t *testing.T) {
	for _, d := range []table.Destination{
		{Address: netip.MustParseAddrPort("198.18.2.21:80"), Weight: 3, Forwarding: table.NAT, UpperThreshold: 100, LowerThreshold: 10},
		{Address: netip.MustParseAddrPort("[2001:2::21]:443"), Weight: 0, Forwarding: table.DR},
		{Address: netip.MustParseAddrPort("198.18.2.23:0"), Weight: 1, Forwarding: table.Tunnel},
	} {
		if diff := cmp.Diff(d, destFromKernel(destToKernel(table.Service{}, d)), addrCmp); diff != "" {
			t.Errorf("round trip (-in +out):\n%s", diff)
		}
	}
}
