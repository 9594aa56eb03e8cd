package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// sqlStore implements Store over database/sql for both dialects. w takes every write; r serves reads
// (the same pool except for a file SQLite database, whose readers run beside the single writer in WAL);
// t serves Tail and Head alone, so live delivery never waits for a connection behind History queries
// (a storm of CHATHISTORY once held all four SQLite readers and the tailer timed out). Only the
// in-memory SQLite database, one connection for everything, has t == r == w.
type sqlStore struct {
	d       *dialect
	w, r, t *sql.DB
	now     func() time.Time // wall clock for hole ageing only (liveness uses the database's clock)

	// Group commit of appends (append.go).
	appendCh       chan *appendReq
	quit           chan struct{}
	committersDone sync.WaitGroup
	closeOnce      sync.Once
	batches        atomic.Int64 // transactions committed by the committers (for benchmarks)
	batched        atomic.Int64 // events in them

	stmts stmtCache // prepared hot statements (stmtcache.go)

	recent   recentEvents             // the events committed last, served to Tail without a read (recent.go)
	onCommit atomic.Pointer[[]func()] // OnCommit's functions

	holeMu sync.Mutex
	holes  map[int64]time.Time // first time Tail saw a missing Seq right after its cursor

	hooks          // galera.go: set on a Galera cluster, zero otherwise
	galera *galera // galera.go: nil unless on a Galera cluster
}

// holeTimeout is how long Tail waits for a missing log position before declaring it gone (see doc.go).
const holeTimeout = 10 * time.Second

// newSQLStore takes ownership of w, r and t (t nil: Tail shares r).
func newSQLStore(ctx context.Context, d *dialect, w, r, t *sql.DB) (*sqlStore, error) {
	if t == nil {
		t = r
	}
	s := &sqlStore{d: d, w: w, r: r, t: t, now: time.Now, holes: map[int64]time.Time{}}
	s.startCommitter()
	if err := w.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", d.name, err)
	}
	if err := migrate(ctx, w, d, migrations); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", d.name, err)
	}
	return s, nil
}

func (s *sqlStore) Close() error {
	s.stopCommitter()
	s.stmts.close()
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	if s.t != s.r && s.t != s.w {
		err = errors.Join(err, s.t.Close())
	}
	if s.closeHook != nil {
		s.closeHook()
	}
	return err
}

// inTx runs f in a write transaction, retrying a few times when the database reports a deadlock or a
// busy lock (the transaction was rolled back whole, so a retry is safe).
func (s *sqlStore) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	if s.txRetry != nil {
		return s.txRetry(ctx, func() error { return s.tryTx(ctx, f) })
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.tryTx(ctx, f)
		if err == nil || !s.d.isRetryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

func (s *sqlStore) tryTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, s.d.writeTx)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		// errCommitted: f's last statement was the COMMIT (appendCommitTx); the ROLLBACK that ends
		// database/sql's transaction finds nothing left to undo.
		tx.Rollback()
		if err == errCommitted {
			return nil
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return &commitError{err}
	}
	return nil
}

// ms and fromMS convert times to the stored integer milliseconds; the zero time is stored as 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	b := make([]byte, 0, 3*n)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '?')
	}
	return string(b)
}

