package router

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/vrrptest"
)

// deliverThroughDemux feeds one packet from srcB to in through a Demux and
// reports whether it reached the instance's queue; the queue is emptied.
func deliverThroughDemux(t *testing.T, in *Instance, b []byte) bool {
	t.Helper()
	d := NewDemux("eth0", nil)
	if err := d.Register(in); err != nil {
		t.Fatal(err)
	}
	d.Handle(vrrp.Packet{Src: srcB, Dst: vrrp.MulticastGroup4, TTL: 255, Payload: b})
	select {
	case <-in.rx:
		return true
	default:
		return false
	}
}

func marshalFrom(t *testing.T, a *vrrp.Advert, form vrrp.ChecksumForm) []byte {
	t.Helper()
	b, err := a.Marshal(srcB, vrrp.MulticastGroup4, form)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRFC5798_5_2_8_PseudoHeaderChecksumRequiredByDefault: an IPv4 VRRPv3
// advert whose checksum leaves out the pseudo-header (RFC 5798 §5.2.8 puts
// it in) is refused with its own reason by default, as keepalived does; it
// is accepted only when the instance is lenient, or sends that form itself
// (RFC 9568 §5.2.8).
func TestRFC5798_5_2_8_PseudoHeaderChecksumRequiredByDefault(t *testing.T) {
	for _, tc := range []struct {
		name    string
		send    vrrp.ChecksumForm
		lenient bool
		rx      vrrp.ChecksumForm
		want    bool
	}{
		{"default refuses message-only", vrrp.ChecksumPseudoHeader, false, vrrp.ChecksumMessageOnly, false},
		{"default accepts pseudo-header", vrrp.ChecksumPseudoHeader, false, vrrp.ChecksumPseudoHeader, true},
		{"lenient accepts message-only", vrrp.ChecksumPseudoHeader, true, vrrp.ChecksumMessageOnly, true},
		{"RFC 9568 sender refuses pseudo-header", vrrp.ChecksumMessageOnly, false, vrrp.ChecksumPseudoHeader, false},
		{"RFC 9568 sender accepts message-only", vrrp.ChecksumMessageOnly, false, vrrp.ChecksumMessageOnly, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("vi", 100, srcA)
			cfg.Checksum, cfg.ChecksumLenient = tc.send, tc.lenient
			in, _ := newTestInstance(t, cfg, newRecorder())
			got := deliverThroughDemux(t, in, marshalFrom(t, advert(254), tc.rx))
			if got != tc.want {
				t.Errorf("delivered %v, want %v (drops %v)", got, tc.want, in.stats.Drops.Snapshot())
			}
			if n := in.stats.Drops.Get(vrrp.DropChecksumForm); (n == 1) == tc.want {
				t.Errorf("%s drops = %d with delivered %v", vrrp.DropChecksumForm, n, got)
			}
		})
	}
}

// TestRFC5798_7_1_OtherVersionRefused: each instance takes adverts of its
// own version only (RFC 5798 §7.1 for v3, RFC 3768 §7.1 for v2), though
// both arrive on one socket.
func TestRFC5798_7_1_OtherVersionRefused(t *testing.T) {
	v2 := &vrrp.Advert{Version: 2, VRID: 51, Priority: 200, MaxAdvertInt: time.Second, Addresses: []netip.Addr{vip.Addr()}}
	v3 := advert(200)
	for _, tc := range []struct {
		name string
		ours uint8
		adv  *vrrp.Advert
		want bool
	}{
		{"v3 instance, v2 advert", 3, v2, false},
		{"v3 instance, v3 advert", 3, v3, true},
		{"v2 instance, v3 advert", 2, v3, false},
		{"v2 instance, v2 advert", 2, v2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("vi", 100, srcA)
			if tc.ours == 2 {
				cfg.Machine.Version, cfg.Machine.AdvertInterval = 2, time.Second
			}
			in, _ := newTestInstance(t, cfg, newRecorder())
			a := *tc.adv
			if got := deliverThroughDemux(t, in, marshalFrom(t, &a, vrrp.ChecksumPseudoHeader)); got != tc.want {
				t.Errorf("delivered %v, want %v (drops %v)", got, tc.want, in.stats.Drops.Snapshot())
			}
			if !tc.want && in.stats.Drops.Get(vrrp.DropVersionMismatch) != 1 {
				t.Errorf("drops %v, want one %s", in.stats.Drops.Snapshot(), vrrp.DropVersionMismatch)
			}
		})
	}
}

