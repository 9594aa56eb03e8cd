package vrrpd

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/health"
	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/ipvs"
	"github.com/hachat/hachat/ipvs/table"
)

// balancerBase is the configuration package ipvs's tests start from, as
// vrrpd.yaml; balancerBaseSpec is what it must translate to (ipvs's base).
const balancerBase = `instances:
  - name: vi1
    interface: eth0
    vrid: 51
    priority: 100
    virtual_addresses: [198.18.1.100/24]
virtual_servers:
  - name: web
    address: 198.18.1.100:80
    scheduler: rr
    instance: vi1
    drain_timeout: 30s
    real_servers:
      - address: 198.18.2.21:80
      - address: 198.18.2.22:80
        weight: 2
`

func balancerBaseSpec() *ipvs.Config {
	return &ipvs.Config{
		Dataplane:  "auto",
		Interfaces: map[string]string{"vi1": "eth0"},
		Services: []ipvs.VirtualService{{
			Name: "web", Address: netip.MustParseAddrPort("198.18.1.100:80"), Protocol: table.TCP,
			Scheduler: "rr", Instance: "vi1", DrainTimeout: 30 * time.Second, SorryForwarding: table.NAT,
			RealServers: []ipvs.RealServer{
				{Address: netip.MustParseAddrPort("198.18.2.21:80"), Weight: 1, Forwarding: table.NAT, Alert: true},
				{Address: netip.MustParseAddrPort("198.18.2.22:80"), Weight: 2, Forwarding: table.NAT, Alert: true},
			},
		}},
	}
}

// vrrpd.yaml(5) VIRTUAL SERVERS and LVS SYNC: each setting reaches the
// balancer, with the defaults the man page gives (tcp, nat, weight 1,
// smtp_alert on, the check schedule, sync_id the instance's VRID).
func TestVrrpdYaml5VirtualServersReachTheBalancer(t *testing.T) {
	rs2 := "        weight: 2\n"
	for _, tc := range []struct {
		name       string
		yaml       string
		wantChange func(c *ipvs.Config, vs *ipvs.VirtualService)
	}{
		{"defaults", balancerBase, func(*ipvs.Config, *ipvs.VirtualService) {}},
		{"persistence", balancerBase + "    persistence: {timeout: 300s, netmask: 255.255.255.0}\n",
			func(_ *ipvs.Config, vs *ipvs.VirtualService) {
				vs.Persistence, vs.PersistenceMask = 300*time.Second, 24
			}},
		{"smtp_alert off", strings.Replace(balancerBase, rs2, rs2+"        smtp_alert: false\n", 1),
			func(_ *ipvs.Config, vs *ipvs.VirtualService) { vs.RealServers[1].Alert = false }},
		{"service check, quorum and sorry server", strings.Replace(balancerBase, "    drain_timeout: 30s\n",
			"    drain_timeout: 30s\n    quorum: 2\n    sorry_server: 198.18.2.99:80\n    check: {type: tcp, interval: 1s, inhibit_on_failure: true}\n", 1),
			func(_ *ipvs.Config, vs *ipvs.VirtualService) {
				vs.Quorum = 2
				sorry := netip.MustParseAddrPort("198.18.2.99:80")
				vs.Sorry = &sorry
				ch := ipvs.Check{Type: "tcp", Interval: time.Second, Timeout: time.Second, Rise: 2, Fall: 3, InhibitOnFailure: true}
				for i := range vs.RealServers {
					vs.RealServers[i].Checks = []ipvs.Check{ch}
				}
			}},
		{"initially down", strings.Replace(balancerBase, rs2, rs2+"        initially_up: false\n        check: {type: tcp}\n", 1),
			func(_ *ipvs.Config, vs *ipvs.VirtualService) {
				vs.RealServers[1].InitiallyDown = true
				vs.RealServers[1].Checks = []ipvs.Check{{Type: "tcp", Interval: 5 * time.Second, Timeout: 2 * time.Second, Rise: 2, Fall: 3}}
			}},
		{"several checks, own check first", balancerBase + `        check: {type: tcp, interval: 5s, timeout: 1s, retry_interval: 2s, fall: 3}
        checks:
          - {type: icmp, interval: 5s, timeout: 3s, retry_interval: 2s, fall: 3}
          - {type: udp, interval: 5s, timeout: 3s, retry_interval: 2s, fall: 3, payload: 0a0b, require_reply: true, expect: 0c}
          - {type: http, interval: 5s, timeout: 3s, retry_interval: 2s, fall: 3, status: [200, "300-399"]}
`, func(_ *ipvs.Config, vs *ipvs.VirtualService) {
			sched := ipvs.Check{Interval: 5 * time.Second, Timeout: 3 * time.Second, RetryInterval: 2 * time.Second, Rise: 2, Fall: 3}
			tcp, icmp, udp, http := sched, sched, sched, sched
			tcp.Type, tcp.Timeout = "tcp", time.Second
			icmp.Type = "icmp"
			udp.Type, udp.Payload, udp.RequireReply, udp.Expect = "udp", []byte{10, 11}, true, []byte{12}
			http.Type, http.Path, http.Status = "http", "/", []health.StatusRange{{Lo: 200, Hi: 200}, {Lo: 300, Hi: 399}}
			vs.RealServers[1].Checks = []ipvs.Check{tcp, icmp, udp, http}
		}},
		{"lvs_sync", balancerBase + "lvs_sync: {instance: vi1, interface: eth1}\n",
			func(c *ipvs.Config, _ *ipvs.VirtualService) {
				c.Sync = &ipvs.ConnSync{Instance: "vi1", Interface: "eth1", SyncID: 51}
			}},
		{"fwmark", strings.Replace(balancerBase, "    address: 198.18.1.100:80\n", "    fwmark: 42\n", 1),
			func(_ *ipvs.Config, vs *ipvs.VirtualService) {
				vs.Address, vs.Protocol, vs.FWMark = netip.AddrPort{}, "", 42
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("t.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			want := balancerBaseSpec()
			tc.wantChange(want, &want.Services[0])
			opts := cmp.Options{
				cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
				cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
			}
			if diff := cmp.Diff(want, BalancerConfig(cfg), opts); diff != "" {
				t.Errorf("BalancerConfig (-want +got):\n%s", diff)
			}
		})
	}
}
