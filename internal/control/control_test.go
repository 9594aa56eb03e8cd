package control

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/router"
)

type fakeHandler struct {
	events chan router.InstanceEvent
	got    chan Request
}

func (f *fakeHandler) Handle(_ context.Context, r Request) Response {
	f.got <- r
	if r.Command == "fail" {
		return Response{Error: "nope"}
	}
	return Response{OK: true, Instances: []router.Status{{Name: "vi", State: "MASTER", VRID: 51, Priority: 90, BasePriority: 100,
		VIPs: []netip.Prefix{netip.MustParsePrefix("198.18.1.100/24")}, Drops: map[vrrp.DropReason]uint64{vrrp.DropTTL: 2}}}}
}

func (f *fakeHandler) Subscribe() (<-chan router.InstanceEvent, func()) { return f.events, func() {} }

func serveFake(t *testing.T) (string, *fakeHandler) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHandler{events: make(chan router.InstanceEvent, 4), got: make(chan Request, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Serve(ctx, l, h); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return path, h
}

func TestRoundTrip(t *testing.T) {
	path, h := serveFake(t)
	resp, err := Do(path, Request{Command: CmdMaintenance, Instance: "vi", On: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := <-h.got; r != (Request{Command: CmdMaintenance, Instance: "vi", On: true}) {
		t.Errorf("server got %+v", r)
	}
	if len(resp.Instances) != 1 || resp.Instances[0].VIPs[0].String() != "198.18.1.100/24" {
		t.Errorf("response %+v", resp)
	}
	if _, err := Do(path, Request{Command: "fail"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("error response: err = %v", err)
	}
	var b bytes.Buffer
	FormatStatus(&b, resp, time.Now())
	for _, want := range []string{"vi", "MASTER", "90(100)", "198.18.1.100/24", "drop ttl_not_255=2"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestEvents(t *testing.T) {
	path, h := serveFake(t)
	h.events <- router.InstanceEvent{Instance: "vi", Kind: "transition", To: "MASTER"}
	h.events <- router.InstanceEvent{Instance: "vi", Kind: "priority"}
	var got []string
	err := Events(context.Background(), path, func(ev router.InstanceEvent, _ []byte) bool {
		got = append(got, ev.Kind)
		return len(got) < 3
	})
	if err != nil || strings.Join(got, ",") != "subscribed,transition,priority" {
		t.Errorf("events %v, err %v", got, err)
	}
}

func TestListenModeAndStaleSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s")
	// A stale socket file from a daemon that died.
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l2, err := Listen(path)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer l2.Close()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, err %v; want 0600", fi.Mode().Perm(), err)
	}
	go func() {
		for {
			c, err := l2.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second listener on a live socket: err = %v", err)
	}
}

// TestListenRefusesNonSocket: a control_socket path that names a regular
// file (a typo pointing at a config, say) or a directory is refused with a
// clear error, and the file is left as it was.
func TestListenRefusesNonSocket(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "vrrpd.yaml")
	if err := os.WriteFile(file, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{file, dir} {
		l, err := Listen(p)
		if err == nil {
			l.Close()
			t.Fatalf("Listen(%s) succeeded", p)
		}
		if !errors.Is(err, ErrNotSocket) {
			t.Errorf("Listen(%s): %v, want ErrNotSocket", p, err)
		}
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep me" {
		t.Errorf("file after Listen: %q, %v; want it untouched", b, err)
	}
}
