// Package router is the VRRP runtime: it drives one vrrp.Machine per
// virtual router against the kernel (RFC 5798 §6).
//
//   - Demux (one per interface and family) reads a vrrp.Conn, applies the
//     receive checks of RFC 5798 §7.1 through vrrp.RxPolicy, counts every
//     refused packet by vrrp.DropReason and hands adverts to the Instance
//     with their VRID.
//   - Instance runs one virtual router in its own loop: adverts, timer
//     expiries, tracker results and commands go in; adverts, virtual
//     addresses (AddrManager) and announcements (Announcer) come out, in
//     the order the Machine emits them (see exec). Its handlers take the
//     time as an argument, so tests drive them without a clock.
//   - TrackHub, SyncGroup, Notifier and Bus are the trackers, sync groups,
//     hook scripts and event stream.
//
// The kernel sits behind vrrp.Conn, AddrManager, Announcer and VMACLinks;
// package vrrp/host has the Linux implementations (ListenConn,
// NetlinkAddrs, RawAnnouncer, NetlinkVMAC), package vrrp/vrrptest the
// in-memory ones for tests (FakeLink, FakeAddrs, FakeAnnouncer). Metrics
// are package vrrp/vrrpmetrics.
package router
