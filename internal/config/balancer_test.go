package config

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// lbBase is a valid balancer section on top of base.
const lbBase = base + `virtual_servers:
  - name: irc
    address: 198.18.1.100:6667
    scheduler: sh
    instance: vi1
    check: {type: tcp, interval: 1s}
    real_servers:
      - address: 198.18.2.21:6667
      - address: 198.18.2.22:6667
        weight: 3
        check: {type: http, port: 8080}
`

func TestBalancerDefaults(t *testing.T) {
	c, err := Parse("ok.yaml", []byte(lbBase+"lvs_sync: {instance: vi1, interface: eth1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	vs := c.VirtualServers[0]
	if vs.Protocol != "tcp" || vs.Forwarding != "nat" || vs.DrainTimeout != DefaultDrainTimeout {
		t.Errorf("service defaults: %+v", vs)
	}
	if *vs.RealServers[0].Weight != 1 || *vs.RealServers[1].Weight != 3 || vs.RealServers[0].Forwarding != "nat" {
		t.Errorf("real server defaults: %+v", vs.RealServers)
	}
	if ch := vs.Check; ch.Timeout != time.Second || ch.Rise != DefaultCheckRise || ch.Fall != DefaultCheckFall {
		t.Errorf("check defaults: %+v", ch)
	}
	if ch := vs.EffectiveCheck(&vs.RealServers[1]); ch.Path != "/" || ch.Port != 8080 || ch.Interval != DefaultCheckInterval {
		t.Errorf("real server check: %+v", ch)
	}
	if c.LVSSync.SyncID != 51 {
		t.Errorf("sync id = %d, want the instance's VRID 51", c.LVSSync.SyncID)
	}
	if vs.PersistenceBits() != 32 {
		t.Errorf("persistence bits = %d", vs.PersistenceBits())
	}
}

func TestBalancerPersistence(t *testing.T) {
	c, err := Parse("ok.yaml", []byte(lbBase+"    persistence: {timeout: 300s, netmask: 255.255.255.0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if b := c.VirtualServers[0].PersistenceBits(); b != 24 {
		t.Errorf("bits = %d, want 24", b)
	}
}

func TestBalancerErrors(t *testing.T) {
	nft := strings.Replace(lbBase, "instances:", "global:\n  dataplane: nftables\ninstances:", 1)
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown scheduler", strings.Replace(lbBase, "scheduler: sh", "scheduler: fastest", 1), "virtual_servers[0].scheduler: unknown scheduler \"fastest\""},
		{"nft scheduler", strings.Replace(nft, "scheduler: sh", "scheduler: wlc", 1), "virtual_servers[0].scheduler: the nftables data plane cannot do scheduler \"wlc\""},
		{"nft tun", strings.Replace(nft, "scheduler: sh", "scheduler: sh\n    forwarding: tun", 1), "virtual_servers[0].forwarding: the nftables data plane cannot do forwarding \"tun\""},
		{"nft dr rr", strings.Replace(nft, "scheduler: sh", "scheduler: rr\n    forwarding: dr", 1), "virtual_servers[0].scheduler: the nftables data plane does forwarding dr with a hash only"},
		{"nft persistence", nft + "    persistence: {timeout: 60s}\n", "virtual_servers[0].persistence: the nftables data plane has no persistence"},
		{"nft sync", nft + "lvs_sync: {instance: vi1, interface: eth1}\n", "lvs_sync: the nftables data plane has no connection-sync daemon"},
		{"nft needs instance", strings.Replace(nft, "    instance: vi1\n", "", 1), "virtual_servers[0].instance: missing"},
		{"no port", strings.Replace(lbBase, "198.18.1.100:6667", "198.18.1.100:0", 1), "virtual_servers[0].address: 198.18.1.100:0 needs a port"},
		{"addr and mark", lbBase + "    fwmark: 3\n", "virtual_servers[0].fwmark: give either address or fwmark"},
		{"protocol", lbBase + "    protocol: icmp\n", "virtual_servers[0].protocol: unknown protocol \"icmp\""},
		{"rs family", strings.Replace(lbBase, "198.18.2.21:6667", "\"[2001:db8::1]:6667\"", 1), "virtual_servers[0].real_servers[0].address: [2001:db8::1]:6667 is not of the virtual address's family"},
		{"rs twice", strings.Replace(lbBase, "198.18.2.22:6667", "198.18.2.21:6667", 1), "virtual_servers[0].real_servers[1].address: 198.18.2.21:6667 is listed twice"},
		{"weight", strings.Replace(lbBase, "weight: 3", "weight: 70000", 1), "virtual_servers[0].real_servers[1].weight: 70000 is out of range"},
		{"thresholds", strings.Replace(lbBase, "weight: 3", "weight: 3\n        upper_threshold: 5\n        lower_threshold: 9", 1), "lower_threshold: 9 is above the upper threshold 5"},
		{"check type", strings.Replace(lbBase, "type: tcp", "type: ping", 1), "virtual_servers[0].check.type: unknown check type \"ping\""},
		{"check timeout", strings.Replace(lbBase, "interval: 1s}", "interval: 1s, timeout: -3s}", 1), "virtual_servers[0].check.timeout: -3s must be positive"},
		{"exec without command", strings.Replace(lbBase, "type: tcp", "type: exec", 1), "virtual_servers[0].check.command: missing"},
		{"persistence seconds", lbBase + "    persistence: {timeout: 1500ms}\n", "virtual_servers[0].persistence.timeout: 1.5s must be a positive whole number of seconds"},
		{"persistence mask", lbBase + "    persistence: {timeout: 60s, netmask: 255.0.255.0}\n", "virtual_servers[0].persistence.netmask: 255.0.255.0 is not a contiguous netmask"},
		{"unknown instance", strings.Replace(lbBase, "instance: vi1", "instance: nope", 1), "virtual_servers[0].instance: no instance is named \"nope\""},
		{"hysteresis", lbBase + "    quorum: 2\n    hysteresis: 2\n", "virtual_servers[0].hysteresis: 2 must be between 0 and quorum-1"},
		{"sorry family", lbBase + "    sorry_server: \"[2001:db8::9]:80\"\n", "virtual_servers[0].sorry_server: [2001:db8::9]:80 must be an address:port of the service's family"},
		{"no real servers", strings.SplitAfter(lbBase, "check: {type: tcp, interval: 1s}\n")[0], "virtual_servers[0].real_servers: missing"},
		{"duplicate service", lbBase + strings.TrimPrefix(lbBase[len(base):], "virtual_servers:\n"), "virtual_servers[1]: tcp 198.18.1.100:6667 is already defined"},
		{"sync instance", lbBase + "lvs_sync: {instance: vi9, interface: eth1}\n", "lvs_sync.instance: no instance is named \"vi9\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.yaml))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("Parse: err = %v, want Errors", err)
			}
			for _, e := range es {
				if strings.Contains(e.Error(), tc.want) {
					if e.Line == 0 {
						t.Errorf("error %q has no line", e)
					}
					return
				}
			}
			t.Errorf("errors:\n%v\nwant one containing %q", es, tc.want)
		})
	}
}

func TestMaskBits(t *testing.T) {
	for _, tc := range []struct {
		mask string
		bits int
		ok   bool
	}{
		{"255.255.255.255", 32, true}, {"255.255.255.0", 24, true}, {"255.255.128.0", 17, true},
		{"0.0.0.0", 0, true}, {"255.0.255.0", 0, false}, {"255.255.255.1", 0, false},
		{"ffff:ffff:ffff:ffff::", 64, true}, {"ffff::ffff", 0, false},
	} {
		m := mustAddr(t, tc.mask)
		bits, ok := maskBits(m)
		if bits != tc.bits || ok != tc.ok {
			t.Errorf("maskBits(%s) = %d, %v; want %d, %v", tc.mask, bits, ok, tc.bits, tc.ok)
		}
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
