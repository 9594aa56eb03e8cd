// Package vrrptest holds in-memory fakes of the kernel for VRRP tests: a
// shared link of vrrp.Conns (FakeLink), interface addresses, neighbours
// and macvlans (FakeAddrs), announcements (FakeAnnouncer), and on Linux a
// pair of network namespaces joined by a veth (NewNSPair). It imports only
// package vrrp, so the tests of vrrp/router can use it.
package vrrptest
