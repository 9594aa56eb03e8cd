// Package chatd is an IRC server whose nodes share one SQL database, so any
// number of them can sit behind a layer-4 balancer.
//
// The client protocol is IRC as profiled by the Modern IRC Client Protocol
// (https://modern.ircdocs.horse, after RFC 1459 and RFC 2812) with the IRCv3
// capabilities listed in package caps (server-time, message-tags, batch,
// echo-message, labeled-response, sasl PLAIN, draft/chathistory,
// away-notify, extended-join, MONITOR and more), WHOX, and operators
// (OPER, KILL, WALLOPS, REHASH). Mode strings are parsed by package modes.
//
// Every state change and message is an event appended to the shared log
// (package store). Delivery, local or remote, happens only when a node's
// tailer reads the committed event back from the log, in log order, so what a
// client has seen is always in history and CHATHISTORY AFTER its last msgid
// resumes without a gap on any node. A UDP nudge between peers cuts the
// polling latency; correctness never depends on it.
//
// # Composition and lock order
//
// A Server is composed of four components, each in its own file and owning
// its state and lock:
//
//   - world (world.go, apply.go): users, channels and memberships on every
//     node, with the counters LUSERS reads. Only the tailer writes it, in
//     apply; handlers read it. Guarded by mu, the world lock, which also
//     guards the fields of features (feat.go) marked "s.mu".
//   - registry (registry.go, admission.go): this node's connections, the
//     per-IP admission state and the bounds on queued bytes, CHATHISTORY
//     queries and password checks. cmu guards the connection set and the
//     per-IP table; the counters are atomic.
//   - cluster (cluster.go, events.go): the tailer, heartbeat and reaper, the
//     UDP nudge, and the own events awaiting the tailer (pending, under
//     pendMu).
//   - admin (admin.go): the HTTP /healthz, /readyz, /metrics listener.
//   - parker (park_linux.go): the idle clients whose reader goroutine ended,
//     by socket, under its mu; it checks a client is not closing (Client.mu)
//     before it takes it.
//
// Locks are taken in this order, never the other way round:
//
//	world.mu  ->  registry.cmu  ->  (nothing)
//	world.mu  ->  Client.mu     ->  (nothing)
//	parker.mu ->  Client.mu     ->  (nothing)
//
// cmu and a Client's send lock are leaves: nothing is locked while either is
// held, and they are never held together. cluster.pendMu is a leaf too and is
// never held with world.mu: apply takes its op first, then locks the world.
// The smaller locks (loginGuard, rateLog, features.reloadMu) are leaves
// guarding only their own fields. A handler never commits with mu held: the
// commit waits for the tailer, which needs mu.
package chatd
