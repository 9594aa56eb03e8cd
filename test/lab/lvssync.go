package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// How the kernel's connection-sync daemon re-sends connections, and why
// the lab's VMs change it (-lvs-sync-refresh).
//
// The master director sends a connection to the backup when it becomes
// established and then, by default, once every sync period (50) packets
// it sees from the client, at packet 3, 53, 103 (net.ipv4.vs.sync_threshold
// "3 50": threshold, period; 6.1 has no separate sync_period sysctl). A
// backup that runs all along gets every connection at its third packet.
// A director that starts as backup while sessions are already open learns
// only those that cross such a packet while it listens. vrrpd leaves the
// kernel's sync daemon running when it stops (a stopped vrrpd's director
// keeps listening as backup), so a restarted lb1 already knows every
// session; keepalived stops it at exit, so a restarted lb1 must learn the
// table again in the 3-4 s it waits as backup before it preempts, and at
// a chat session's packet rate about half the sessions do not cross a
// re-send point in that time. With sync_threshold "3 0" (no period) and
// sync_refresh_period N (seconds) the master re-sends a connection on its
// first packet after N seconds instead, so a director that listens for
// longer than N (plus up to 2 s the master may hold a part-filled sync
// buffer) learns every connection that carries traffic.

// syncResend is what the VMs set: the sync period (sync_threshold's
// second value), sync_refresh_period, and why, for the guest's /init.
func (t *Topology) syncResend() (period, refresh int, why string) {
	if t.SyncRefresh <= 0 {
		return 50, 0, "kernel defaults (-lvs-sync-refresh 0): every 50 packets"
	}
	s := max(1, int(t.SyncRefresh/time.Second))
	return 0, s, fmt.Sprintf("every connection with traffic at most every %d s (-lvs-sync-refresh)", s)
}

// captureTAP records the headers of every TCP packet and sync message
// (UDP 8848) crossing lb's TAP, both ways, in logs/<lb>.pcap: the
// evidence of who broke a session at a takeover (a director answers a
// packet its IPVS does not claim with its own stack's reset; a director
// that forwards a server's reply without un-NAT makes the client reset
// the server).
func (t *Topology) captureTAP(lb string) error {
	pcap := filepath.Join(t.Lab.Dir(), lb+".pcap")
	_, err := t.Switch.Start(context.Background(), "tcpdump-"+lb, "tcpdump", "-i", lb, "-n", "-U", "-s", "96", "-Z", "root", "-w", pcap, "tcp or udp port 8848")
	return err
}
