// Package store is the shared database of a chatd cluster: the message log (which is also the history
// served by IRCv3 draft/chathistory, https://ircv3.net/specs/extensions/chathistory), accounts
// (passwords hashed with argon2id, RFC 9106), persistent channel state (with ban lists) and cluster
// presence (which session of which node holds which nick, and who is in which channel). Names are
// compared casefolded under CASEMAPPING=ascii (Fold).
//
// MySQL/MariaDB is the source of truth when several nodes share one database; embedded SQLite (pure Go,
// modernc.org/sqlite) serves a single node. Both run the same queries and migrations; dialect.go holds
// what differs.
//
// # The log: commit-ordered positions
//
// Every event gets a log position Seq from a one-row counter, bumped in the appending transaction:
//
//	UPDATE log_seq SET n = LAST_INSERT_ID(n + k) WHERE id = 1   -- row lock held until commit
//	INSERT INTO events (seq, ...) VALUES (n-k+1, ...), ...      -- the k events of this batch
//	COMMIT
//
// Why Tail can neither skip nor repeat (the AUTO_INCREMENT hazard: ids assigned at insert can commit out
// of order, so a reader of "id > cursor" passes over a row that commits later):
//
//  1. Positions are dense. A transaction that rolls back also rolls back its counter bump, so the next
//     one reuses the positions: no gaps are ever created.
//  2. Positions are commit-ordered. The counter row's exclusive lock is held until commit, so the
//     transaction that gets positions after n waits until the one holding n has committed. InnoDB
//     makes a transaction visible to new reads before it releases its locks (trx_commit_in_memory in
//     MariaDB's storage/innobase/trx/trx0trx.cc deregisters it from the active set "for consistent
//     snapshot" and only then releases its locks; the redo log flush comes after both), and SQLite has
//     a single writer (BEGIN IMMEDIATE), so whenever position m is visible every position below m is.
//  3. So any read sees a prefix 1..h of the log. Tail reads "seq > cursor ORDER BY seq" in its own
//     autocommit snapshot, returns the rows up to the first missing position and moves the cursor to
//     the last row returned. By (3) the rows it returns are exactly cursor+1..h, and the next call
//     starts at h+1: nothing is skipped, nothing returned twice.
//
// Tail checks density anyway and stops at a missing position. Such a hole cannot be produced by the
// protocol; should one persist (a row deleted by hand), Tail steps over it after holeTimeout so a node
// cannot stall forever.
//
// The counter serializes appends across all nodes, so the time it is held bounds the cluster's commit
// rate. Two things keep that time short: statements that need no position run before the bump, and
// Append group-commits: concurrent Appends of one Store are written by a committer in one transaction
// (one bump, one multi-row INSERT, one commit and log flush), with two committers so a batch can take
// the counter while the previous one waits for its flush (InnoDB releases row locks before the flush).
// Benchmarks: BenchmarkAppendMariaDB, BenchmarkAppendSQLite. The alternative, gap-aware tailing of
// AUTO_INCREMENT ids (a hole is waited for, then declared rolled back after a timeout), would let
// appends run in parallel but makes delivery latency depend on that timeout whenever a transaction
// really rolls back, and is correct only if no commit takes longer than the timeout; group commit
// already gives the rate a node needs, so the simpler invariant was kept.
//
// Append returns only after the commit, so a node that delivers an event after Append (or only from
// its own Tail) never shows a client anything that is not in history, and a client that reconnects to
// another node after its node died recovers with CHATHISTORY AFTER its last msgid. Msgids are chosen by
// the caller, globally unique (a unique index refuses a duplicate with ErrExists), so clients can drop
// duplicates.
//
// One caveat, inherent to InnoDB: because a transaction is visible before its redo log is flushed,
// another node's Tail can read an event a few milliseconds before it is durable. Only a crash of the
// database itself in that window loses such an event (TestCommittedSurvivesDatabaseCrash checks that
// everything Append acknowledged survives a crash); the database is the single point of failure of the
// design anyway.
//
// History is keyed by conversation: Fold(channel), or DMKey(a, b) for a private conversation. A msgid
// reference compares by Seq, a timestamp reference by the event's time (milliseconds); either way the
// Limit events are counted in Seq order, because times are not monotonic in Seq and a client pages on
// from the msgid of the last event it got (TestHistoryPagingSkewedTimes).
//
// # One transaction per change
//
// The presence tables (sessions, members, channels, channel_bans) are a cache of the log: at every
// commit point they are exactly the effect of the events 1..h, applied in order. Nodes rely on it:
// a node's world is loaded from the tables and then kept by applying events, so the two must never
// disagree. The invariant is kept by construction: the only writes to those tables are a change
// committed with its event (Commit), the reaper's (ReapDeadQuit, with the QUITs), and migrations.
// (The standalone ClaimNick, Join, Part, SaveChannel, AddBan... and ReapDead write without an event:
// they serve tests and tools, never the nodes of a running cluster.)
//
//  1. Atomicity. Commit runs the change's statements and the INSERT of its event in one database
//     transaction. If any statement fails (the change refuses, the event's INSERT fails, the commit
//     fails, the process dies), the transaction rolls back whole, so there is no state in which the
//     tables hold a change whose event is missing, or the log holds an event whose change is missing.
//     This is what "Append may or may not have been committed" could not give when the tables were
//     written in a transaction of their own: the undo of a failed append could delete a session whose
//     event had in fact committed, and a failed append after a Join left a membership no running node
//     would ever see but every node started later would load.
//  2. Order. A change's statements take row locks (on what they write, and every read they decide on
//     is a locking read: change.go) held until commit, and its event's position is taken under the
//     counter's lock, last. Two changes that touch a common row are therefore serialized, and the one
//     that commits first has the lower position: the order of the events is an order in which the
//     changes could have run one after the other. Changes to disjoint rows commute. So applying the
//     events in Seq order to the tables at position p gives the tables at any later position.
//     (SQLite has a single writer, so there every transaction is serialized whole.)
//  3. Snapshots. Snapshot reads the counter and the tables in one read transaction (a consistent
//     snapshot on InnoDB; one WAL read mark on SQLite), which sees a prefix 1..h of the log (the Tail
//     argument) and, by (1), exactly the changes of that prefix. A node that loads a snapshot and tails
//     from its Head applies every later event once, to the state it was committed against.
//
// Changes are group-committed like events: concurrent Commits of one Store run in one transaction, one
// after the other, followed by one multi-row INSERT of their events. A change that fails is answered
// with its error and the batch is run again without it (a failed statement's effects go with the
// rolled back transaction; a change may therefore run more than once and must set, not accumulate,
// what it reports). A registration storm thus costs one transaction per batch, not three per client.
//
// A change is decided against the stored rows, not the caller's view, which may lag the log: whether
// a JOIN creates the channel (and makes the joiner its operator), the member modes a MODE +o adds to,
// the ban count checked against the limit. A channel row exists exactly while it has members (RFC 2812
// §1.3): Part, ReleaseSession and the reaper delete a channel, with its bans, in the transaction that
// removes its last member, and Join creates it afresh.
//
// # Presence
//
// Nick uniqueness across nodes is the unique index on the casefolded nick of the sessions table. Each
// node calls Heartbeat periodically (it must do so before claiming sessions: the sessions of a node
// that never beat are never reaped); heartbeats carry the database's clock (NOW(6), julianday('now')),
// so node clocks do not matter. ReapDead takes the sessions of nodes whose heartbeat is stale under a
// locking read of the node rows, so two reapers never both report a session; ReapDeadQuit appends
// their QUITs in the same transaction, so a reaper dying half way cannot lose them (with ReapDead the
// caller appends them). A reaped node that beats again learns it with ErrReaped and must drop its
// clients. Transactions lock mostly in one order (nodes, sessions, channels, members, bans, then the
// log counter, always last; change.go lists the exceptions), and the deadlocks InnoDB may still report
// are retried whole.
//
// Names (nicks, channels, targets, prefixes, accounts) must be valid UTF-8 (ErrInvalid otherwise);
// free text (message bodies, topics, realnames) is stored as bytes, since IRC does not guarantee
// UTF-8 there.
//
// # Migrations
//
// Numbered versions (migrations.go), recorded in schema_migrations and applied on Open, serialized
// between nodes by GET_LOCK on MySQL. Statements are idempotent because MySQL commits DDL implicitly;
// on SQLite a version is one transaction. A database newer than the binary is refused.
package store
