package vrrptest

import (
	"net/netip"
	"sync"
)

// FakeAnnouncer records announcements for tests.
type FakeAnnouncer struct {
	mu  sync.Mutex
	Log []netip.Addr
}

// Announce implements Announcer.
func (f *FakeAnnouncer) Announce(ifname string, addr netip.Addr) error {
	f.mu.Lock()
	f.Log = append(f.Log, addr)
	f.mu.Unlock()
	return nil
}

// Count returns how many announcements were made.
func (f *FakeAnnouncer) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.Log)
}
