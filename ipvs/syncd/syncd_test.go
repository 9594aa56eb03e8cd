package syncd

import (
	"bytes"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
)

const familyID = 0x24

// TestMarshalGolden pins the byte layout the kernel's ip_vs_daemon_policy
// expects (include/uapi/linux/ip_vs.h; little-endian host).
func TestMarshalGolden(t *testing.T) {
	d := Daemon{Role: Master, Interface: "eth0", SyncID: 7, MaxLen: 1400,
		Group: netip.MustParseAddr("224.0.0.81"), Port: 8848, TTL: 1}
	got, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		8, 0, 1, 0, 1, 0, 0, 0, // STATE = 1 (master)
		9, 0, 2, 0, 'e', 't', 'h', '0', 0, 0, 0, 0, // MCAST_IFN "eth0\0" + pad
		8, 0, 3, 0, 7, 0, 0, 0, // SYNC_ID = 7
		6, 0, 4, 0, 0x78, 0x05, 0, 0, // SYNC_MAXLEN = 1400 + pad
		8, 0, 5, 0, 224, 0, 0, 81, // MCAST_GROUP, network order
		6, 0, 7, 0, 0x90, 0x22, 0, 0, // MCAST_PORT = 8848 + pad
		5, 0, 8, 0, 1, 0, 0, 0, // MCAST_TTL = 1 + pad
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encoding:\n got % x\nwant % x", got, want)
	}
	var back Daemon
	if err := back.UnmarshalBinary(got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, back, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestMarshalErrors(t *testing.T) {
	for name, d := range map[string]Daemon{
		"no role":       {Interface: "eth0"},
		"no interface":  {Role: Backup},
		"long name":     {Role: Backup, Interface: "a-very-long-interface"},
		"unicast group": {Role: Master, Interface: "eth0", Group: netip.MustParseAddr("198.18.0.1")},
	} {
		if _, err := d.MarshalBinary(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzDaemonRoundTrip(f *testing.F) {
	f.Add([]byte{8, 0, 1, 0, 1, 0, 0, 0, 9, 0, 2, 0, 'e', 't', 'h', '0', 0, 0, 0, 0, 8, 0, 3, 0, 7, 0, 0, 0})
	f.Add([]byte{6, 0, 7, 0, 0x90, 0x22, 0, 0, 20, 0, 6, 0, 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Daemon
		if err := d.UnmarshalBinary(b); err != nil {
			return
		}
		enc, err := d.MarshalBinary()
		if err != nil {
			return // decodable but not sendable (no role, bad name): fine
		}
		var back Daemon
		if err := back.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-decode of our own encoding: %v", err)
		}
		if back != d {
			t.Fatalf("round trip: %+v != %+v", back, d)
		}
	})
}

// fakeKernel keeps the running daemons the way ip_vs_sync.c does: one per
// role, EEXIST on a second start, ESRCH when stopping what does not run.
type fakeKernel struct {
	t       *testing.T
	running map[Role]Daemon
	cmds    []string
	slept   time.Duration
}

func (k *fakeKernel) serve(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
	if nreq.Header.Type == 0 {
		return nil, nil // nltest polling for more replies after a request was answered
	}
	if nreq.Header.Type != familyID {
		k.t.Errorf("request to family %d, want %d", nreq.Header.Type, familyID)
	}
	if greq.Header.Version != familyVersion {
		k.t.Errorf("version %d, want %d", greq.Header.Version, familyVersion)
	}
	switch greq.Header.Command {
	case cmdGetDaemon:
		if nreq.Header.Flags&netlink.Dump == 0 {
			k.t.Errorf("GET_DAEMON without NLM_F_DUMP")
		}
		k.cmds = append(k.cmds, "get")
		var out []genetlink.Message
		for _, r := range []Role{Master, Backup} {
			d, ok := k.running[r]
			if !ok {
				continue
			}
			inner, err := d.MarshalBinary()
			if err != nil {
				return nil, err
			}
			data, _ := encodeNested(inner)
			out = append(out, genetlink.Message{Header: greq.Header, Data: data})
		}
		return out, nil
	case cmdNewDaemon, cmdDelDaemon:
		d, err := nested(greq.Data)
		if err != nil {
			k.t.Errorf("bad request: %v", err)
			return nil, genltest.Error(int(syscall.EINVAL))
		}
		if greq.Header.Command == cmdDelDaemon {
			k.cmds = append(k.cmds, "stop "+d.Role.String())
			if _, ok := k.running[d.Role]; !ok {
				return nil, genltest.Error(int(syscall.ESRCH))
			}
			delete(k.running, d.Role)
			return nil, nil
		}
		k.cmds = append(k.cmds, "start "+d.Role.String())
		if d.Interface == "" { // the kernel's check in ip_vs_genl_new_daemon
			return nil, genltest.Error(int(syscall.EINVAL))
		}
		if _, ok := k.running[d.Role]; ok {
			return nil, genltest.Error(int(syscall.EEXIST))
		}
		k.running[d.Role] = d
		return nil, nil
	}
	return nil, genltest.Error(int(syscall.EOPNOTSUPP))
}

func nested(b []byte) (Daemon, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return Daemon{}, err
	}
	var d Daemon
	for ad.Next() {
		if ad.Type() == cmdAttrDaemon {
			ad.Do(d.UnmarshalBinary)
		}
	}
	return d, ad.Err()
}

func newTest(t *testing.T) (*Client, *fakeKernel) {
	k := &fakeKernel{t: t, running: map[Role]Daemon{}}
	conn := genltest.Dial(genltest.ServeFamily(genetlink.Family{ID: familyID, Name: familyName, Version: 1},
		k.serve))
	c, err := New(conn)
	if err != nil {
		t.Fatal(err)
	}
	c.sleep = func(d time.Duration) { k.slept += d }
	t.Cleanup(func() { c.Close() })
	return c, k
}

func TestStartStopDaemons(t *testing.T) {
	c, k := newTest(t)
	m := Daemon{Role: Master, Interface: "eth1", SyncID: 51}
	if err := c.Start(m); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := c.Start(m); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("second Start: err = %v, want EEXIST", err)
	}
	got, err := c.Daemons()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Daemon{m}, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("Daemons (-want +got):\n%s", diff)
	}
	if err := c.Stop(Master); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Stop(Master); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("second Stop: err = %v, want ESRCH", err)
	}
	if len(k.running) != 0 {
		t.Errorf("still running: %v", k.running)
	}
}

