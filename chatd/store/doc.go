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
// On MySQL/MariaDB these three statements (with the conversation index before them, and a SELECT of
// LAST_INSERT_ID() after) go to the server in one multi-statement packet (appendCommitTx), the events'
// positions computed by the server from LAST_INSERT_ID(). The lock is the same and taken at the same
// point; only its hold no longer spans round trips to the chat node, or the chat node waiting for a
// CPU between them.
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
// rate. Three things keep that time short: statements that need no position run before the bump, the
// bump, INSERT and COMMIT travel in one packet (above), and
// Append group-commits: concurrent Appends of one Store are written by a committer in one transaction
// (one bump, one multi-row INSERT, one commit and log flush), with two committers on MySQL so a batch can take
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
// everything Append acknowledged survives a crash); a single database server is the single point of
// failure of that setup anyway, which the Galera setup below removes.
//
// # Galera: one writer at a time
//
// On a MariaDB Galera cluster (Open with "galera://", every node in the DSN) the database stops being a
// single point of failure. Galera replicates a transaction at COMMIT: its write set is broadcast in one
// total order to every node of the primary component, each node certifies it against the write sets
// ordered before it (a conflict on a row key aborts it with ER_LOCK_DEADLOCK, 1213, on the node that ran
// it), and every node commits the certified ones in that order. Row locks, however, are local to the
// node that runs the transaction. So why do the three claims above survive?
//
//  1. Dense. Every append updates the counter row, so any two appends conflict on its key. Run on one
//     node, the second waits for the first's lock as on a single server; run on two nodes, both read
//     the same n, and the one ordered second fails certification and is rolled back whole, counter
//     bump included. A transaction either commits with all its rows (positions n+1..n+k) or not at
//     all, so no position is skipped.
//  2. Commit-ordered. An append that commits read the counter as the previous committed append left
//     it (otherwise it would have conflicted), so positions grow in the cluster's commit order. Every
//     node applies and commits write sets in that one total order (Galera's commit order monitor, also
//     with parallel appliers), so on every node the visible rows are the prefix 1..h of one sequence;
//     nodes differ only in how long that prefix is at a given moment.
//  3. So Tail and History read a prefix on any node, and Tail's argument above holds node by node.
//     What can differ between nodes is only staleness: after a failover a chat node may read on a node
//     that has not applied the last write sets it already saw elsewhere. Reads therefore run with
//     wsrep_sync_wait=1 (causal reads): before the read the node waits until it has applied every write
//     set ordered before the read started, so a node never reads a prefix older than one it already
//     read or wrote, and a client that saw its message echoed finds it in CHATHISTORY.
//
// Correctness does not need a single writer; throughput does. With appenders on several nodes every
// concurrent pair collides on the counter and one of them is retried; with one writer they queue on the
// row lock and group-commit as on a single server. So all chat nodes write through one node at a time.
// Each chat node checks every database node every 250 ms (galera_probe) with SHOW STATUS and elects the
// first node, in DSN order, that is Synced (wsrep_local_state = 4), ready (wsrep_ready = ON) and in the
// primary component (wsrep_cluster_status = Primary). Every chat node lists the nodes in the same order,
// so they agree without talking; when two briefly disagree (one has not seen a failure yet) the
// certification argument in (1) keeps the log right and only costs retries. A pooled connection to a
// node that is no longer the writer is dropped when reused or returned (driver.SessionResetter and
// driver.Validator), so a failover moves every later statement at once. A failed dial or a wsrep
// refusal marks the node down without waiting for the next probe; a connection that merely broke asks
// for an immediate probe, so one stale connection cannot move the writer off a healthy node.
//
// A keepalived-style alternative puts the writer behind a VIP: vrrpd's balancer (or keepalived with a
// check script running the same three SHOW STATUS tests) holds a database VIP on the host of the Synced
// node with the highest priority, and every chatd uses a plain mysql:// DSN naming the VIP. The log's
// argument is the same; what changes is who decides. The VIP makes the choice once for all chat nodes
// (no brief disagreement) but adds a failover of its own (advertisement timeouts) in series with
// Galera's eviction, and a VIP that stays on a node which lost quorum must be prevented by the check
// script. The in-client election needs no extra daemon, so it is the default.
//
// Retries. A transaction is run again whole (inTx) when it failed with 1213 (certification failure or
// a brute-force abort by an applier), 1205 (lock wait timeout), 1047 (the node left the primary
// component: "WSREP has not yet prepared node for application use"), or a lost connection before its
// COMMIT: in each case it was rolled back on the node, so running it again on the current writer is
// safe. Retries back off with jitter and wait up to galera_wait (5 s) for a writer; with none, the call
// fails with ErrNoWriter. That is what a chat node in a minority partition gets: its own database node
// is non-Primary and refuses every statement, the others are unreachable, so it refuses writes (chatd
// answers FAIL ... MESSAGE_ERROR) instead of making a second history, and writes again as soon as its
// node has rejoined and is Synced. Galera's quorum is what rules out the split brain; the store only has
// to never acknowledge what the primary component did not commit.
//
// Unknown outcomes. A connection lost during COMMIT (the writer killed, a read timeout on a partitioned
// writer), or ER_ERROR_DURING_COMMIT (1180), leaves the outcome unknown: the write set may have been
// ordered before the node died, and then the survivors commit it. For an append this is settled by
// msgid, which is unique: a causal read on the new writer waits until it has applied everything ordered
// before it, including the dead writer's last write set if that was delivered (group communication
// delivers it to all members of the new primary component or to none). If all the batch's msgids are
// there with this node's name and time, it committed (Append succeeds, with those positions); if none
// are, it did not, and it is run again. If a zombie copy commits after all (a writer that was only cut
// off), the retry fails on the unique msgid and the read is repeated: a duplicate error after an unknown
// outcome means success, never a second copy. So an acknowledged append is in the log exactly once, and
// an append that returned an error may or may not be, as with any lost reply. A change committed with
// events (Commit) is settled the same way, since it commits with them or not at all; other writes
// (accounts, a change without an event) return ErrOutcomeUnknown and the caller's usual error path
// handles them.
//
// Any node's crash, the writer's or not, stops commits everywhere until the survivors evict it
// (evs.suspect_timeout plus a view change, about 5 s in the lab): until then the total order cannot
// advance past the silent member. So the outage of a writer failover is Galera's eviction time; the
// store's own part (probe, new connections, retry) is a fraction of a second.
//
// Durability moves from the writer's disk to the cluster: an acknowledged commit is in the memory of
// every node of the primary component, so the nodes run with innodb_flush_log_at_trx_commit=2 (a
// killed mariadbd loses nothing the kernel already has; losing every node's OS at once could lose up to
// a second, the usual Galera trade). Tests: TestGaleraWriterKilled, TestGaleraPartitionedMinority,
// TestGaleraUnknownCommitResolved, TestGaleraRetryClassification, and behind HACHAT_GALERA_LONG=1
// TestGaleraNodeRestartIST and TestGaleraWholeClusterRestart; in chatd, TestGaleraMinorityFailsThenResumes
// (the FAIL a client gets, and CHATHISTORY on both sides after the heal).
//
// The same design on MySQL InnoDB Cluster (Group Replication, single-primary mode): the group elects
// the primary itself and the others run read-only (super_read_only), so the election above becomes
// "the member whose performance_schema.replication_group_members row says PRIMARY and ONLINE" (or
// MySQL Router's read-write port, which follows it). Certification works as in Galera (a conflicting
// transaction fails at commit and is retried), a member without a majority stops accepting writes, and
// group_replication_consistency = BEFORE gives the causal reads that wsrep_sync_wait gives here.
//
// Limits. One writer means one row lock: the cluster's append rate is what one node's group commit
// achieves, now with a certification round trip inside every commit (docs/benchmarks.md measures the
// cost). Spreading the writers needs a log that is not one sequence: one counter per channel (a log
// per conversation key, positions dense within it), each channel's appends routed to one writer by a
// hash, and Tail turned into a merge of per-channel cursors (a node would track a vector of positions,
// and an event touching several keys, such as QUIT, would be written to each of its channels' logs).
// Cross-channel order would then no longer exist, which IRC does not promise anyway; nothing here needs
// it today, so the single log was kept.
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
//     would ever see but every node started later would load. Tests: TestCommitIsOneTransaction,
//     chatd's TestOneTransactionPerChange (a failure injected at every step of every command),
//     TestChangesSurviveDatabaseCrashWhole (MariaDB killed during a burst of registrations).
//  2. Order. A change's statements take row locks (on what they write, and every read they decide on
//     is a locking read: change.go) held until commit, and its event's position is taken under the
//     counter's lock, last. Two changes that touch a common row are therefore serialized, and the one
//     that commits first has the lower position: the order of the events is an order in which the
//     changes could have run one after the other. Changes to disjoint rows commute. So applying the
//     events in Seq order to the tables at position p gives the tables at any later position.
//     On MySQL the write transactions run at READ COMMITTED (dialect.writeTx): locking reads lock the
//     rows they find and no gaps, so a row another transaction inserts is not held off. No decision
//     rests on a gap: whether a channel is empty, or which channels a session is in, is read under
//     the lock of the parent row every writer of those rows takes first (the channel's, the
//     session's), and a channel two JOINs both found missing is created by one; the other's INSERT
//     fails on the key once the first commits, and it joins that channel (lockOrCreateChannel).
//     (SQLite has a single writer, so there every transaction is serialized whole. On Galera, where
//     row locks are local to a node, two changes that touch a common row, or merely the counter,
//     conflict in certification and the later one is rolled back whole and retried: the same order.)
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
