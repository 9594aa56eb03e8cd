//go:build linux

package vrrptest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// NSPair is two network namespaces joined by a veth pair, eth0 on both sides:
// a has 198.18.0.1/24 and fe80::a/64, b has 198.18.0.2/24 and fe80::b/64.
type NSPair struct{ A, B string }

// NewNSPair creates the pair for one test and removes it when the test
// ends; it skips the test unless run as root with iproute2.
func NewNSPair(t testing.TB) NSPair {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and raw sockets")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command (iproute2)")
	}
	p := NSPair{fmt.Sprintf("vrrpt-%d-a", os.Getpid()), fmt.Sprintf("vrrpt-%d-b", os.Getpid())}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", p.A)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", p.A).Run() })
	run("netns", "add", p.B)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", p.B).Run() })
	run("link", "add", "eth0", "netns", p.A, "type", "veth", "peer", "name", "eth0", "netns", p.B)
	for ns, last := range map[string]string{p.A: "1", p.B: "2"} {
		ll := map[string]string{"1": "a", "2": "b"}[last]
		run("-n", ns, "addr", "add", "198.18.0."+last+"/24", "dev", "eth0")
		run("-n", ns, "addr", "add", "fe80::"+ll+"/64", "dev", "eth0", "nodad")
		run("-n", ns, "link", "set", "eth0", "up")
		run("-n", ns, "link", "set", "lo", "up")
	}
	// Wait for carrier: until the link watcher sees it, a veth drops what
	// it is given, silently.
	for _, ns := range []string{p.A, p.B} {
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

// In runs f with the calling thread in namespace name; sockets opened by f
// stay in that namespace.
func In(t testing.TB, name string, f func()) {
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
