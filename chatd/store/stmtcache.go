package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// Prepared statements for the hot queries. The embedded SQLite parses and plans every statement it is
// given (sqlite3_prepare_v2) and database/sql without a *sql.Stmt prepares, runs and finalizes it each
// time: parsing was a third of the CPU of BenchmarkRegister. A *sql.Stmt keeps the parsed statement
// per connection and only resets it between runs. Measured (27 Nov 2026, 2 shared vCPUs, load 13-17):
// BenchmarkRegister on in-memory SQLite 2,600-3,400 -> 5,600-10,100 registrations/s, on a WAL file
// 1.2-1.5x; cmd/chatbench -mode clients 210 -> 187 µs of server CPU per registration.
//
// MySQL/MariaDB does not use it (dialect.prepare): with interpolateParams a statement is already one
// round trip, parsing is the server's CPU, and BenchmarkRegister/mariadb was no faster prepared
// (700-735 vs 830-1,090 registrations/s with 2 appenders, equal with 16).
//
// Statements are prepared on first use. One cannot be prepared on the pool inside a transaction (the
// SQLite writer pool has a single connection, held by that transaction), so a miss inside a transaction
// runs the statement unprepared and prepares it in the background, where it waits for the connection.
// Only call sites whose SQL comes from a small fixed set use the cache (see maxStmts), so it cannot
// grow with the data.

// maxStmts bounds the cache; a query beyond it simply runs unprepared.
const maxStmts = 128

type stmtKey struct {
	db *sql.DB
	q  string
}

type stmtCache struct {
	mu      sync.Mutex
	m       map[stmtKey]*sql.Stmt
	pending map[stmtKey]bool
	closed  bool
	wg      sync.WaitGroup
}

// get returns the prepared statement for q on db, or nil: caching is off for the dialect, q is not
// prepared yet (it will be), or the cache is full. inTx says whether the caller holds db's connection.
func (c *stmtCache) get(db *sql.DB, q string, inTx bool) *sql.Stmt {
	k := stmtKey{db, q}
	c.mu.Lock()
	if st := c.m[k]; st != nil || c.closed || c.pending[k] || len(c.m)+len(c.pending) >= maxStmts {
		c.mu.Unlock()
		return st
	}
	if c.m == nil {
		c.m, c.pending = map[stmtKey]*sql.Stmt{}, map[stmtKey]bool{}
	}
	c.pending[k] = true
	c.mu.Unlock()
	if inTx {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.prepare(k)
		}()
		return nil
	}
	return c.prepare(k)
}

func (c *stmtCache) prepare(k stmtKey) *sql.Stmt {
	// Not the caller's context: the statement outlives the call. Bounded so Close never waits long.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := k.db.PrepareContext(ctx, k.q)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, k)
	if err != nil {
		// Left unprepared; a later call tries again (e.g. after the database came back).
		return nil
	}
	if c.closed {
		st.Close()
		return nil
	}
	c.m[k] = st
	return st
}

// close waits for background prepares and closes every statement; later gets return nil.
func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// prep runs statements on db, or in tx if set, through the store's statement cache.
type prep struct {
	s  *sqlStore
	db *sql.DB
	tx *sql.Tx
}

func (s *sqlStore) prepW() prep            { return prep{s: s, db: s.w} }
func (s *sqlStore) prepR() prep            { return prep{s: s, db: s.r} }
func (s *sqlStore) prepT() prep            { return prep{s: s, db: s.t} }
func (s *sqlStore) prepTx(tx *sql.Tx) prep { return prep{s: s, db: s.w, tx: tx} }

// txFixed is prepTx(tx) for a statement whose text varies with its arguments (a multi-row INSERT) when
// cache says this variant is common enough to keep prepared, tx otherwise.
func (s *sqlStore) txFixed(tx *sql.Tx, cache bool) querier {
	if cache {
		return s.prepTx(tx)
	}
	return tx
}

// querier is what *sql.Tx and prep have in common.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func (p prep) stmt(q string) *sql.Stmt {
	if !p.s.d.prepare {
		return nil
	}
	return p.s.stmts.get(p.db, q, p.tx != nil)
}

func (p prep) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st := p.stmt(q)
	switch {
	case st != nil && p.tx != nil:
		// Reuses the statement already prepared on the transaction's connection, if any.
		return p.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	case st != nil:
		return st.ExecContext(ctx, args...)
	case p.tx != nil:
		return p.tx.ExecContext(ctx, q, args...)
	}
	return p.db.ExecContext(ctx, q, args...)
}

func (p prep) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st := p.stmt(q)
	switch {
	case st != nil && p.tx != nil:
		return p.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	case st != nil:
		return st.QueryContext(ctx, args...)
	case p.tx != nil:
		return p.tx.QueryContext(ctx, q, args...)
	}
	return p.db.QueryContext(ctx, q, args...)
}

func (p prep) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	st := p.stmt(q)
	switch {
	case st != nil && p.tx != nil:
		return p.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	case st != nil:
		return st.QueryRowContext(ctx, args...)
	case p.tx != nil:
		return p.tx.QueryRowContext(ctx, q, args...)
	}
	return p.db.QueryRowContext(ctx, q, args...)
}
