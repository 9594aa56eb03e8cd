package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// A migration is one schema version: statements that bring the schema from version-1 to version. Every
// statement is idempotent (IF NOT EXISTS, INSERT-or-ignore), because MySQL commits DDL implicitly: a node
// that crashes half way through a migration, or a second node racing the first, re-runs it harmlessly.
// The version row is written last, so a version is recorded only once all its statements ran.
//
// Statements are written once for both dialects; {{table}} expands to the dialect's table options and
// {{insert_ignore}} to its INSERT-unless-duplicate verb. Append new versions; never edit a released one.
type migration struct {
	version int
	stmts   []string
}

var migrations = []migration{
	{1, []string{
		// The log counter: one row whose value is the Seq of the newest committed event. Bumping it inside
		// the appending transaction serializes appends, which is what makes Seq commit-ordered (doc.go).
		`CREATE TABLE IF NOT EXISTS log_seq (id INT NOT NULL PRIMARY KEY, n BIGINT NOT NULL) {{table}}`,
		`{{insert_ignore}} INTO log_seq (id, n) VALUES (1, 0)`,
		`CREATE TABLE IF NOT EXISTS events (
			seq     BIGINT NOT NULL PRIMARY KEY,
			msgid   VARCHAR(64) NOT NULL,
			t       BIGINT NOT NULL,
			node    VARCHAR(64) NOT NULL,
			kind    VARCHAR(16) NOT NULL,
			target  VARCHAR(255) NOT NULL,
			hkey    VARCHAR(255) NOT NULL,
			sender  VARCHAR(512) NOT NULL,
			account VARCHAR(64) NOT NULL,
			body    BLOB NOT NULL, -- bytes as received: IRC text need not be UTF-8
			params  TEXT NOT NULL,
			tags    TEXT NOT NULL
		) {{table}}`,
		`CREATE UNIQUE INDEX IF NOT EXISTS events_msgid ON events (msgid)`,
		`CREATE INDEX IF NOT EXISTS events_hkey_seq ON events (hkey, seq)`,
		`CREATE INDEX IF NOT EXISTS events_hkey_t ON events (hkey, t, seq)`,
		// One row per participant of each private conversation, for CHATHISTORY TARGETS.
		`CREATE TABLE IF NOT EXISTS dm_index (
			nick VARCHAR(64) NOT NULL,
			hkey VARCHAR(255) NOT NULL,
			PRIMARY KEY (nick, hkey)
		) {{table}}`,
		`CREATE TABLE IF NOT EXISTS accounts (
			name_folded VARCHAR(64) NOT NULL PRIMARY KEY,
			name        VARCHAR(64) NOT NULL,
			hash        VARCHAR(255) NOT NULL,
			created     BIGINT NOT NULL
		) {{table}}`,
		`CREATE TABLE IF NOT EXISTS channels (
			name_folded VARCHAR(255) NOT NULL PRIMARY KEY,
			name        VARCHAR(255) NOT NULL,
			topic       BLOB NOT NULL,
			topic_by    VARCHAR(512) NOT NULL,
			topic_at    BIGINT NOT NULL,
			modes       VARCHAR(64) NOT NULL,
			ckey        VARCHAR(255) NOT NULL,
			climit      INT NOT NULL,
			created     BIGINT NOT NULL
		) {{table}}`,
		// heartbeat is in microseconds of the database's clock, so node clocks do not matter.
		`CREATE TABLE IF NOT EXISTS nodes (
			node      VARCHAR(64) NOT NULL PRIMARY KEY,
			heartbeat BIGINT NOT NULL,
			reaped    INT NOT NULL
		) {{table}}`,
		`CREATE TABLE IF NOT EXISTS sessions (
			id          VARCHAR(64) NOT NULL PRIMARY KEY,
			node        VARCHAR(64) NOT NULL,
			nick        VARCHAR(64) NOT NULL,
			nick_folded VARCHAR(64) NOT NULL,
			username    VARCHAR(64) NOT NULL,
			host        VARCHAR(255) NOT NULL,
			account     VARCHAR(64) NOT NULL,
			realname    BLOB NOT NULL,
			since       BIGINT NOT NULL
		) {{table}}`,
		`CREATE UNIQUE INDEX IF NOT EXISTS sessions_nick ON sessions (nick_folded)`,
		`CREATE INDEX IF NOT EXISTS sessions_node ON sessions (node)`,
		`CREATE TABLE IF NOT EXISTS members (
			channel_folded VARCHAR(255) NOT NULL,
			session_id     VARCHAR(64) NOT NULL,
			channel        VARCHAR(255) NOT NULL,
			modes          VARCHAR(16) NOT NULL,
			PRIMARY KEY (channel_folded, session_id)
		) {{table}}`,
		`CREATE INDEX IF NOT EXISTS members_session ON members (session_id)`,
	}},
	{2, []string{
		// Channel bans (+b), one row per mask, apart from the channels row: two nodes adding different
		// masks at once touch different rows, where a list in a channels column would lose one of them
		// to the other's REPLACE. mask_folded is the key so "*!*@Host" and "*!*@host" are one ban.
		`CREATE TABLE IF NOT EXISTS channel_bans (
			channel_folded VARCHAR(255) NOT NULL,
			mask_folded    VARCHAR(255) NOT NULL,
			channel        VARCHAR(255) NOT NULL,
			mask           VARCHAR(255) NOT NULL,
			set_by         VARCHAR(512) NOT NULL,
			set_at         BIGINT NOT NULL,
			PRIMARY KEY (channel_folded, mask_folded)
		) {{table}}`,
	}},
	{3, []string{
		// A channel exists exactly while it has members (RFC 2812 §1.3), since changes and their events
		// commit together (doc.go). Channels that earlier versions kept after their last member left go,
		// with their bans.
		`DELETE FROM channels WHERE name_folded NOT IN (SELECT channel_folded FROM members)`,
		`DELETE FROM channel_bans WHERE channel_folded NOT IN (SELECT name_folded FROM channels)`,
	}},
	{4, []string{
		// Ban exceptions (+e) and invite exceptions (+I), as channel_bans with the list letter
		// (lists.go). They go with their channel, as bans do.
		`CREATE TABLE IF NOT EXISTS channel_masks (
			channel_folded VARCHAR(255) NOT NULL,
			list           CHAR(1) NOT NULL,
			mask_folded    VARCHAR(255) NOT NULL,
			channel        VARCHAR(255) NOT NULL,
			mask           VARCHAR(255) NOT NULL,
			set_by         VARCHAR(512) NOT NULL,
			set_at         BIGINT NOT NULL,
			PRIMARY KEY (channel_folded, list, mask_folded)
		) {{table}}`,
	}},
	{5, []string{
		// A session's away message and user modes (sessionpresence.go), beside its row so that
		// registration, the hot path, writes nothing more.
		`CREATE TABLE IF NOT EXISTS session_presence (
			session_id VARCHAR(64) NOT NULL PRIMARY KEY,
			away       BLOB NOT NULL,
			umodes     VARCHAR(32) NOT NULL
		) {{table}}`,
	}},
}

