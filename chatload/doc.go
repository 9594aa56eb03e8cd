// Package chatload is a load and failover generator for IRC servers. It
// speaks plain IRC (RFC 1459, RFC 2812, as profiled by modern.ircdocs.horse)
// plus the IRCv3 capabilities echo-message, message-tags (msgid),
// server-time, batch and draft/chathistory, so it can measure any IRC
// server, and it reports with httperf's names and meanings (httperf(1)
// §OUTPUT) so that its tables line up with the figures of the paper that
// used httperf.
//
// # Runs
//
//   - RunStorm: an open-loop connection storm. Connection i is scheduled at
//     t0 + i/rate whatever the server does (no coordinated omission); each
//     connection registers (NICK/USER, CAP LS 302 when capabilities are
//     wanted, until 001), optionally joins a channel, sends K messages
//     (with an optional think time between them), optionally stays connected
//     for a hold time answering PINGs, and quits. Latencies go into HDR
//     histograms.
//   - RunSeries: several storm points (conns:rate), each repeated, with the
//     median and spread per point: the paper's Table 1 and Figures 3 and 4.
//   - RunSteady: S senders at R messages/s into channels of M members
//     spread across nodes; end-to-end fan-out latency from the intended send
//     time to each receiver, delivered messages/s.
//   - RunFailover: a steady load during which a hook kills a node or the
//     VRRP master; per-client outage and reconnect time, then resume with
//     CHATHISTORY AFTER msgid=<last seen> and count messages missing (must
//     be 0) and duplicated (dropped by msgid).
//   - RunCeiling: raise the rate step by step until errors or p99 cross a
//     threshold; report the highest rate held.
//
// # Figures, as httperf defines them
//
//   - Connection rate: connections initiated / test duration, where the
//     duration runs from the first scheduled start to the end of the last
//     connection. Max concurrency is the most connections open at once.
//   - Connection time: lifetime of successful connections, measured here
//     from the intended start (so client lag is charged, not hidden) to the
//     server's close after QUIT. Connect time: intended start to TCP
//     established. Welcome time (not in httperf): intended start to 001,
//     what a user who connected on schedule waited, queueing included.
//   - Reply time (httperf's "response"): request sent to reply received.
//     An IRC session has three kinds of request: registration (first byte of
//     NICK/USER to 001), JOIN (to its echo) and PRIVMSG (to its echo-message
//     echo, or to the PONG of a PING sent behind it when the server lacks
//     echo-message). All merges them; that is the paper's "response time".
//   - Reply rate: replies per second in 5-second samples; only complete
//     samples count.
//   - Net I/O: payload bytes sent and received on the TCP connections per
//     second of test duration, KB = 1024 bytes, no TCP/IP headers. This is
//     the paper's "throughput (KB/s)".
//
// Every Summary also carries p50, p90, p99 and p99.9.
//
// # Error classes
//
// httperf counts every failed connection once, in the class of its first
// error. The mapping, checked against httperf's core.c, is:
//
//	client-timo  chatload's own --timeout watchdog fired, in any step:
//	             connect (httperf arms the same watchdog on connect()),
//	             001, JOIN, echo, or the close after QUIT
//	socket-timo  the kernel reported ETIMEDOUT (SYN or data
//	             retransmissions exhausted)
//	connrefused  ECONNREFUSED
//	connreset    ECONNRESET, EPIPE, ECONNABORTED, and an EOF before the
//	             awaited reply (httperf's do_recv turns a premature close
//	             into ECONNRESET)
//	fd-unavail   EMFILE or ENFILE: the client is out of descriptors
//	addrunavail  EADDRNOTAVAIL: out of ephemeral ports or a bad source
//	             address
//	other        anything else, notably an IRC-level refusal (ERROR,
//	             433 nick in use, 465 banned, 471 channel full, FAIL)
//
// Each error is also tagged with the session phase where it happened
// (connect, register, join, message, hold, quit), so a report can tell a
// dial timeout from a reply timeout. Connections cut short because the
// caller cancelled the run are counted as aborted, not as errors. httperf(1) warns that a run with
// fd-unavail or addrunavail errors says nothing about the server; chatload
// adds a warning for those, and for the other ways the client can be the
// bottleneck: the open-file limit (raised to the hard limit at start, as
// httperf does), the ephemeral port range, CPU saturation (getrusage), and
// connection starts lagging their schedule.
//
// Source addresses (SourceAddrs, ParseSourceAddrs accepts CIDR prefixes
// such as 127.0.0.0/28) are bound round robin with IP_BIND_ADDRESS_NO_PORT,
// so each (source, server) pair gets the whole ephemeral port range. A storm
// against loopback servers that would run out of ports spreads itself over
// 127.0.0.2, 127.0.0.3, ... unasked, and says so.
//
// Results are JSON-tagged; WriteMarkdown renders any of them, PlotSeries
// draws the paper's Figures 3 and 4 for one or more series (single server
// against load balanced), PlotCeiling the search, PlotStorm one storm over
// time, PlotSteady and PlotFailover messages per second over time with the
// fault marked.
//
// Libraries never log: live figures reach the caller through a Progress
// callback, and warnings are part of each result.
package chatload