// TestRFC3768_7_1_IntervalMismatchDiscarded: a VRRPv2 router MUST discard
// an advert whose Adver Int differs from its own (RFC 3768 §7.1).
func TestRFC3768_7_1_IntervalMismatchDiscarded(t *testing.T) {
	cfg := testConfig("vi", 100, srcA)
	cfg.Machine.Version, cfg.Machine.AdvertInterval = 2, time.Second
	in, _ := newTestInstance(t, cfg, newRecorder())
	a := &vrrp.Advert{Version: 2, VRID: 51, Priority: 200, MaxAdvertInt: 2 * time.Second, Addresses: []netip.Addr{vip.Addr()}}
	if deliverThroughDemux(t, in, marshalFrom(t, a, vrrp.ChecksumMessageOnly)) {
		t.Error("an advert with interval 2s reached a 1s VRRPv2 instance")
	}
	if n := in.stats.Drops.Get(vrrp.DropIntervalMismatch); n != 1 {
		t.Errorf("%s drops = %d, want 1", vrrp.DropIntervalMismatch, n)
	}
}

// TestRFC3768_6_1_V2TimersInSeconds: VRRPv2's Skew_Time is (256-Priority)/256
// seconds whatever the interval, and a v2 instance sends version 2 adverts
// with its interval in seconds and a message-only checksum (RFC 3768 §5.3).
func TestRFC3768_6_1_V2TimersInSeconds(t *testing.T) {
	m, err := vrrp.NewMachine(vrrp.MachineConfig{Version: 2, VRID: 51, Priority: 100, AdvertInterval: 3 * time.Second, PrimaryAddr: srcA})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.SkewTime(), 156*time.Second/256; got != want {
		t.Errorf("skew %v, want %v", got, want)
	}
	if got, want := m.MasterDownInterval(), 9*time.Second+156*time.Second/256; got != want {
		t.Errorf("master down %v, want %v", got, want)
	}
	if _, err := vrrp.NewMachine(vrrp.MachineConfig{Version: 2, VRID: 51, Priority: 100, AdvertInterval: 100 * time.Millisecond, PrimaryAddr: srcA}); err == nil {
		t.Error("VRRPv2 machine with a 100ms interval accepted")
	}
	cfg := testConfig("vi", 100, srcA)
	cfg.Machine.Version, cfg.Machine.AdvertInterval = 2, time.Second
	var sent []byte
	in, err := NewInstance(cfg, InstanceDeps{Sender: senderFunc(func(b []byte) { sent = append([]byte(nil), b...) }), Addrs: vrrptest.NewFakeAddrs(), Announcer: &vrrptest.FakeAnnouncer{}})
	if err != nil {
		t.Fatal(err)
	}
	in.sendAdvert(100)
	a, form, err := vrrp.ParseAdvertForm(sent, srcA, vrrp.MulticastGroup4)
	if err != nil || a.Version != 2 || a.MaxAdvertInt != time.Second || form != vrrp.ChecksumMessageOnly || len(sent) != 8+4+8 {
		t.Errorf("sent %x: %+v form %v err %v; want a 20-byte VRRPv2 advert", sent, a, form, err)
	}
}

type senderFunc func(b []byte)

func (f senderFunc) WritePacket(b []byte, _, _ netip.Addr) error { f(b); return nil }

