package health_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/hachat/hachat/health"
	"github.com/hachat/hachat/test/netns"
)

// TestICMPNamespaces follows keepalived.conf(5) PING_CHECK (RFC 792 echo)
// between two hosts of a throw-away lab: a host that answers is up; one
// that ignores echo requests, and an address no host has (its ARP goes
// unanswered), are down when the probe's deadline passes.
func TestICMPNamespaces(t *testing.T) {
	lab := netns.NewT(t, "hchk")
	sw, err := lab.Switch("sw")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := lab.Host("srv")
	if err != nil {
		t.Fatal(err)
	}
	lb, err := lab.Host("lb")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lab.Link(srv, sw, "eth0", netip.MustParsePrefix("198.18.40.2/24")); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.Link(lb, sw, "eth0", netip.MustParsePrefix("198.18.40.1/24")); err != nil {
		t.Fatal(err)
	}
	probe := func(addr string, d time.Duration) (err error) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		lb.Do(func() error {
			err = (&health.ICMP{Addr: netip.MustParseAddr(addr)}).Probe(ctx)
			return nil
		})
		return err
	}
	// The first probe also waits for ARP and DAD on a busy machine: give it time.
	if err := probe("198.18.40.2", 10*time.Second); err != nil {
		t.Fatalf("ping a live host: %v", err)
	}
	if err := probe("198.18.40.9", time.Second); health.Classify(err) != health.KindTimeout && health.Classify(err) != health.KindUnreachable {
		t.Errorf("ping an absent address: %v (%s), want a timeout or unreachable", err, health.Classify(err))
	}
	if err := srv.Sysctl("net.ipv4.icmp_echo_ignore_all", "1"); err != nil {
		t.Fatal(err)
	}
	if err := probe("198.18.40.2", time.Second); health.Classify(err) != health.KindTimeout {
		t.Errorf("ping a host that ignores echo: %v (%s), want a timeout", err, health.Classify(err))
	}
}
