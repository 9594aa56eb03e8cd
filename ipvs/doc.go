// Package ipvs is the L4 load balancer of vrrpd: the "LVS" half of
// keepalived (keepalived.conf(5), "LVS CONFIGURATION"), rebuilt around a
// reconciler.
//
// Virtual services and their real servers come from vrrpd's configuration
// (internal/config). A [Balancer] turns them, together with the health of
// each real server (package ipvs/health), into the desired state: a list of
// [Service] values. The pure function [Plan] compares the desired state with
// what the data plane reports and returns the smallest list of [Op] values
// that makes them equal. It never flushes: a service or real server that is
// in neither the old nor the new configuration is left alone, and a real
// server that leaves the configuration is drained — weight 0 first, removed
// once its connections have ended or its drain timeout has passed — so that
// starting, restarting or reloading vrrpd does not disturb established
// traffic.
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
// a configuration error that names it ([DataPlane.Supports]).
package ipvs