// TestDropsLoggedRateLimited: refused adverts are logged at debug level,
// one line per reason per interval however many arrive.
func TestDropsLoggedRateLimited(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := NewDemux("eth0", nil)
	d.SetLogger(log)
	bad := marshalFrom(t, advert(254), vrrp.ChecksumPseudoHeader)
	bad[7] ^= 0xff
	for range 100 {
		d.Handle(vrrp.Packet{Src: srcB, Dst: vrrp.MulticastGroup4, TTL: 255, Payload: bad})
	}
	if n := d.Drops().Get(vrrp.DropChecksum); n != 100 {
		t.Errorf("counted %d, want 100", n)
	}
	if n := strings.Count(buf.String(), "reason=bad_checksum"); n != 1 {
		t.Errorf("%d log lines for 100 drops within a second, want 1:\n%s", n, buf.String())
	}
}

// TestRFC5798_6_4_3_MasterStatusShowsItself: a Master that hears and
// ignores a lower-priority router (RFC 5798 §6.4.3) reports its own
// address as the Master, not the ignored router's.
func TestRFC5798_6_4_3_MasterStatusShowsItself(t *testing.T) {
	r := newRecorder()
	in, _ := newTestInstance(t, testConfig("vi", 200, srcA), r)
	in.start(rt0)
	in.handleTimer(in.m.Deadline())
	if in.m.State() != vrrp.Master {
		t.Fatalf("state %v, want MASTER", in.m.State())
	}
	in.handleAdvert(in.m.Deadline().Add(-time.Millisecond), received{advert(100), srcB})
	if st := in.Status(); st.State != "MASTER" || st.Master != srcA.String() {
		t.Errorf("status %s master %q, want MASTER %v", st.State, st.Master, srcA)
	}
	// A higher priority one takes over: now it is the Master.
	in.handleAdvert(in.m.Deadline().Add(-time.Millisecond), received{advert(250), srcB})
	if st := in.Status(); st.State != "BACKUP" || st.Master != srcB.String() {
		t.Errorf("status %s master %q, want BACKUP %v", st.State, st.Master, srcB)
	}
}

