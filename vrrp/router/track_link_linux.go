//go:build linux

package router

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// linkUp reports whether a link can carry traffic: administratively up and
// with carrier (operstate up, or unknown for drivers that do not report it).
func linkUp(l netlink.Link) bool {
	a := l.Attrs()
	if a.RawFlags&unix.IFF_UP == 0 {
		return false
	}
	return a.OperState == netlink.OperUp || (a.OperState == netlink.OperUnknown && a.RawFlags&unix.IFF_LOWER_UP != 0)
}

// WatchLinks records the link state of every interface in hub as
// InterfaceKey(name), first from a dump and then from rtnetlink
// notifications, until ctx is done, in the current network namespace.
func WatchLinks(ctx context.Context, hub *TrackHub) error {
	ch := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	if err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{ListExisting: true, ErrorCallback: func(error) {}}); err != nil {
		return fmt.Errorf("vrrp: watch links: %w", err)
	}
	// An interface that does not exist sends no updates: after the dump,
	// every tracked interface still without a state is absent, so down.
	absent := time.NewTicker(2 * time.Second)
	defer absent.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-absent.C:
			for _, key := range hub.Unknown(InterfaceKey("")) {
				name := strings.TrimPrefix(key, InterfaceKey(""))
				if _, err := netlink.LinkByName(name); err != nil {
					hub.SetUp(key, false, "absent")
				}
			}
		case u, ok := <-ch:
			if !ok {
				return fmt.Errorf("vrrp: link notifications stopped")
			}
			up := linkUp(u.Link)
			if u.Header.Type == unix.RTM_DELLINK { // the interface is gone
				up = false
			}
			hub.SetUp(InterfaceKey(u.Link.Attrs().Name), up, fmt.Sprintf("%s (%s)", describeUp(up), u.Link.Attrs().OperState))
		}
	}
}
