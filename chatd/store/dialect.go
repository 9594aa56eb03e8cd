package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect isolates what differs between MySQL/MariaDB and SQLite. Everything else (queries, migrations,
// the log protocol) is shared.
type dialect struct {
	name string
	// vars expand {{name}} in SQL text.
	vars map[string]string
	// forUpdate is appended to SELECTs that must lock the rows they read (MySQL). SQLite needs none: a
	// write transaction (BEGIN IMMEDIATE) already excludes every other writer.
	forUpdate string
	// nextSeq reserves k consecutive log positions inside the transaction q runs in and returns the last one.
	nextSeq func(ctx context.Context, q querier, k int) (int64, error)
	// isDuplicate reports whether err is a unique or primary key violation.
	isDuplicate func(err error) bool
	// isRetryable reports whether err aborted a transaction that can simply be run again (deadlock,
	// lock wait timeout, busy database).
	isRetryable func(err error) bool
	// writeTx are the options of a write transaction (tryTx); nil for the database's default.
	writeTx *sql.TxOptions
	// inlineCommit says whether appendCommitTx sends the append and the COMMIT in one multi-statement
	// round trip (MySQL, with multiStatements on: mysqlOptions).
	inlineCommit bool
	// prepare says whether hot statements are prepared once and reused (stmtcache.go).
	prepare bool
	// committers is the number of batches one Store may have in flight (append.go).
	committers int
	// lockMigrations serializes migrations between processes; it returns the unlock function.
	lockMigrations func(ctx context.Context, conn *sql.Conn) (func(), error)
}

// expand replaces {{name}} placeholders with the dialect's SQL. Results are kept (expanded): hot
// statements (a nick claim, a join) are expanded on every call, and the set of texts with
// placeholders is fixed in the source, so the cache cannot grow with the data.
func (d *dialect) expand(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	key := [2]string{d.name, s}
	if v, ok := expanded.Load(key); ok {
		return v.(string)
	}
	out := s
	for k, v := range d.vars {
		out = strings.ReplaceAll(out, "{{"+k+"}}", v)
	}
	expanded.Store(key, out)
	return out
}

var expanded sync.Map // [dialect name, SQL text] -> expanded text

var mysqlDialect = &dialect{
	name:       "mysql",
	committers: 2,
	vars: map[string]string{
		// utf8mb4_bin: names are compared after our own ASCII casefolding (CASEMAPPING=ascii); a _ci
		// collation would also merge "é" and "e" and break nick uniqueness semantics.
		"table":         "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
		"insert_ignore": "INSERT IGNORE",
		// NOW(6) is in the session time zone and UNIX_TIMESTAMP converts back from it, so the result is
		// the server's clock in µs since the epoch whatever the zone.
		"now_us": "CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)",
	},
	forUpdate:    " FOR UPDATE",
	inlineCommit: true,
	// READ COMMITTED: InnoDB then takes no gap locks for locking reads, only the locks on the rows
	// read and written, and those are what a change's decisions rest on (change.go). Under the
	// default REPEATABLE READ, the gaps locked by "is there a member left?" and "which channels is
	// this session in?" blocked other sessions' JOINs into neighbouring keys and made two nodes'
	// batches deadlock (docs/benchmarks.md, "The log counter's lock").
	writeTx: &sql.TxOptions{Isolation: sql.LevelReadCommitted},
	nextSeq: func(ctx context.Context, q querier, k int) (int64, error) {
		// LAST_INSERT_ID(expr) makes the new value come back in the OK packet: one round trip. The row
		// lock this UPDATE takes is held until commit.
		res, err := q.ExecContext(ctx, `UPDATE log_seq SET n = LAST_INSERT_ID(n + ?) WHERE id = 1`, k)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	},
	isDuplicate: func(err error) bool {
		var me *mysql.MySQLError
		return errors.As(err, &me) && me.Number == 1062 // ER_DUP_ENTRY
	},
	isRetryable: func(err error) bool {
		var me *mysql.MySQLError
		// ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT
		return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
	},
	lockMigrations: func(ctx context.Context, conn *sql.Conn) (func(), error) {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK('chatd.store.migrate', 60)`).Scan(&got); err != nil {
			return nil, err
		}
		if got.Int64 != 1 {
			return nil, errors.New("timed out waiting for another node's migration")
		}
		return func() {
			// A fresh context: the caller's may be cancelled, and the lock must go before the conn
			// returns to the pool.
			conn.ExecContext(context.Background(), `DO RELEASE_LOCK('chatd.store.migrate')`)
		}, nil
	},
}

var sqliteDialect = &dialect{
	name: "sqlite",
	vars: map[string]string{
		"table":         "",
		"insert_ignore": "INSERT OR IGNORE",
		"now_us":        "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)",
	},
	prepare: true,
	// One writer connection: a second committer could only wait for it holding a smaller batch.
	committers: 1,
	nextSeq: func(ctx context.Context, q querier, k int) (int64, error) {
		// BEGIN IMMEDIATE holds the database's one write lock, so read-then-write is atomic. It
		// costs less than UPDATE ... RETURNING: 126 against 148 µs of CPU per registration
		// committed alone (8 Dec 2026).
		var n int64
		if err := q.QueryRowContext(ctx, `SELECT n FROM log_seq WHERE id = 1`).Scan(&n); err != nil {
			return 0, err
		}
		_, err := q.ExecContext(ctx, `UPDATE log_seq SET n = ? WHERE id = 1`, n+int64(k))
		return n + int64(k), err
	},
	isDuplicate: func(err error) bool {
		var se *sqlite.Error
		if !errors.As(err, &se) {
			return false
		}
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
	isRetryable: func(err error) bool {
		var se *sqlite.Error
		if !errors.As(err, &se) {
			return false
		}
		c := se.Code() & 0xff // primary result code
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	},
	lockMigrations: func(context.Context, *sql.Conn) (func(), error) {
		// SQLite runs each migration in one BEGIN IMMEDIATE transaction, which excludes other writers.
		return func() {}, nil
	},
}

// openMySQL opens a MySQL/MariaDB store from a go-sql-driver DSN. It forces the options the store relies
// on: parseTime off (times are integers), UTC session time zone, utf8mb4.
func openMySQL(ctx context.Context, dsn string) (Store, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("open mysql: parse DSN: %w", err)
	}
	mysqlOptions(cfg)
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, fmt.Errorf("open mysql: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	// The tailer's own connections: with History on the shared pool, 32 slow history queries would make
	// live delivery wait (sqlStore.t).
	tail, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open mysql: %w", err)
	}
	tail.SetMaxOpenConns(tailConns)
	tail.SetMaxIdleConns(tailConns)
	return newSQLStore(ctx, mysqlDialect, db, db, tail)
}

// mysqlOptions forces the connection options the store relies on.
func mysqlOptions(cfg *mysql.Config) {
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.Collation = "utf8mb4_bin"
	// UPDATE reports matched rather than changed rows, so "0 rows" means "no such row" in both dialects.
	cfg.ClientFoundRows = true
	// Placeholders are filled in by the driver (safe with utf8mb4): one round trip per statement instead
	// of prepare + execute, which matters most inside the append transaction, while the log counter is
	// locked.
	cfg.InterpolateParams = true
	// appendCommitTx sends the append and its COMMIT in one packet. Every statement text is fixed in
	// the source and every value a placeholder, so no input can add a statement.
	cfg.MultiStatements = true
}

// tailConns is the size of the pool Tail and Head use alone: one tailer per node, one spare for Head.
const tailConns = 2

// openSQLite opens (creating if needed) an SQLite database at path, or an in-memory one for ":memory:".
// Writes go through one connection in BEGIN IMMEDIATE mode (SQLite has one writer anyway, and an
// immediate write lock keeps the log counter commit-ordered); a file database gets a separate pool of
// read-only connections, which WAL lets run beside the writer.
func openSQLite(ctx context.Context, path string) (Store, error) {
	const pragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	if path == ":memory:" || path == "" {
		// One connection shared by readers and writers: each new connection to :memory: would be a
		// different, empty database.
		db, err := sql.Open("sqlite", "file::memory:?"+pragmas+"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		db.SetMaxOpenConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		return newSQLStore(ctx, sqliteDialect, db, db, nil)
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	base := "file:" + path + "?" + pragmas
	w, err := sql.Open("sqlite", base+"&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	if err := enableWAL(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", base+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	tail, err := sql.Open("sqlite", base+"&_query_only=1")
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	tail.SetMaxOpenConns(1)
	return newSQLStore(ctx, sqliteDialect, w, r, tail)
}

// createPrivate creates the database file with mode 0600 whatever the umask, and takes group and other
// permissions away from an existing one and its -wal and -shm companions: they hold password hashes.
// SQLite creates a missing -wal or -shm with the mode of the database file (unix VFS, robust_open), so
// they stay private after a checkpoint removes them too.
func createPrivate(path string) error {
	for i, p := range []string{path, path + "-wal", path + "-shm"} {
		flag := os.O_RDWR
		if i == 0 {
			flag |= os.O_CREATE
		}
		f, err := os.OpenFile(p, flag, 0o600)
		if i > 0 && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err == nil && fi.Mode().Perm()&0o077 != 0 {
			err = f.Chmod(fi.Mode().Perm() &^ 0o077)
		}
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// enableWAL switches the database file to WAL mode (persistent: done once per file). Switching needs
// the file to itself, and SQLite reports SQLITE_BUSY at once, without its busy handler, while another
// process or handle has it open in a transaction, so retry with backoff until ctx ends or 10 s pass.
func enableWAL(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	delay := time.Millisecond
	for {
		var mode string
		err := db.QueryRowContext(ctx, `PRAGMA journal_mode=WAL`).Scan(&mode)
		if err == nil {
			if !strings.EqualFold(mode, "wal") && mode != "memory" {
				return fmt.Errorf("journal_mode is %q, want wal", mode)
			}
			return nil
		}
		if !sqliteDialect.isRetryable(err) {
			return fmt.Errorf("enable WAL: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("enable WAL: %w (last: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}
