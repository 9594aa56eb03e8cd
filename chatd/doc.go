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
package chatd
