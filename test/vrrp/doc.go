// Package vrrp (test/vrrp) holds the integration tests of vrrpd (RFC 5798, VRRPv3):
// two routers and a client in network namespaces (test/netns), the VIP's
// reachability measured from the client by a 5 ms TCP probe (test/probe), and
// VIP ownership read by netlink inside each router's namespace.
//
// Every scenario runs against vrrpd and, as a reference that proves the test
// itself, against Debian's keepalived in VRRPv3 mode; the interop tests mix
// the two on one segment in both roles, in VRRPv3, in VRRPv2 (RFC 3768,
// keepalived's default) and with vrrpd's VRRPv2 compatibility (RFC 5798
// §8.4.2), and with keepalived sending from the virtual MAC. The tests need root, iproute2 and
// keepalived, and skip with a message otherwise; vrrpd subtests skip while
// ./cmd/vrrpd does not build.
//
// Timing is never asserted here (a 2-core shared machine makes that flaky):
// outages are logged, and test/failoverbench measures them.
package vrrp
