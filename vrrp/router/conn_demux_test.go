package router

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/vrrptest"
)

// FuzzDemuxHandle feeds arbitrary packets to a demultiplexer in front of a
// Backup. Nothing may panic, and a packet that is dropped (counted under a
// reason) must leave the state machine exactly as it was.
func FuzzDemuxHandle(f *testing.F) {
	good, _ := advert(200).Marshal(srcB, vrrp.MulticastGroup4, vrrp.ChecksumPseudoHeader)
	f.Add(good, uint8(255), true)
	f.Add(good, uint8(64), true)
	f.Add([]byte{0x31, 51, 100, 1, 0, 10, 0, 0}, uint8(255), true)
	f.Add([]byte{}, uint8(255), false)
	f.Add(append(good, 0), uint8(255), true)
	f.Fuzz(func(t *testing.T, payload []byte, ttl uint8, v4 bool) {
		r := newRecorder()
		in, _ := newTestInstance(t, testConfig("vi", 100, srcA), r)
		in.start(rt0)
		d := NewDemux("eth0", nil)
		d.Register(in)
		src, dst := srcB, vrrp.MulticastGroup4
		if !v4 {
			src, dst = netip.MustParseAddr("fe80::2"), vrrp.MulticastGroup6
		}
		before := total(d.Drops()) + total(&in.stats.Drops)
		deadline, state := in.m.Deadline(), in.m.State()
		d.Handle(vrrp.Packet{Src: src, Dst: dst, TTL: int(ttl), Payload: payload})
		dropped := total(d.Drops())+total(&in.stats.Drops) > before
		queued := len(in.rx)
		if dropped == (queued == 1) {
			t.Fatalf("dropped %v but queued %d: every packet is either counted as a drop or delivered", dropped, queued)
		}
		if queued == 1 {
			in.handleAdvert(rt0.Add(time.Millisecond), <-in.rx) // a valid advert may act; it must not panic
			return
		}
		if in.m.State() != state || !in.m.Deadline().Equal(deadline) {
			t.Fatalf("a dropped packet changed the machine: %v %v", in.m.State(), in.m.Deadline())
		}
	})
}

func total(c *DropCounts) uint64 {
	var n uint64
	for _, r := range AllDropReasons {
		n += c.Get(r)
	}
	return n
}

// BenchmarkReceivePath measures one advert from the socket to the state
// machine: checks, parse, demultiplex, Machine.Step. Allocations here are
// garbage at the advert rate (50 a second per instance at 20 ms).
func BenchmarkReceivePath(b *testing.B) {
	r := newRecorder()
	in, err := NewInstance(testConfig("vi", 100, srcA), InstanceDeps{Sender: r, Addrs: r, Announcer: r})
	if err != nil {
		b.Fatal(err)
	}
	in.start(rt0)
	d := NewDemux("eth0", nil)
	d.Register(in)
	payload, _ := advert(200).Marshal(srcB, vrrp.MulticastGroup4, vrrp.ChecksumPseudoHeader)
	p := vrrp.Packet{Src: srcB, Dst: vrrp.MulticastGroup4, TTL: 255, Payload: payload}
	now := rt0
	b.ReportAllocs()
	for b.Loop() {
		d.Handle(p)
		now = now.Add(time.Millisecond)
		in.handleAdvert(now, <-in.rx)
	}
}

// BenchmarkSendAdvert measures a Master's advert: marshal into the reused
// buffer and write.
func BenchmarkSendAdvert(b *testing.B) {
	in, err := NewInstance(testConfig("vi", 100, srcA), InstanceDeps{Sender: nopSender{}, Addrs: vrrptest.NewFakeAddrs(), Announcer: &vrrptest.FakeAnnouncer{}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		in.sendAdvert(100)
	}
}

type nopSender struct{}

func (nopSender) WritePacket([]byte, netip.Addr, netip.Addr) error { return nil }
