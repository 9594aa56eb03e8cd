// Package probe measures a service address's availability from the client's
// side, the way a user sees it, never from the servers' logs.
//
// A Prober opens a fresh TCP connection to the target every Interval (5 ms by
// default) and reads one line, the name of the host that answered (see
// Server). Each attempt is a Result with its start time, latency, responder
// and, when it failed, a named Reason. Series.Outage is the longest run of
// failed attempts: from the start of the first failed probe to the start of
// the next successful one, so its resolution is one Interval.
//
// TCP is used rather than ICMP or a UDP echo because a completed handshake
// plus a reply proves the whole path a chat client needs: ARP resolves the
// virtual address to a live host (RFC 5798 section 8.1.2, the gratuitous ARP
// that moves the VIP), that host owns the address, and a listener answers.
// Probes run on several workers so that one timing-out attempt never delays
// the schedule; each worker can be entered into a network namespace (see
// Config.Enter) because a socket belongs to the namespace of the thread that
// created it.
package probe
