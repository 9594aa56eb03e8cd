// Package vrrp implements VRRPv3 as described in RFC 5798 and RFC 9568,
// and VRRPv2 (RFC 3768) for peers that speak only that, keepalived's
// default: an instance speaks one version, or VRRPv3 with the VRRPv2
// compatibility of RFC 5798 §8.4.2.
//
// The package has two halves. The protocol, pure and without I/O:
//
//   - [Advert] is one VRRPv3 ADVERTISEMENT (RFC 5798 §5.1/§5.2), or VRRPv2
//     one (RFC 3768 §5), as pure data.
//     [Advert.Marshal] and [ParseAdvert] convert it to and from the bytes of
//     the IP payload; package vrrplayer has the same message as a gopacket
//     layer, which a program registers for IP protocol 112 explicitly
//     (vrrplayer.Register).
//   - The IPv4 checksum is sent with the IPv4 pseudo-header, as RFC 5798 §5.2.8
//     says and as keepalived and FRR still do by default. RFC 9568 §5.2.8
//     changed it to cover the VRRP message only (VRRPv2's rule). Both forms
//     parse; an instance takes only the form it sends unless told to be
//     lenient, as keepalived (see [ChecksumForm], [DropChecksumForm]).
//   - Every reason a received advert is refused is a named [DropReason],
//     returned as a [*DropError] so the daemon can count it. [RxPolicy.Check]
//     applies all the receive checks of RFC 5798 §7.1 (TTL 255, own echo,
//     unicast peer list, the message itself, VRID) and [DropReasons] lists
//     every reason.
//   - [Machine] is the RFC 5798 §6.4 state machine (Initialize, Backup,
//     Master) plus a Fault state for trackers and sync groups. It is pure: it
//     never reads the clock, starts goroutines or does I/O. The caller feeds
//     it [Event]s with the current time and executes the [Action]s it
//     returns one after the other, in the order given, and delivers
//     [TimerExpired] once now reaches [Machine.Deadline]. The order is the
//     one that loses no packet on a hand-over: a new Master takes the
//     addresses over ([TakeOver]) before it reports the [Transition] and
//     sends its first advert ([SendAdvert]), which makes the old Master let
//     go; a resigning Master reports the transition and sends priority 0,
//     and [Release]s its addresses only after a hand-over hold, when the
//     new Master advertises or the hold expires; a Master yielding to a
//     better one sends priority 0, reports, and releases at once. A Master
//     that receives a losing advert answers it at once, as RFC 9568 §6.4.3
//     added, and announces its addresses again ([Announce]).
//   - The Machine also keeps the timing rules that are ours, not the
//     RFC's (machine_timing.go): the hand-over hold
//     ([MachineConfig.HandOverHold]), a takeover deferred while received
//     packets are still queued or while a late timer gives a stalled
//     Master a chance ([TimerExpired.Pending], [DeferredTakeover]), and
//     re-announcements at most once per interval.
//   - [Packet] is one received VRRP packet with the IP header fields the
//     receive checks need, and [Conn] the socket contract that yields it: the
//     seam between the wire and whatever reads it (a raw socket in
//     vrrp/host, an in-memory link in vrrp/vrrptest).
//
// The rest of VRRP lives in packages of its own. All import this one; only
// vrrpmetrics imports the runtime, and nothing imports the Linux side but
// the daemon and tests:
//
//   - vrrp/router is the runtime: an Instance drives one Machine per virtual
//     router against the kernel interfaces it declares (AddrManager,
//     Announcer, VMACLinks; Conn from here), a Demux per interface hands
//     it its adverts, and trackers (TrackHub), sync groups and notify hooks
//     feed it.
//   - vrrp/host is the Linux side of those interfaces: raw IP sockets and
//     the virtual MAC receive path (AF_PACKET), netlink addresses,
//     neighbours and macvlans, gratuitous ARP and unsolicited NA frames.
//   - vrrp/vrrplayer is the gopacket layer, vrrp/vrrpmetrics the Prometheus
//     collector, vrrp/vrrptest the in-memory fakes of the kernel for tests,
//     vrrp/acceptmode the nftables rules of Accept_Mode.
//
// Timers are kept as time.Duration and computed multiply-before-divide, so the
// Skew_Time of a priority 254 router advertising every 10 ms is 78.125 µs,
// not zero (RFC 5798 §6.1).
package vrrp
