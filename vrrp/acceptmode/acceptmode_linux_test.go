package acceptmode

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/test/netns"
	"github.com/hachat/hachat/test/probe"
)

// TestRefusesVirtualAddressesOnly: a client reaches the router's own
// addresses and, until the filter is set, its virtual ones; with the filter
// set, packets to the virtual addresses are dropped and counted, IPv6
// neighbour discovery for them still works, and the router itself still
// reaches them over loopback. Closing removes the table.
func TestRefusesVirtualAddressesOnly(t *testing.T) {
	l := netns.NewT(t, "acc")
	sw := l.MustSwitch("sw")
	p := netip.MustParsePrefix
	client, router := l.MustHost("client"), l.MustHost("router")
	l.MustLink(client, sw, "eth0", p("198.18.1.10/24"), p("2001:2::10/64"))
	l.MustLink(router, sw, "eth0", p("198.18.1.11/24"), p("198.18.1.100/24"), p("2001:2::11/64"), p("2001:2::100/64"))
	var srv *probe.Server
	if err := router.Do(func() (err error) { srv, err = probe.Listen(":7000", "router"); return err }); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dial := func(h *netns.Host, addr string, timeout time.Duration) error {
		return h.Do(func() error {
			c, err := net.DialTimeout("tcp", addr, timeout)
			if err == nil {
				c.Close()
			}
			return err
		})
	}
	const own4, own6, vip4, vip6 = "198.18.1.11:7000", "[2001:2::11]:7000", "198.18.1.100:7000", "[2001:2::100]:7000"
	for _, a := range []string{own4, own6, vip4, vip6} {
		if err := dial(client, a, 5*time.Second); err != nil {
			t.Fatalf("before the filter: %v", err)
		}
	}

	var f *Filter
	if err := router.Do(func() (err error) { f, err = Open(""); return err }); err != nil {
		t.Fatal(err)
	}
	if err := f.Set([]netip.Addr{netip.MustParseAddr("198.18.1.100"), netip.MustParseAddr("2001:2::100")}); err != nil {
		t.Fatal(err)
	}
	// Forget the router's MACs: the IPv6 attempt must resolve the virtual
	// address anew, through the neighbour discovery the filter lets pass.
	if out, err := client.Run(context.Background(), "ip", "neigh", "flush", "dev", "eth0"); err != nil {
		t.Fatal(err, out)
	}
	for _, a := range []string{vip4, vip6} {
		if err := dial(client, a, 500*time.Millisecond); err == nil {
			t.Errorf("%s: connected through the filter", a)
		}
	}
	checkUnicastND(t, client)
	dropped, err := f.Dropped()
	if err != nil {
		t.Fatal(err)
	}
	if dropped["ipv4"] == 0 || dropped["ipv6"] == 0 {
		t.Errorf("dropped %v, want packets counted for both families", dropped)
	}
	for _, a := range []string{own4, own6} {
		if err := dial(client, a, 5*time.Second); err != nil {
			t.Errorf("own address refused: %v", err)
		}
	}
	for _, a := range []string{vip4, vip6} {
		if err := dial(router, a, 5*time.Second); err != nil {
			t.Errorf("loopback to %s refused: %v", a, err)
		}
	}

	// Without addresses the table goes, and the counters read as none.
	if err := f.Set(nil); err != nil {
		t.Fatal(err)
	}
	if d, err := f.Dropped(); err != nil || len(d) != 0 {
		t.Errorf("counters without the table: %v, %v; want none and no error", d, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := router.Run(context.Background(), "nft", "list", "tables"); err != nil || strings.Contains(out, DefaultTable) {
		t.Errorf("table left after Close: %v %s", err, out)
	}
	for _, a := range []string{vip4, vip6} {
		if err := dial(client, a, 5*time.Second); err != nil {
			t.Errorf("after Close: %v", err)
		}
	}
}

// checkUnicastND: the client's neighbour entry for the IPv6 virtual address
// is made stale, and a packet to it makes the client confirm the entry with
// a neighbour solicitation sent to the address itself (RFC 4861 §7.3.3),
// which the filter must let through: the entry becomes REACHABLE, not
// FAILED.
func checkUnicastND(t *testing.T, client *netns.Host) {
	t.Helper()
	ctx := context.Background()
	if err := client.Sysctl("net/ipv6/neigh/eth0/delay_first_probe_time", "1"); err != nil {
		t.Fatal(err)
	}
	if out, err := client.Run(ctx, "ip", "-6", "neigh", "change", "2001:2::100", "dev", "eth0", "nud", "stale"); err != nil {
		t.Fatal(err, out)
	}
	if err := client.Do(func() error {
		c, err := net.Dial("udp", "[2001:2::100]:9")
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("x"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, err := client.Run(ctx, "ip", "-6", "neigh", "show", "2001:2::100", "dev", "eth0")
		if err != nil {
			t.Fatal(err, out)
		}
		switch {
		case strings.Contains(out, "REACHABLE"):
			return
		case strings.Contains(out, "FAILED") || strings.TrimSpace(out) == "":
			t.Errorf("unicast neighbour solicitation to the virtual address refused: %q", out)
			return
		case time.Now().After(deadline):
			t.Errorf("neighbour entry not confirmed: %q", out)
			return
		}
	}
}