func (s *sqlStore) CreateAccount(ctx context.Context, name, passwordHash string) error {
	if name == "" || passwordHash == "" {
		return fmt.Errorf("create account: %w: empty name or hash", ErrInvalid)
	}
	if err := validNames(name, passwordHash); err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	_, err := s.prepW().ExecContext(ctx,
		`INSERT INTO accounts (name_folded, name, hash, created) VALUES (?, ?, ?, ?)`,
		Fold(name), name, passwordHash, ms(s.now()))
	if s.d.isDuplicate(err) {
		return fmt.Errorf("create account %q: %w", name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create account %q: %w", name, err)
	}
	return nil
}

func (s *sqlStore) Account(ctx context.Context, name string) (Account, error) {
	var a Account
	err := s.prepR().QueryRowContext(ctx, `SELECT name, hash FROM accounts WHERE name_folded = ?`, Fold(name)).Scan(&a.Name, &a.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("account %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("account %q: %w", name, err)
	}
	return a, nil
}

func (s *sqlStore) RehashAccount(ctx context.Context, name, old, new string) error {
	if new == "" {
		return fmt.Errorf("rehash account %q: %w: empty hash", name, ErrInvalid)
	}
	if err := validNames(name, new); err != nil {
		return fmt.Errorf("rehash account %q: %w", name, err)
	}
	res, err := s.prepW().ExecContext(ctx, `UPDATE accounts SET hash = ? WHERE name_folded = ? AND hash = ?`,
		new, Fold(name), old)
	if err != nil {
		return fmt.Errorf("rehash account %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("rehash account %q: %w", name, ErrNotFound)
	}
	return nil
}

const channelCols = `name, topic, topic_by, topic_at, modes, ckey, climit, created`

func scanChannel(sc interface{ Scan(...any) error }) (Channel, error) {
	var c Channel
	var topicAt, created int64
	err := sc.Scan(&c.Name, &c.Topic, &c.TopicBy, &topicAt, &c.Modes, &c.Key, &c.Limit, &created)
	c.TopicAt, c.Created = fromMS(topicAt), fromMS(created)
	return c, err
}

func (s *sqlStore) Channel(ctx context.Context, name string) (Channel, error) {
	c, err := scanChannel(s.prepR().QueryRowContext(ctx,
		`SELECT `+channelCols+` FROM channels WHERE name_folded = ?`, Fold(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return Channel{}, fmt.Errorf("channel %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Channel{}, fmt.Errorf("channel %q: %w", name, err)
	}
	return c, nil
}

func (s *sqlStore) SaveChannel(ctx context.Context, c Channel) error {
	if !IsChannel(c.Name) {
		return fmt.Errorf("save channel %q: %w: not a channel name", c.Name, ErrInvalid)
	}
	if err := validNames(c.Name, c.TopicBy, c.Modes, c.Key); err != nil {
		return fmt.Errorf("save channel: %w", err)
	}
	// REPLACE (delete + insert) is the one upsert both dialects spell the same way.
	_, err := s.prepW().ExecContext(ctx, `REPLACE INTO channels (name_folded, `+channelCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		Fold(c.Name), c.Name, c.Topic, c.TopicBy, ms(c.TopicAt), c.Modes, c.Key, c.Limit, ms(c.Created))
	if err != nil {
		return fmt.Errorf("save channel %q: %w", c.Name, err)
	}
	return nil
}

func (s *sqlStore) Channels(ctx context.Context) ([]Channel, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+channelCols+` FROM channels ORDER BY name_folded`)
	if err != nil {
		return nil, fmt.Errorf("channels: %w", err)
	}
	defer rows.Close()
	var out []Channel
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, fmt.Errorf("channels: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("channels: %w", err)
	}
	return out, nil
}

// Snapshot reads the head and the presence tables in one read transaction. On MySQL a consistent
// snapshot (REPEATABLE READ, taken at the first read) sees exactly the transactions committed before
// it; every table change commits with its events (Commit), so the tables are the effect of the events
// 1..Head. SQLite's read transaction in WAL sees one commit point likewise.
func (s *sqlStore) Snapshot(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	var opts *sql.TxOptions // SQLite: a read transaction is a snapshot already
	if s.d.name == "mysql" {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := s.r.BeginTx(ctx, opts)
	if err != nil {
		return snap, fmt.Errorf("snapshot: %w", err)
	}
	defer tx.Rollback()
	if err := s.snapshotTx(ctx, tx, &snap); err != nil {
		return Snapshot{}, fmt.Errorf("snapshot: %w", err)
	}
	return snap, nil
}

func (s *sqlStore) snapshotTx(ctx context.Context, tx *sql.Tx, snap *Snapshot) error {
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT n FROM log_seq WHERE id = 1`).Scan(&n); err != nil {
		return err
	}
	snap.Head = Cursor(n)
	rows, err := tx.QueryContext(ctx, `SELECT `+channelCols+` FROM channels ORDER BY name_folded`)
	if err != nil {
		return err
	}
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			rows.Close()
			return err
		}
		snap.Channels = append(snap.Channels, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if snap.Bans, err = scanMasks(tx.QueryContext(ctx, banQuery+maskOrder)); err != nil {
		return err
	}
	if snap.Excepts, err = scanMasks(tx.QueryContext(ctx, maskQuery+maskOrder, ListExcept)); err != nil {
		return err
	}
	if snap.Invex, err = scanMasks(tx.QueryContext(ctx, maskQuery+maskOrder, ListInvex)); err != nil {
		return err
	}
	rows, err = tx.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions ORDER BY id`)
	if err != nil {
		return err
	}
	if snap.Sessions, err = scanSessions(rows); err != nil {
		return err
	}
	if err := attachPresence(ctx, tx, snap.Sessions); err != nil {
		return err
	}
	rows, err = tx.QueryContext(ctx, `SELECT m.channel, m.session_id, s.nick, m.modes
		FROM members m JOIN sessions s ON s.id = m.session_id ORDER BY m.channel_folded, s.nick_folded`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.Channel, &m.SessionID, &m.Nick, &m.Modes); err != nil {
			return err
		}
		snap.Members = append(snap.Members, m)
	}
	return rows.Err()
}
