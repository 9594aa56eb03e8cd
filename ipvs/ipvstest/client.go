// Package ipvstest has fakes of the balancer's kernel interfaces: Client, an
// in-memory IPVS table behind the github.com/cloudflare/ipvs Client
// interface with the kernel's quirks, and DataPlane, an in-memory
// ipvs.DataPlane.
package ipvstest

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"

	cipvs "github.com/cloudflare/ipvs"
)

// Client is an in-memory IPVS table. It behaves like the kernel where the
// kernel is surprising: CreateService without a netmask fails with EINVAL,
// creating twice with EEXIST, every service read back carries the hashed
// flag, and an empty dump is os.ErrNotExist (as cloudflare/ipvs reports it).
// Calls counts the mutating calls so tests can assert "nothing changed".
type Client struct {
	mu    sync.Mutex
	svcs  []*fakeSvc
	Calls []string
	// Fail, when set, is consulted before every mutating call; a non-nil
	// result is returned instead of performing the call.
	Fail func(call string) error
}

type fakeSvc struct {
	svc   cipvs.Service
	stats cipvs.Stats
	dests []cipvs.DestinationExtended
}

var _ cipvs.Client = (*Client)(nil)

func svcKey(s cipvs.Service) string {
	if s.FWMark != 0 {
		return fmt.Sprintf("fwm/%d/%d", s.Family, s.FWMark)
	}
	return fmt.Sprintf("%d/%v", s.Protocol, netip.AddrPortFrom(s.Address, s.Port))
}

func (c *Client) find(s cipvs.Service) (int, *fakeSvc) {
	for i, f := range c.svcs {
		if svcKey(f.svc) == svcKey(s) {
			return i, f
		}
	}
	return -1, nil
}

func (c *Client) mutate(call string, s cipvs.Service) error {
	c.Calls = append(c.Calls, call+" "+svcKey(s))
	if c.Fail != nil {
		return c.Fail(call)
	}
	return nil
}

// Info implements cipvs.Client.
func (c *Client) Info() (cipvs.Info, error) {
	return cipvs.Info{Version: [3]int{1, 2, 1}, ConnectionTableSize: 4096}, nil
}

// Config implements cipvs.Client.
func (c *Client) Config() (cipvs.Config, error) { return cipvs.Config{}, nil }

// SetConfig implements cipvs.Client.
func (c *Client) SetConfig(cipvs.Config) error { return nil }

// Services implements cipvs.Client.
func (c *Client) Services() ([]cipvs.ServiceExtended, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.svcs) == 0 {
		return nil, os.ErrNotExist
	}
	var out []cipvs.ServiceExtended
	for _, f := range c.svcs {
		s := f.svc
		s.Flags |= cipvs.ServiceHashed
		out = append(out, cipvs.ServiceExtended{Service: s, Stats: f.stats, Stats64: f.stats})
	}
	return out, nil
}

// Service implements cipvs.Client.
func (c *Client) Service(s cipvs.Service) (cipvs.ServiceExtended, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, f := c.find(s)
	if f == nil {
		return cipvs.ServiceExtended{}, os.ErrNotExist
	}
	out := f.svc
	out.Flags |= cipvs.ServiceHashed
	return cipvs.ServiceExtended{Service: out, Stats: f.stats, Stats64: f.stats}, nil
}

// CreateService implements cipvs.Client.
func (c *Client) CreateService(s cipvs.Service) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.mutate("CreateService", s); err != nil {
		return err
	}
	if !s.Netmask.IsValid() {
		return syscall.EINVAL
	}
	if _, f := c.find(s); f != nil {
		return syscall.EEXIST
	}
	c.svcs = append(c.svcs, &fakeSvc{svc: s})
	return nil
}

// UpdateService implements cipvs.Client.
func (c *Client) UpdateService(s cipvs.Service) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.mutate("UpdateService", s); err != nil {
		return err
	}
	_, f := c.find(s)
	if f == nil {
		return syscall.ESRCH
	}
	if !s.Netmask.IsValid() {
		s.Netmask = f.svc.Netmask
	}
	f.svc = s
	return nil
}

// RemoveService implements cipvs.Client.
func (c *Client) RemoveService(s cipvs.Service) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.mutate("RemoveService", s); err != nil {
		return err
	}
	i, f := c.find(s)
	if f == nil {
		return syscall.ESRCH
	}
	c.svcs = slices.Delete(c.svcs, i, i+1)
	return nil
}

// Destinations implements cipvs.Client.
func (c *Client) Destinations(s cipvs.Service) ([]cipvs.DestinationExtended, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, f := c.find(s)
	if f == nil {
		return nil, syscall.ESRCH
	}
	if len(f.dests) == 0 {
		return nil, os.ErrNotExist
	}
	return slices.Clone(f.dests), nil
}

func (f *fakeSvc) dest(d cipvs.Destination) int {
	return slices.IndexFunc(f.dests, func(x cipvs.DestinationExtended) bool {
		return x.Address == d.Address && x.Port == d.Port
	})
}

// CreateDestination implements cipvs.Client.
func (c *Client) CreateDestination(s cipvs.Service, d cipvs.Destination) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.mutate("CreateDestination "+d.Address.String(), s); err != nil {
		return err
	}
	_, f := c.find(s)
	if f == nil {
		return syscall.ESRCH
	}
	if f.dest(d) >= 0 {
		return syscall.EEXIST
	}
	f.dests = append(f.dests, cipvs.DestinationExtended{Destination: d})
	return nil
}

// UpdateDestination implements cipvs.Client.
func (c *Client) UpdateDestination(s cipvs.Service, d cipvs.Destination) error {
	return c.onDest("UpdateDestination", s, d, func(f *fakeSvc, i int) { f.dests[i].Destination = d })
}

// RemoveDestination implements cipvs.Client.
func (c *Client) RemoveDestination(s cipvs.Service, d cipvs.Destination) error {
	return c.onDest("RemoveDestination", s, d, func(f *fakeSvc, i int) { f.dests = slices.Delete(f.dests, i, i+1) })
}

// onDest runs op on an existing destination of an existing service, with the
// kernel's errors when either is missing.
func (c *Client) onDest(name string, s cipvs.Service, d cipvs.Destination, op func(f *fakeSvc, i int)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.mutate(name+" "+d.Address.String(), s); err != nil {
		return err
	}
	_, f := c.find(s)
	if f == nil {
		return syscall.ESRCH
	}
	i := f.dest(d)
	if i < 0 {
		return syscall.ENOENT
	}
	op(f, i)
	return nil
}

// SetConns sets the connection counts the kernel would report for the
// destination at addr of every service, as traffic would.
func (c *Client) SetConns(addr netip.AddrPort, active, inactive uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.svcs {
		for i := range f.dests {
			if netip.AddrPortFrom(f.dests[i].Address, f.dests[i].Port) == addr {
				f.dests[i].ActiveConnections = active
				f.dests[i].InactiveConnections = inactive
			}
		}
	}
}

// ResetCalls forgets the recorded calls.
func (c *Client) ResetCalls() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Calls = nil
}
