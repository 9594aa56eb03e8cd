// Package vroute installs the routes and policy rules that follow a VRRP
// Master (keepalived.conf(5) virtual_routes and virtual_rules): added after
// the virtual addresses when an instance becomes Master, so that a route
// may name a virtual address as its source, and removed before the
// addresses when it leaves the Master state, rules before routes, as
// keepalived does.
//
// The kernel sits behind Kernel; Netlink is the Linux implementation and
// vroutetest.Fake the in-memory one.
package vroute