// latestVersion is the schema version this binary expects.
func latestVersion() int { return migrations[len(migrations)-1].version }

// migrate applies every migration in ms newer than the database's version. Concurrent callers (nodes
// starting together) are serialized by the dialect's lock; the statements are idempotent regardless.
// A database whose version is newer than the newest in ms is refused: an old binary must not write to a
// schema it does not know.
func migrate(ctx context.Context, db *sql.DB, d *dialect, ms []migration) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	unlock, err := d.lockMigrations(ctx, conn)
	if err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer unlock()

	if _, err := conn.ExecContext(ctx, d.expand(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INT NOT NULL PRIMARY KEY,
		applied_at BIGINT NOT NULL
	) {{table}}`)); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var cur sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if n := ms[len(ms)-1].version; int(cur.Int64) > n {
		return fmt.Errorf("migrate: database schema version %d is newer than this binary's %d: upgrade chatd",
			cur.Int64, n)
	}
	for _, m := range ms {
		if m.version <= int(cur.Int64) {
			continue
		}
		if err := applyMigration(ctx, conn, d, m); err != nil {
			return fmt.Errorf("migrate to version %d: %w", m.version, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, conn *sql.Conn, d *dialect, m migration) error {
	// A transaction makes the whole version atomic on SQLite. On MySQL each DDL statement commits
	// implicitly; idempotent statements make a re-run after a partial failure safe there.
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range m.stmts {
		if _, err := tx.ExecContext(ctx, d.expand(s)); err != nil {
			return fmt.Errorf("%s: %w", firstLine(s), err)
		}
	}
	if _, err := tx.ExecContext(ctx, d.expand(`{{insert_ignore}} INTO schema_migrations (version, applied_at) VALUES (?, {{now_us}})`), m.version); err != nil {
		return fmt.Errorf("record version: %w", err)
	}
	return tx.Commit()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