// TestEnsureFollowsVRRP walks the role changes of keepalived's
// lvs_sync_daemon with "inst": backup while BACKUP, master while MASTER,
// and no change at all when the role is asked for again.
func TestEnsureFollowsVRRP(t *testing.T) {
	c, k := newTest(t)
	backup := Daemon{Role: Backup, Interface: "eth1", SyncID: 51}
	master := Daemon{Role: Master, Interface: "eth1", SyncID: 51}
	steps := []struct {
		want *Daemon
		cmds []string
	}{
		{&backup, []string{"get", "start backup"}},
		{&backup, []string{"get"}}, // idempotent: nothing restarted
		{&master, []string{"get", "stop backup", "start master"}},
		{&master, []string{"get"}},
		{&backup, []string{"get", "stop master", "start backup"}},
		{nil, []string{"get", "stop backup"}},
	}
	for i, s := range steps {
		k.cmds = nil
		if err := c.Ensure(s.want); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if diff := cmp.Diff(s.cmds, k.cmds); diff != "" {
			t.Errorf("step %d commands (-want +got):\n%s", i, diff)
		}
	}
}

func TestEnsureRestartsOnChangedSettings(t *testing.T) {
	c, k := newTest(t)
	if err := c.Ensure(&Daemon{Role: Backup, Interface: "eth1", SyncID: 1}); err != nil {
		t.Fatal(err)
	}
	k.cmds = nil
	if err := c.Ensure(&Daemon{Role: Backup, Interface: "eth2", SyncID: 1}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"get", "stop backup", "start backup"}, k.cmds); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	if k.running[Backup].Interface != "eth2" {
		t.Errorf("running %+v", k.running[Backup])
	}
}

// TestStopWaitsForMinRunTime: a daemon stopped right after it was started
// is stopped only after MinRunTime (Linux 6.1 hangs otherwise).
func TestStopWaitsForMinRunTime(t *testing.T) {
	c, k := newTest(t)
	c.MinRunTime = time.Hour
	if err := c.Start(Daemon{Role: Backup, Interface: "eth1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(Backup); err != nil {
		t.Fatal(err)
	}
	if k.slept < 59*time.Minute {
		t.Errorf("slept %v before stopping a fresh daemon, want about MinRunTime", k.slept)
	}
	k.slept = 0
	if err := c.Stop(Backup); !errors.Is(err, syscall.ESRCH) || k.slept != 0 {
		t.Errorf("stopping a daemon we did not start: err %v, slept %v", err, k.slept)
	}
}
