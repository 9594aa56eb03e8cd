package store

// The Galera store's connection pools: a database/sql connector that dials the elected writer, and a
// connection wrapper that retires a pooled connection as soon as its node is no longer the writer, so
// a failover moves every later statement without waiting for errors.

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync"

	"github.com/go-sql-driver/mysql"
)

// lazyConnector builds the driver's connector for one node's config on first use.
type lazyConnector struct {
	cfg  *mysql.Config
	once sync.Once
	c    driver.Connector
	err  error
}

func (l *lazyConnector) get() (driver.Connector, error) {
	l.once.Do(func() { l.c, l.err = mysql.NewConnector(l.cfg) })
	return l.c, l.err
}

// galeraConnector opens connections to the current writer: the write pool's, or with causal reads the
// read pool's.
type galeraConnector struct {
	g    *galera
	read bool
}

func (c *galeraConnector) Connect(ctx context.Context) (driver.Conn, error) {
	n, err := c.g.awaitWriter(ctx)
	if err != nil {
		return nil, err
	}
	lc := n.wc
	if c.read {
		lc = n.rc
	}
	conn, err := lc.get()
	if err != nil {
		return nil, err
	}
	dc, err := conn.Connect(ctx)
	if err != nil {
		if suspect, _ := nodeError(err); suspect {
			c.g.suspect(n, err, true) // a node that cannot be reached cannot be the writer
		}
		return nil, err
	}
	return &galeraConn{inner: dc, g: c.g, n: n}, nil
}

func (c *galeraConnector) Driver() driver.Driver { return &mysql.MySQLDriver{} }

// galeraConn forwards everything to the driver's connection (which implements every optional
// interface used here) and reports a node that fails to the health checker.
type galeraConn struct {
	inner driver.Conn
	g     *galera
	n     *galeraNode
}

var errNoInterface = errors.New("store: galera: driver connection lacks an interface")

func (c *galeraConn) note(err error) error {
	if suspect, down := nodeError(err); suspect {
		c.g.suspect(c.n, err, down)
	}
	return err
}

func (c *galeraConn) Prepare(q string) (driver.Stmt, error) {
	st, err := c.inner.Prepare(q)
	return st, c.note(err)
}

func (c *galeraConn) Close() error { return c.inner.Close() }

func (c *galeraConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *galeraConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	b, ok := c.inner.(driver.ConnBeginTx)
	if !ok {
		return nil, errNoInterface
	}
	tx, err := b.BeginTx(ctx, opts)
	return tx, c.note(err)
}

func (c *galeraConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	p, ok := c.inner.(driver.ConnPrepareContext)
	if !ok {
		return c.Prepare(q)
	}
	st, err := p.PrepareContext(ctx, q)
	return st, c.note(err)
}

func (c *galeraConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.inner.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	r, err := e.ExecContext(ctx, q, args)
	return r, c.note(err)
}

func (c *galeraConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	e, ok := c.inner.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	r, err := e.QueryContext(ctx, q, args)
	return r, c.note(err)
}

func (c *galeraConn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return c.note(p.Ping(ctx))
	}
	return nil
}

func (c *galeraConn) CheckNamedValue(nv *driver.NamedValue) error {
	if v, ok := c.inner.(driver.NamedValueChecker); ok {
		return v.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// ResetSession runs before a pooled connection is reused: one to a node that is no longer the writer is
// refused (database/sql then opens a new one, to the new writer).
func (c *galeraConn) ResetSession(ctx context.Context) error {
	if !c.g.current(c.n) {
		return driver.ErrBadConn
	}
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// IsValid runs before a connection goes back to the pool: only the writer's are kept.
func (c *galeraConn) IsValid() bool {
	if !c.g.current(c.n) {
		return false
	}
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}