func compatInstance(t *testing.T, prio uint8, sent *[]*vrrp.Advert) *Instance {
	t.Helper()
	cfg := testConfig("vi", prio, srcA)
	cfg.Machine.AdvertInterval, cfg.V2Compat = time.Second, true
	in, err := NewInstance(cfg, InstanceDeps{
		Sender: senderFunc(func(b []byte) {
			a, err := vrrp.ParseAdvert(b, srcA, vrrp.MulticastGroup4)
			if err != nil {
				t.Errorf("sent an advert that does not parse: %v", err)
				return
			}
			*sent = append(*sent, a)
		}),
		Addrs: vrrptest.NewFakeAddrs(), Announcer: &vrrptest.FakeAnnouncer{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestRFC5798_8_4_2_V2CompatMasterSendsBoth: a VRRPv3 Master configured for
// VRRPv2 compatibility sends both a VRRPv3 and a VRRPv2 advert at its rate.
func TestRFC5798_8_4_2_V2CompatMasterSendsBoth(t *testing.T) {
	var sent []*vrrp.Advert
	in := compatInstance(t, 200, &sent)
	in.start(rt0)
	in.handleTimer(in.m.Deadline())
	if in.m.State() != vrrp.Master {
		t.Fatalf("state %v, want MASTER", in.m.State())
	}
	if len(sent) != 2 || sent[0].Version != 3 || sent[1].Version != 2 || sent[1].MaxAdvertInt != time.Second || sent[1].Priority != 200 {
		t.Fatalf("sent %+v, want a VRRPv3 then a VRRPv2 advert, priority 200, 1s", sent)
	}
	if _, err := NewInstance(func() InstanceConfig {
		c := testConfig("vi", 100, srcA) // 100ms: VRRPv2 cannot carry it
		c.V2Compat = true
		return c
	}(), InstanceDeps{Sender: senderFunc(func([]byte) {}), Addrs: vrrptest.NewFakeAddrs(), Announcer: &vrrptest.FakeAnnouncer{}}); err == nil {
		t.Error("VRRPv2 compatibility with a 100ms interval accepted")
	}
}

// TestRFC5798_8_4_2_V2CompatBackupObeysV2Master: a Backup in compatibility
// takes VRRPv2 adverts, timing the Master out on the interval they carry in
// seconds, and ignores the VRRPv2 adverts of a Master it hears in VRRPv3.
func TestRFC5798_8_4_2_V2CompatBackupObeysV2Master(t *testing.T) {
	var sent []*vrrp.Advert
	in := compatInstance(t, 100, &sent)
	in.start(rt0)
	v2 := &vrrp.Advert{Version: 2, VRID: 51, Priority: 200, MaxAdvertInt: 3 * time.Second, Addresses: []netip.Addr{vip.Addr()}}
	if !deliverThroughDemux(t, in, marshalFrom(t, v2, vrrp.ChecksumMessageOnly)) {
		t.Fatalf("VRRPv2 advert refused: drops %v", in.stats.Drops.Snapshot())
	}
	now := rt0.Add(time.Second)
	in.handleAdvert(now, received{v2, srcB})
	if in.m.State() != vrrp.Backup || in.m.MasterAdverInterval() != 3*time.Second || !in.m.Deadline().Equal(now.Add(in.m.MasterDownInterval())) {
		t.Errorf("state %v Master_Adver_Interval %v; want BACKUP timing the VRRPv2 Master on 3s", in.m.State(), in.m.MasterAdverInterval())
	}
	v3 := advert(200)
	in.handleAdvert(now, received{v3, srcB})
	before := in.stats.AdvertsReceived.Load()
	in.handleAdvert(now.Add(time.Millisecond), received{v2, srcB})
	if in.stats.AdvertsReceived.Load() != before || in.stats.Drops.Get(vrrp.DropV2Duplicate) != 1 {
		t.Errorf("VRRPv2 advert of a VRRPv3 Master: received %d->%d, %s %d; want it ignored",
			before, in.stats.AdvertsReceived.Load(), vrrp.DropV2Duplicate, in.stats.Drops.Get(vrrp.DropV2Duplicate))
	}
}

// TestRFC3768_7_1_AuthTypeAndPasswordMustMatch: a VRRPv2 router MUST
// verify that the Auth Type is the locally configured one and, for the
// simple text password, that the Authentication Data matches (RFC 3768
// §7.1, §5.3.6.1). As keepalived, a router without authentication refuses
// a password advert, and ignores the data of an Auth Type 0 advert.
func TestRFC3768_7_1_AuthTypeAndPasswordMustMatch(t *testing.T) {
	pass := func(p string) vrrp.Auth {
		a, err := vrrp.PasswordAuth(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, tc := range []struct {
		name       string
		ours, adv  vrrp.Auth
		wantReason vrrp.DropReason // "" = delivered
	}{
		{"none takes none", vrrp.Auth{}, vrrp.Auth{}, ""},
		{"none ignores the data of type 0", vrrp.Auth{}, vrrp.Auth{Data: [8]byte{'x'}}, ""},
		{"none refuses a password", vrrp.Auth{}, pass("1111"), vrrp.DropAuthType},
		{"password refuses none", pass("1111"), vrrp.Auth{}, vrrp.DropAuthType},
		{"password refuses AH", pass("1111"), vrrp.Auth{Type: vrrp.AuthAH, Data: pass("1111").Data}, vrrp.DropAuthType},
		{"password refuses another password", pass("1111"), pass("2222"), vrrp.DropAuthPassword},
		{"password refuses a prefix of it", pass("11112"), pass("1111"), vrrp.DropAuthPassword},
		{"password takes the same password", pass("1111"), pass("1111"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("vi", 100, srcA)
			cfg.Machine.Version, cfg.Machine.AdvertInterval, cfg.Auth = 2, time.Second, tc.ours
			in, _ := newTestInstance(t, cfg, newRecorder())
			a := &vrrp.Advert{Version: 2, VRID: 51, Priority: 200, MaxAdvertInt: time.Second, Addresses: []netip.Addr{vip.Addr()},
				AuthType: tc.adv.Type, AuthData: tc.adv.Data}
			got := deliverThroughDemux(t, in, marshalFrom(t, a, vrrp.ChecksumMessageOnly))
			if got != (tc.wantReason == "") {
				t.Errorf("delivered %v, want %v (drops %v)", got, tc.wantReason == "", in.stats.Drops.Snapshot())
			}
			if tc.wantReason != "" && in.stats.Drops.Get(tc.wantReason) != 1 {
				t.Errorf("drops %v, want one %s", in.stats.Drops.Snapshot(), tc.wantReason)
			}
		})
	}
}

// TestRFC3768_5_3_6_PasswordInEveryV2Advert: an instance with a simple
// text password sends Auth Type 1 and the password, zero-padded to 8
// bytes as keepalived does, in every VRRPv2 advert: those of a version 2
// instance and the VRRPv2 twins of a v2_compat one, never in VRRPv3.
func TestRFC3768_5_3_6_PasswordInEveryV2Advert(t *testing.T) {
	pw, err := vrrp.PasswordAuth("1111")
	if err != nil {
		t.Fatal(err)
	}
	want := [8]byte{'1', '1', '1', '1'}
	for _, compat := range []bool{false, true} {
		cfg := testConfig("vi", 100, srcA)
		cfg.Machine.AdvertInterval, cfg.Auth = time.Second, pw
		if compat {
			cfg.V2Compat = true
		} else {
			cfg.Machine.Version = 2
		}
		var sent []*vrrp.Advert
		in, err := NewInstance(cfg, InstanceDeps{Sender: senderFunc(func(b []byte) {
			a, err := vrrp.ParseAdvert(b, srcA, vrrp.MulticastGroup4)
			if err != nil {
				t.Errorf("sent an advert that does not parse: %v", err)
				return
			}
			sent = append(sent, a)
		}), Addrs: vrrptest.NewFakeAddrs(), Announcer: &vrrptest.FakeAnnouncer{}})
		if err != nil {
			t.Fatal(err)
		}
		if st := in.Status(); st.AuthType != vrrp.AuthPass {
			t.Errorf("compat %v: status auth type %d, want %d", compat, st.AuthType, vrrp.AuthPass)
		}
		in.sendAdvert(100)
		in.sendAdvert(0)
		if len(sent) == 0 {
			t.Fatalf("compat %v: nothing sent", compat)
		}
		for _, a := range sent {
			if a.Version == vrrp.Version2 && (a.AuthType != vrrp.AuthPass || a.AuthData != want) {
				t.Errorf("compat %v: VRRPv2 advert with auth %d %q, want 1 %q", compat, a.AuthType, a.AuthData, want)
			}
		}
	}
}

// TestRFC3768_5_3_6_AuthConfigRefused: a password is 1-8 bytes (the
// Authentication Data), needs VRRPv2 adverts to carry it, and the IP
// Authentication Header type, removed by RFC 3768, is refused.
func TestRFC3768_5_3_6_AuthConfigRefused(t *testing.T) {
	for _, p := range []string{"", "123456789"} {
		if _, err := vrrp.PasswordAuth(p); err == nil {
			t.Errorf("password %q accepted", p)
		}
	}
	deps := InstanceDeps{Sender: senderFunc(func([]byte) {}), Addrs: vrrptest.NewFakeAddrs(), Announcer: &vrrptest.FakeAnnouncer{}}
	pw, _ := vrrp.PasswordAuth("12345678")
	v3 := testConfig("vi", 100, srcA)
	v3.Auth = pw
	if _, err := NewInstance(v3, deps); err == nil {
		t.Error("a password on a VRRPv3 instance without v2_compat accepted")
	}
	ah := testConfig("vi", 100, srcA)
	ah.Machine.Version, ah.Machine.AdvertInterval, ah.Auth = 2, time.Second, vrrp.Auth{Type: vrrp.AuthAH}
	if _, err := NewInstance(ah, deps); err == nil {
		t.Error("auth type AH accepted")
	}
	ok := testConfig("vi", 100, srcA)
	ok.Machine.Version, ok.Machine.AdvertInterval, ok.Auth = 2, time.Second, pw
	if _, err := NewInstance(ok, deps); err != nil {
		t.Errorf("an 8-byte password on a version 2 instance: %v", err)
	}
}
