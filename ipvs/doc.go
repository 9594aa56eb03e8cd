// Package ipvs is the L4 load balancer of vrrpd: the "LVS" half of
// keepalived (keepalived.conf(5), "LVS CONFIGURATION"), rebuilt around a
// reconciler.
//
// Virtual services and their real servers are described in the balancer's
// own terms, a [Config] (spec.go); the daemon translates its configuration
// file into it (vrrpd: internal/vrrpd.BalancerConfig), so this package
// never reads vrrpd's YAML types. A [Balancer] turns them, together with
// the health of each real server (package health), into the desired state: a list of
// [Service] values. The pure function [Plan] compares the desired state with
// what the data plane reports and returns the smallest list of [Op] values
// that makes them equal. It never flushes: a service or real server that is
// in neither the old nor the new configuration is left alone, and a real
// server that leaves the configuration is drained — weight 0 first, removed
// once its connections have ended or its drain timeout has passed — so that
// starting, restarting or reloading vrrpd does not disturb established
// traffic.
//
// Which destinations a virtual service holds, given the health of its real
// servers, its quorum and its sorry server, is decided by the pure function
// of package ipvs/quorum.
//
// Two data planes implement [DataPlane]:
//
//   - ipvs/kernel programs the Linux IPVS table (the kernel's "IP Virtual
//     Server", net/netfilter/ipvs) through generic netlink with
//     github.com/cloudflare/ipvs, and runs the kernel's connection-sync
//     daemon (ipvsadm(8) --start-daemon) through ipvs/syncd so that
//     established NAT connections survive a failover.
//   - ipvs/nft programs nftables (github.com/google/nftables) for kernels
//     without IPVS: DNAT with numgen for rr/wrr and a hash bucket table for
//     sh/mh, so that both balancers of a VRRP pair send a flow to the same
//     real server and a failover does not break it.
//
// A scheduler or forwarding method that the chosen data plane cannot do is
// a configuration error that names it (DataPlane.Supports).
//
// # Wiring into vrrpd
//
//	b, err := ipvs.NewBalancer(spec, ipvs.Options{Logger: log}) // data plane from spec.Dataplane
//	go b.Run(ctx)                       // health checks + reconcile loop; leaves the kernel as is on exit
//	b.VRRPStateChanged("vi1", true)     // on every transition, BEFORE adding the VIPs on MASTER
//	b.Reload(newSpec)                   // on SIGHUP / reload: applies the difference only
//	ipvs.FormatStatus(w, b.Status())    // vrrpctl; Status() is JSON-tagged
//	reg.MustRegister(b.Collectors()...) // Prometheus
//
// Health checks run on every node, master or backup, so that a backup that
// takes over already knows which real servers are up. The connection-sync
// daemon (lvs_sync) runs as master while its instance is MASTER and as
// backup otherwise. The nftables data plane answers for a service only
// while the service's instance is MASTER; VRRPStateChanged switches it
// before returning, so the first packet to a new master's VIP finds the
// rules.
package ipvs
