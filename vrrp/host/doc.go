// Package host is the Linux side of the VRRP runtime (package vrrp/router):
// the kernel interfaces an Instance drives, implemented with raw sockets,
// AF_PACKET and netlink.
//
//   - ListenConn is a vrrp.Conn on a raw IP socket for protocol 112 (RFC
//     5798 §5.1: TTL/Hop Limit 255, the multicast group joined on one
//     interface); ListenVMAC reads the adverts a virtual MAC interface
//     diverts from its parent (see ParseVMACFrame).
//   - NetlinkAddrs adds and removes the virtual addresses and flushes
//     unresolved neighbour entries; NetlinkVMAC manages the macvlan that
//     carries the virtual router MAC (RFC 5798 §7.3).
//   - RawAnnouncer sends the gratuitous ARP (RFC 5227 §3) and unsolicited
//     Neighbor Advertisements (RFC 4861 §7.2.6) of a new Master, built by
//     GARPFrame and NAFrame.
//
// Nothing here imports the runtime: the interfaces are router's, satisfied
// structurally, so router's tests may use this package and this package's
// tests the runtime.
package host
