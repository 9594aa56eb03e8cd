package vrrptest

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
)

// FakeAddrs is an in-memory AddrManager for tests. Log records every call
// ("add eth0 198.18.0.1/24"), in order; Fail makes the next calls fail.
type FakeAddrs struct {
	mu    sync.Mutex
	addrs map[string][]netip.Prefix
	Log   []string
	Fail  error
	// Unresolved are the interfaces' unresolved neighbour entries, which
	// FlushUnresolvedNeighbors deletes ("flush-neigh eth0" in Log).
	Unresolved map[string][]netip.Addr
}

// NewFakeAddrs returns an empty manager.
func NewFakeAddrs() *FakeAddrs { return &FakeAddrs{addrs: map[string][]netip.Prefix{}} }

// AddAddr implements AddrManager.
func (f *FakeAddrs) AddAddr(ifname string, p netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Log = append(f.Log, fmt.Sprintf("add %s %v", ifname, p))
	if f.Fail != nil {
		return f.Fail
	}
	if !slices.Contains(f.addrs[ifname], p) {
		f.addrs[ifname] = append(f.addrs[ifname], p)
	}
	return nil
}

// DelAddr implements AddrManager.
func (f *FakeAddrs) DelAddr(ifname string, p netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Log = append(f.Log, fmt.Sprintf("del %s %v", ifname, p))
	if f.Fail != nil {
		return f.Fail
	}
	f.addrs[ifname] = slices.DeleteFunc(f.addrs[ifname], func(x netip.Prefix) bool { return x == p })
	return nil
}

// Addrs implements AddrManager.
func (f *FakeAddrs) Addrs(ifname string) ([]netip.Prefix, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.addrs[ifname]), nil
}

// Has reports whether the interface holds p.
func (f *FakeAddrs) Has(ifname string, p netip.Prefix) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.addrs[ifname], p)
}

// Calls returns a copy of Log.
func (f *FakeAddrs) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.Log)
}

// FlushUnresolvedNeighbors implements UnresolvedNeighborFlusher.
func (f *FakeAddrs) FlushUnresolvedNeighbors(ifname string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Log = append(f.Log, "flush-neigh "+ifname)
	if f.Fail != nil {
		return nil, f.Fail
	}
	d := f.Unresolved[ifname]
	delete(f.Unresolved, ifname)
	return d, nil
}

// FakeAddrs is also the router.VMACLinks of tests (router's tests assert
// it; this package imports only vrrp, so router's own tests can use it):
// "vmac-ensure eth0 vrrp.51 00:00:5e:00:01:33", "vmac-up vrrp.51",
// "vmac-down vrrp.51" and "vmac-del vrrp.51" go to the same Log as the
// address changes, so tests see their order.

// Ensure implements VMACLinks.
func (f *FakeAddrs) Ensure(base, name string, mac net.HardwareAddr) error {
	return f.logVMAC(fmt.Sprintf("vmac-ensure %s %s %v", base, name, mac))
}

// SetUp implements VMACLinks.
func (f *FakeAddrs) SetUp(name string, up bool) error {
	if up {
		return f.logVMAC("vmac-up " + name)
	}
	return f.logVMAC("vmac-down " + name)
}

// Delete implements VMACLinks.
func (f *FakeAddrs) Delete(name string) error { return f.logVMAC("vmac-del " + name) }

func (f *FakeAddrs) logVMAC(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Log = append(f.Log, s)
	return f.Fail
}
