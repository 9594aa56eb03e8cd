package main

import (
	"fmt"
	"strings"

	"github.com/hachat/hachat/ipvs"
)

// keepalivedConf is lb's keepalived configuration for -dataplane
// keepalived-vm: what vrrpd's configuration says (writeVrrpdConfig), in
// the paper's software: VRRP with 1 s adverts and preemption, lb1 at 150
// and lb2 at 100, both VIPs; LVS NAT with rr and the connection-sync
// daemon following the instance; an HTTP check of chatd's /readyz.
func keepalivedConf(lb string) string {
	var rs strings.Builder
	for _, a := range []string{app1Chat, app2Chat} {
		host, port, _ := strings.Cut(a, ":")
		fmt.Fprintf(&rs, `  real_server %s %s {
    HTTP_GET {
      url {
        path /readyz
        status_code 200
      }
      connect_port %s
      connect_timeout 1
      retry 1
      delay_before_retry 1
    }
  }
`, host, port, httpPort)
	}
	return fmt.Sprintf(`global_defs {
  router_id %[1]s
  lvs_sync_daemon lan0 chat
}
vrrp_instance chat {
  state BACKUP
  interface lan0
  virtual_router_id %[2]d
  priority %[3]d
  advert_int 1
  virtual_ipaddress {
    %[4]s
    %[5]s
  }
}
virtual_server %[6]s %[7]s {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
%[8]s}
`, lb, vrid, lbPriority[lb], vipFront, vipBack, vipAddr, chatPort, rs.String())
}

// parseIPVSList turns `ipvsadm -Ln` into the balancer status the lab's
// checks read: each configured real server of the chat service is up when
// keepalived has it in the table with a weight (keepalived removes a
// server whose check fails), down otherwise.
func parseIPVSList(out string) []ipvs.ServiceStatus {
	weights := map[string]int{}
	in := false
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 3 && f[0] == "TCP":
			in = f[1] == vipChat
		case in && len(f) >= 4 && f[0] == "->" && f[1] != "RemoteAddress:Port":
			var w int
			fmt.Sscan(f[3], &w)
			weights[f[1]] = w
		}
	}
	st := ipvs.ServiceStatus{Name: "chat", Service: "TCP " + vipChat, Scheduler: "rr", DataPlane: "ipvs (keepalived)", Programmed: true}
	for _, a := range []string{app1Chat, app2Chat} {
		w, ok := weights[a]
		h := "down"
		if ok && w > 0 {
			h = "up"
		}
		st.RealServers = append(st.RealServers, ipvs.RealServerStatus{Address: a, Forwarding: "nat", Weight: w, ConfigWeight: 1, Health: h})
	}
	return []ipvs.ServiceStatus{st}
}
