package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestKeepalivedConfPaperSetup: the keepalived VMs run the paper's setup,
// written from the lab's settings (keepalived.conf(5) keywords): VRRP with
// 1 s adverts, lb1 150 and lb2 100, both VIPs; LVS NAT with rr; the sync
// daemon following the instance; HTTP_GET on /readyz.
func TestKeepalivedConfPaperSetup(t *testing.T) {
	for lb, prio := range map[string]string{"lb1": "priority 150", "lb2": "priority 100"} {
		c := keepalivedConf(lb)
		for _, want := range []string{
			"lvs_sync_daemon lan0 chat", "vrrp_instance chat {", "interface lan0", "virtual_router_id 51", prio,
			"advert_int 1", "198.18.1.100/24", "198.18.2.254/24", "virtual_server 198.18.1.100 6667 {",
			"lb_algo rr", "lb_kind NAT", "real_server 198.18.2.21 6667 {", "real_server 198.18.2.22 6667 {",
			"path /readyz", "connect_port 8080",
		} {
			if !strings.Contains(c, want) {
				t.Errorf("%s: keepalived.conf lacks %q:\n%s", lb, want, c)
			}
		}
		if strings.Contains(c, "nopreempt") {
			t.Errorf("%s: keepalived.conf disables preemption; the paper's setup preempts", lb)
		}
	}
}

// TestParseIPVSList: keepalived's table as `ipvsadm -Ln` prints it becomes
// the balancer status the lab's checks read; a real server keepalived
// removed (failed check) is down.
func TestParseIPVSList(t *testing.T) {
	out := `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  198.18.1.100:6667 rr
  -> 198.18.2.21:6667             Masq    1      12         3
`
	st := parseIPVSList(out)
	var got []string
	for _, rs := range st[0].RealServers {
		got = append(got, rs.Address+" "+rs.Health)
	}
	if diff := cmp.Diff([]string{"198.18.2.21:6667 up", "198.18.2.22:6667 down"}, got); diff != "" {
		t.Errorf("real servers (-want +got):\n%s", diff)
	}
}
