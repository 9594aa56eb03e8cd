// Package health is the health-check engine of vrrpd: the "checkers" half
// of keepalived (keepalived.conf(5), "LVS CONFIGURATION": TCP_CHECK,
// HTTP_GET, SSL_GET, MISC_CHECK, PING_CHECK, UDP_CHECK, SMTP_CHECK,
// DNS_CHECK) and its vrrp_script, rebuilt as small Go parts that the L4
// balancer (package ipvs) and the VRRP track scripts (package vrrp) both
// reuse. It knows nothing of either: what a verdict means for a virtual
// service (weights, quorum, sorry server) is the balancer's business
// (package ipvs/quorum), and what it means for a VRRP priority is vrrp's.
//
// The parts, from the wire up:
//
//   - [Prober] performs one check and returns nil for "up". [TCP] connects
//     and closes, or optionally runs a TLS handshake and a send/expect
//     dialogue (an IRC PING answered by PONG proves the daemon's event loop
//     is alive, not just the kernel's backlog); [HTTP] sends one GET (HTTP/1.1, RFC 9110 §9.3.1, RFC 9112)
//     over plain TCP or TLS (RFC 8446) with an optional Host header and SNI
//     (RFC 6066 §3), and judges the status code, and optionally the body by
//     regular expression or keepalived-style MD5 digest; [Exec] runs a script
//     whose exit status 0 means up, in its own process group so that a
//     timeout kills the script and everything it spawned (the process side
//     is package internal/procexec); [ICMP] sends one
//     echo request (RFC 792, RFC 4443) over a ping socket or a raw one;
//     [UDP] sends a datagram and fails on an ICMP error or, when a reply is
//     required, on silence or other bytes; [SMTP] wants a 220 greeting and
//     a 250 to HELO (RFC 5321); [DNS] wants a NOERROR answer to its
//     question (RFC 1035); [All] runs several probes of one server and
//     fails when any fails. Every probe takes
//     its deadline from its context. Failures are classified by [Classify]
//     into a [FailureKind] so that metrics can say why checks fail.
//
//   - [Tracker] is the pure rise/fall state of one target. It counts
//     consecutive successes and failures: a down target goes up after Rise
//     consecutive successes, an up target goes down after Fall consecutive
//     failures. The initial state is configurable: Down (keepalived's
//     "alpha"), Up (keepalived's default for real servers) or Unknown, where
//     the first result decides at once (keepalived's vrrp_script without
//     init_fail). It steps on (now, ok) and does no I/O, so its timing is a
//     table test.
//
//   - [Monitor] runs many targets, each on its own interval, and reports
//     state changes through a callback as [Update] values. One scheduler
//     goroutine keeps a heap of due times and one timer from an injected
//     [Clock]; probes run in their own goroutines, at most one per target at
//     a time, bounded by a concurrency limit. A tick that finds the previous
//     probe of the same target still running waits for it and runs as soon
//     as it ends; a second such tick is dropped and counted as an overrun,
//     so a slow target never builds a backlog. Targets can be added,
//     replaced (keeping their state, as keepalived does across a reload)
//     and removed while it runs. [Monitor.Snapshot] and [Monitor.Stats] feed
//     status displays and metrics.
//
// # Timing guarantees
//
// The monitor schedules each target at a fixed rate: the first probe runs at
// a random offset in [0, Jitter×Interval) after the target is added (so
// that a thousand targets added together do not probe in lockstep), and
// every later probe runs exactly Interval after the previous one was due.
// Jitter is applied to the phase only, never to the period, so the bounds of
// the tracker hold: once a real server starts failing, it is marked down by
// the Fall-th failing probe, which finishes at most Fall×Interval + Timeout
// after the failure began (the first Interval is the wait for the next
// probe; a refused connection fails at once, a black hole only after
// Timeout). Likewise a recovered server is back after Rise×Interval +
// Timeout at most (with Timeout up to Interval; a longer Timeout, which
// keepalived allows, stretches the bound by the probes it delays). A probe that lasts past
// its next tick delays that probe until it ends (counted as deferred), the
// one way a target's probes fall behind the grid. TestMonitorDetectionBound
// checks these bounds for many phases. With a RetryInterval (keepalived's
// delay_before_retry) an up target that fails is probed again after
// RetryInterval until the failure is confirmed or a success breaks the run,
// which brings the bound down to Interval + (Fall-1)×RetryInterval +
// Fall×Timeout.
//
// # Active and backup nodes
//
// Nothing here depends on the VRRP state. vrrpd runs the same monitor on the
// master and on the backups, so a backup that takes over already knows which
// real servers are up (keepalived's ha_suspend, which stops checks on the
// backup, is deliberately not offered).
//
// # Companion packages
//
// Package healthtest has a fake [Clock] for tests of code that embeds a
// monitor; package healthmetrics exports a monitor's counters to
// Prometheus. The package itself never logs: it reports through values,
// callbacks and counters, and every failed check is counted under a named
// [FailureKind].
package health
