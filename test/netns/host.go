package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
)

// Host is one network namespace with lo up, usually one machine of the topology.
type Host struct {
	lab  *Lab
	name string
	ns   string

	mu    sync.Mutex
	ports []*Port // this host's links, in creation order
	nl    *netlink.Handle
}

// Host creates a namespace called name (unique in the lab) with lo up.
func (l *Lab) Host(name string) (*Host, error) {
	ns, err := l.addNS(name)
	if err != nil {
		return nil, err
	}
	h := &Host{lab: l, name: name, ns: ns}
	l.mu.Lock()
	l.hosts[name] = h
	l.mu.Unlock()
	return h, nil
}

// Name is the host's lab-local name ("lb1").
func (h *Host) Name() string { return h.name }

// Namespace is the full ip-netns name ("vrrp-4242-a1b2c3-lb1").
func (h *Host) Namespace() string { return h.ns }

// Lab is the lab the host belongs to.
func (h *Host) Lab() *Lab { return h.lab }

// Command returns a command that runs argv inside the host's namespace
// through "ip netns exec", which execs argv: the process's PID is argv's.
func (h *Host) Command(ctx context.Context, argv ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.ns}, argv...)...)
}

// Run runs argv inside the namespace and returns its combined output; the
// error names the command and includes the output.
func (h *Host) Run(ctx context.Context, argv ...string) (string, error) {
	var out bytes.Buffer
	cmd := h.Command(ctx, argv...)
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("netns: %s: %s: %w: %s", h.name, strings.Join(argv, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// Do runs fn on an OS thread switched into the host's namespace. Sockets fn
// creates belong to the namespace for their whole life, so a listener opened
// in Do keeps serving after Do returns. Goroutines fn starts do NOT inherit
// the namespace; start them with their own Do.
func (h *Host) Do(fn func() error) error {
	runtime.LockOSThread()
	orig, err := vnetns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: %s: get current namespace: %w", h.name, err)
	}
	defer orig.Close()
	target, err := vnetns.GetFromName(h.ns)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: %s: open namespace: %w", h.name, err)
	}
	defer target.Close()
	if err := vnetns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: %s: setns: %w", h.name, err)
	}
	defer func() {
		if err := vnetns.Set(orig); err != nil {
			// A thread stuck in the wrong namespace would silently move
			// every later socket of this goroutine: fail loudly instead.
			panic(fmt.Sprintf("netns: %s: cannot return to the original namespace: %v", h.name, err))
		}
		runtime.UnlockOSThread()
	}()
	return fn()
}

// Sysctl sets a sysctl inside the namespace. key is dotted
// ("net.ipv4.ip_forward") or a path under /proc/sys ("net/ipv4/conf/vrrp.52/arp_ignore").
func (h *Host) Sysctl(key, value string) error {
	p := key
	if !strings.Contains(key, "/") {
		p = strings.ReplaceAll(key, ".", "/")
	}
	return h.Do(func() error {
		if err := os.WriteFile("/proc/sys/"+p, []byte(value), 0o644); err != nil {
			return fmt.Errorf("netns: %s: sysctl %s=%s: %w", h.name, key, value, err)
		}
		return nil
	})
}

// LinkDown sets the host's interface ifname administratively down.
func (h *Host) LinkDown(ifname string) error {
	return ipCmd("-n", h.ns, "link", "set", "dev", ifname, "down")
}

// LinkUp sets the host's interface ifname up.
func (h *Host) LinkUp(ifname string) error {
	return ipCmd("-n", h.ns, "link", "set", "dev", ifname, "up")
}

// FlushNeighbors empties the host's ARP/NDP cache on ifname, as a reboot
// would: a stale FAILED entry left from a cut cable otherwise delays the
// first reply by up to a retransmit interval (1 s) after the cable is back.
func (h *Host) FlushNeighbors(ifname string) error {
	return ipCmd("-n", h.ns, "neigh", "flush", "dev", ifname)
}

// AddAddr adds an address to ifname, as an operator (or a failed daemon) would.
func (h *Host) AddAddr(ifname string, p netip.Prefix) error {
	if err := checkAddr(p); err != nil {
		return fmt.Errorf("netns: %s: add address: %w", h.name, err)
	}
	return ipCmd("-n", h.ns, "addr", "add", p.String(), "dev", ifname)
}

// DelAddr removes an address from ifname.
func (h *Host) DelAddr(ifname string, p netip.Prefix) error {
	return ipCmd("-n", h.ns, "addr", "del", p.String(), "dev", ifname)
}

// handle returns the host's netlink handle, opened on first use. The caller
// holds h.mu: netlink.Handle is not safe for concurrent requests.
func (h *Host) handle() (*netlink.Handle, error) {
	if h.nl != nil {
		return h.nl, nil
	}
	ns, err := vnetns.GetFromName(h.ns)
	if err != nil {
		return nil, fmt.Errorf("netns: %s: open namespace: %w", h.name, err)
	}
	defer ns.Close()
	nl, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("netns: %s: netlink handle: %w", h.name, err)
	}
	h.nl = nl
	return nl, nil
}

// closeHandle releases the netlink socket; called by Lab.Close.
func (h *Host) closeHandle() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.nl != nil {
		h.nl.Close()
		h.nl = nil
	}
}

// Addrs lists the addresses on ifname (every interface when ifname is ""),
// read with netlink inside the namespace.
func (h *Host) Addrs(ifname string) ([]netip.Prefix, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	nl, err := h.handle()
	if err != nil {
		return nil, err
	}
	var link netlink.Link
	if ifname != "" {
		if link, err = nl.LinkByName(ifname); err != nil {
			return nil, fmt.Errorf("netns: %s: link %s: %w", h.name, ifname, err)
		}
	}
	addrs, err := nl.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("netns: %s: list addresses: %w", h.name, err)
	}
	out := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		out = append(out, netip.PrefixFrom(ip.Unmap(), ones))
	}
	return out, nil
}

// HasAddr reports whether any interface of the host holds a.
func (h *Host) HasAddr(a netip.Addr) (bool, error) {
	ps, err := h.Addrs("")
	if err != nil {
		return false, err
	}
	for _, p := range ps {
		if p.Addr() == a {
			return true, nil
		}
	}
	return false, nil
}

// ErrTimeout is returned by the Wait helpers when ctx ends first.
var ErrTimeout = errors.New("netns: timed out")

// WaitAddr waits until the host holds a (present) or no longer holds it
// (!present), checking every 5 ms, until ctx is done.
func (h *Host) WaitAddr(ctx context.Context, a netip.Addr, present bool) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		has, err := h.HasAddr(a)
		if err != nil {
			return err
		}
		if has == present {
			return nil
		}
		select {
		case <-ctx.Done():
			want := "present"
			if !present {
				want = "absent"
			}
			return fmt.Errorf("netns: %s: waiting for %v to be %s: %w (%w)", h.name, a, want, ErrTimeout, ctx.Err())
		case <-t.C:
		}
	}
}

// Port returns the host's link called ifname, or nil.
func (h *Host) Port(ifname string) *Port {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.ports {
		if p.ifname == ifname {
			return p
		}
	}
	return nil
}
