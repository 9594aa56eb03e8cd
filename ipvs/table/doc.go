// Package table is the data-plane-neutral model of a virtual server table,
// in the terms of Linux IPVS (ipvsadm(8)): virtual services keyed by
// address, port and protocol or by firewall mark, each with a scheduler,
// persistence and real servers ("destinations") with weights, forwarding
// methods and connection thresholds.
//
// It also holds the reconciler's core, the pure function [Plan], and the
// [DataPlane] interface that the kernel IPVS (ipvs/kernel) and nftables
// (ipvs/nft) data planes implement. It imports neither, so that both and
// the balancer (package ipvs) can share it.
package table
