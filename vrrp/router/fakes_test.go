package router

import "github.com/hachat/hachat/vrrp/vrrptest"

// The fakes of package vrrptest implement this package's kernel interfaces
// (vrrptest imports only vrrp, so the assertions live here).
var (
	_ AddrManager               = (*vrrptest.FakeAddrs)(nil)
	_ UnresolvedNeighborFlusher = (*vrrptest.FakeAddrs)(nil)
	_ VMACLinks                 = (*vrrptest.FakeAddrs)(nil)
	_ Announcer                 = (*vrrptest.FakeAnnouncer)(nil)
	_ PacketSender              = (*vrrptest.FakeConn)(nil)
)
