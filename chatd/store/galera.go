package store

// The store on a MariaDB Galera cluster (doc.go, "Galera: one writer at a time"): a writer chosen by
// health checks, whole transactions retried on certification failures, causal reads, and appends whose
// commit outcome is unknown resolved without loss or duplicate.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"database/sql/driver"

	"github.com/go-sql-driver/mysql"
)

// ErrNoWriter is returned while no node of the cluster is Synced in a primary component: a chatd on a
// minority partition refuses writes with it instead of creating a split brain.
var ErrNoWriter = errors.New("store: galera: no writable node (none is Synced in a primary component)")

// ErrOutcomeUnknown wraps the error of a transaction whose COMMIT got no answer (the node died or the
// connection broke during it): it may or may not have committed. Append resolves it itself (by msgid);
// other writes return it.
var ErrOutcomeUnknown = errors.New("store: commit outcome unknown")

// Defaults of the galera:// DSN's own parameters.
const (
	defaultProbeInterval = 250 * time.Millisecond // galera_probe: how often each node is checked
	defaultWriterWait    = 5 * time.Second        // galera_wait: how long a statement waits for a writer
	defaultIOTimeout     = 8 * time.Second        // readTimeout/writeTimeout when the DSN sets none
	probeTimeout         = 2 * time.Second        // one health check
	maxTxAttempts        = 50                     // whole-transaction retries of one call
)

// hooks are how a Galera store changes the shared SQL code: nil for a plain MySQL or SQLite store.
type hooks struct {
	// txRetry runs try (one transaction attempt) until it succeeds or must fail (inTx).
	txRetry func(ctx context.Context, try func() error) error
	// resolveAppend turns the outcome-unknown error of an append of evs into success or failure;
	// retry runs the append transaction again.
	resolveAppend func(ctx context.Context, evs []*Event, err error, retry func() error) error
	// closeHook stops the health checks after the pools are closed.
	closeHook func()
}

// commitError marks an error returned by COMMIT: the one point where a lost connection leaves the
// outcome unknown (before it, the server rolls back a transaction whose connection is gone).
type commitError struct{ err error }

func (e *commitError) Error() string { return "commit: " + e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// galera tracks the health of every node and which one takes the writes.
type galera struct {
	nodes    []*galeraNode
	interval time.Duration
	wait     time.Duration

	mu      sync.Mutex
	writer  *galeraNode   // nil while no node is healthy
	changed chan struct{} // closed (and replaced) whenever writer changes

	kick chan struct{} // asks for an immediate round of probes
	quit chan struct{}
	done sync.WaitGroup

	// Counters (GaleraStats).
	failovers, retries, unknown, resolvedCommitted, resolvedRetried, noWriter atomic.Int64
}

type galeraNode struct {
	addr   string
	w, r   *mysql.Config // writer sessions; reader sessions (causal reads)
	wc, rc *lazyConnector
	probe  *sql.DB

	mu      sync.Mutex
	healthy bool
	why     string // why not healthy, for ErrNoWriter
}

// GaleraStats counts what the Galera layer did, for tests, benchmarks and metrics.
type GaleraStats struct {
	Writer            string // address of the current writer, "" if none
	Failovers         int64  // writer changes after the first choice
	Retries           int64  // transactions run again (certification failure, lost node, ...)
	Unknown           int64  // commits whose outcome was unknown
	ResolvedCommitted int64  // unknown appends found committed (by msgid)
	ResolvedRetried   int64  // unknown appends found absent and run again
	NoWriter          int64  // statements refused with ErrNoWriter
}

// GaleraStatsOf returns st's Galera counters, and false if st is not a Galera store.
func GaleraStatsOf(st Store) (GaleraStats, bool) {
	s, ok := st.(*sqlStore)
	if !ok || s.galera == nil {
		return GaleraStats{}, false
	}
	g := s.galera
	var w string
	g.mu.Lock()
	if g.writer != nil {
		w = g.writer.addr
	}
	g.mu.Unlock()
	return GaleraStats{Writer: w, Failovers: g.failovers.Load(), Retries: g.retries.Load(),
		Unknown: g.unknown.Load(), ResolvedCommitted: g.resolvedCommitted.Load(),
		ResolvedRetried: g.resolvedRetried.Load(), NoWriter: g.noWriter.Load()}, true
}

// openGalera opens a store on a Galera cluster from a go-sql-driver DSN whose address lists every node,
// comma-separated, in the order of preference for the writer: "user:pass@tcp(a:3306,b:3306)/db". Every
// chatd of the cluster should list them in the same order, so all pick the same writer.
func openGalera(ctx context.Context, dsn string) (Store, error) {
	cfg, addrs, err := parseGaleraDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("open galera: %w", err)
	}
	g := &galera{interval: defaultProbeInterval, wait: defaultWriterWait, changed: make(chan struct{}),
		kick: make(chan struct{}, 1), quit: make(chan struct{})}
	for k, dst := range map[string]*time.Duration{"galera_probe": &g.interval, "galera_wait": &g.wait} {
		if v, ok := cfg.Params[k]; ok {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("open galera: %s=%q: want a positive duration", k, v)
			}
			*dst = d
			delete(cfg.Params, k)
		}
	}
	mysqlOptions(cfg)
	// A failover breaks connections by the dozen; the errors are returned and counted, and a library
	// does not write to stderr.
	cfg.Logger = nopLogger{}
	if cfg.ReadTimeout == 0 {
		// A node cut off by a partition drops packets: without a timeout a statement in flight on it
		// would hang until the caller's deadline instead of failing over.
		cfg.ReadTimeout, cfg.WriteTimeout = defaultIOTimeout, defaultIOTimeout
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = probeTimeout
	}
	for _, addr := range addrs {
		n := &galeraNode{addr: addr, why: "not checked yet"}
		n.w = cfg.Clone()
		n.w.Addr = addr
		n.r = n.w.Clone()
		n.r.Params["wsrep_sync_wait"] = "1" // causal reads (doc.go)
		p := n.w.Clone()
		p.ReadTimeout, p.WriteTimeout, p.Timeout = probeTimeout, probeTimeout, probeTimeout
		pc, err := mysql.NewConnector(p)
		if err != nil {
			return nil, fmt.Errorf("open galera: %w", err)
		}
		n.probe = sql.OpenDB(pc)
		n.probe.SetMaxOpenConns(1)
		n.wc, n.rc = &lazyConnector{cfg: n.w}, &lazyConnector{cfg: n.r}
		g.nodes = append(g.nodes, n)
	}
	g.probeAll()
	g.done.Add(1)
	go g.healthLoop()
	w := sql.OpenDB(&galeraConnector{g: g})
	r := sql.OpenDB(&galeraConnector{g: g, read: true})
	for _, db := range []*sql.DB{w, r} {
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
	}
	// The tailer's own connections, as for one MySQL server (sqlStore.t).
	t := sql.OpenDB(&galeraConnector{g: g, read: true})
	t.SetMaxOpenConns(tailConns)
	t.SetMaxIdleConns(tailConns)
	s, err := newSQLStore(ctx, mysqlDialect, w, r, t)
	if err != nil {
		g.close() // newSQLStore closed w, r and t
		return nil, err
	}
	s.galera = g
	s.hooks = hooks{txRetry: g.runTx, resolveAppend: func(ctx context.Context, evs []*Event, err error, retry func() error) error {
		return g.resolveAppend(ctx, s, evs, err, retry)
	}, closeHook: g.close}
	return s, nil
}

// parseGaleraDSN splits a DSN whose address part lists several nodes ("NET(a:3306,b,c:3307)") into the
// driver's config (for the first node) and the node addresses, each with a port (3306 by default). The
// driver's own parser cannot be given the list: it would take it for one host and bracket it.
func parseGaleraDSN(dsn string) (*mysql.Config, []string, error) {
	q, _, _ := strings.Cut(dsn, "?")
	slash := strings.LastIndex(q, "/")
	if slash < 0 {
		return nil, nil, errors.New("DSN has no /dbname")
	}
	at := strings.LastIndex(q[:slash], "@") // the password may contain '@'; the address cannot
	netAddr := q[at+1 : slash]
	open := strings.IndexByte(netAddr, '(')
	if open < 0 || !strings.HasSuffix(netAddr, ")") {
		return nil, nil, fmt.Errorf("DSN address %q: want NET(host:port,host:port,...)", netAddr)
	}
	var addrs []string
	for _, a := range strings.Split(netAddr[open+1:len(netAddr)-1], ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(a, "3306")
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return nil, nil, errors.New("DSN names no node")
	}
	first := dsn[:at+1] + netAddr[:open+1] + addrs[0] + ")" + dsn[slash:]
	cfg, err := mysql.ParseDSN(first)
	if err != nil {
		return nil, nil, fmt.Errorf("parse DSN: %w", err)
	}
	return cfg, addrs, nil
}

func (g *galera) close() {
	select {
	case <-g.quit:
		return
	default:
	}
	close(g.quit)
	g.done.Wait()
	for _, n := range g.nodes {
		n.probe.Close()
	}
}

// healthLoop probes every node each interval (or at once when kicked) and re-elects the writer.
func (g *galera) healthLoop() {
	defer g.done.Done()
	t := time.NewTicker(g.interval)
	defer t.Stop()
	for {
		select {
		case <-g.quit:
			return
		case <-t.C:
		case <-g.kick:
		}
		g.probeAll()
	}
}

func (g *galera) probeAll() {
	var wg sync.WaitGroup
	for _, n := range g.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, why := n.check()
			n.mu.Lock()
			n.healthy, n.why = ok, why
			n.mu.Unlock()
		}()
	}
	wg.Wait()
	g.elect()
}

// check asks a node for the three variables that make it a writer: wsrep_local_state 4 (Synced),
// wsrep_ready ON, wsrep_cluster_status Primary. SHOW STATUS works on a non-Primary node, so a node
// that answers is classified, not merely found reachable.
func (n *galeraNode) check() (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	rows, err := n.probe.QueryContext(ctx, `SHOW GLOBAL STATUS WHERE Variable_name IN
		('wsrep_local_state', 'wsrep_ready', 'wsrep_cluster_status')`)
	if err != nil {
		return false, err.Error()
	}
	defer rows.Close()
	st := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return false, err.Error()
		}
		st[strings.ToLower(k)] = v
	}
	if err := rows.Err(); err != nil {
		return false, err.Error()
	}
	if st["wsrep_local_state"] == "4" && st["wsrep_ready"] == "ON" && st["wsrep_cluster_status"] == "Primary" {
		return true, ""
	}
	if len(st) == 0 {
		return false, "not a Galera node (no wsrep status)"
	}
	return false, fmt.Sprintf("wsrep_local_state=%s wsrep_ready=%s wsrep_cluster_status=%s",
		st["wsrep_local_state"], st["wsrep_ready"], st["wsrep_cluster_status"])
}

// elect makes the first healthy node in DSN order the writer. The order is the same on every chatd, so
// all of them agree without talking to each other; a node coming back takes the writes again once it
// is Synced.
func (g *galera) elect() {
	var w *galeraNode
	for _, n := range g.nodes {
		n.mu.Lock()
		ok := n.healthy
		n.mu.Unlock()
		if ok {
			w = n
			break
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if w == g.writer {
		return
	}
	if g.writer != nil && w != nil {
		g.failovers.Add(1)
	}
	g.writer = w
	close(g.changed)
	g.changed = make(chan struct{})
}

// suspect asks for a probe of every node at once after a statement on n failed in a way that may mean
// the node is gone. With down set (a refused dial, a wsrep refusal: the node itself is unusable) n is
// also marked unhealthy at once, so the writer moves without waiting for the probe; a connection that
// merely broke (an idle one the server closed) leaves the verdict to the probe, so one stale
// connection cannot move the writer away from a healthy node.
func (g *galera) suspect(n *galeraNode, err error, down bool) {
	if down {
		n.mu.Lock()
		n.healthy, n.why = false, err.Error()
		n.mu.Unlock()
		g.elect()
	}
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

func (g *galera) current(n *galeraNode) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writer == n
}

// awaitWriter returns the writer, waiting up to g.wait (or ctx) for one to be elected.
func (g *galera) awaitWriter(ctx context.Context) (*galeraNode, error) {
	timer := time.NewTimer(g.wait)
	defer timer.Stop()
	for {
		g.mu.Lock()
		w, ch := g.writer, g.changed
		g.mu.Unlock()
		if w != nil {
			return w, nil
		}
		select {
		case <-ch:
		case <-timer.C:
			g.noWriter.Add(1)
			return nil, fmt.Errorf("%w: %s", ErrNoWriter, g.whyNone())
		case <-ctx.Done():
			g.noWriter.Add(1)
			return nil, fmt.Errorf("%w: %s (%w)", ErrNoWriter, g.whyNone(), ctx.Err())
		case <-g.quit:
			return nil, ErrClosed
		}
	}
}

func (g *galera) whyNone() string {
	var parts []string
	for _, n := range g.nodes {
		n.mu.Lock()
		parts = append(parts, n.addr+": "+n.why)
		n.mu.Unlock()
	}
	return strings.Join(parts, "; ")
}

// Error classes of one transaction attempt.
const (
	txFatal   = iota // return the error
	txRetry          // rolled back whole: run again
	txUnknown        // COMMIT got no answer: may have committed
)

// classify sorts the error of one attempt. Certification failures and brute-force aborts come back as
// ER_LOCK_DEADLOCK (1213); a node that left the primary component refuses with ER_UNKNOWN_COM_ERROR
// (1047, "WSREP has not yet prepared node for application use"); 1205 is a lock wait timeout; 1053 and
// 1927 a server shutting down or killing the connection. All of them roll the transaction back. A lost
// connection before COMMIT rolls back too; at COMMIT it leaves the outcome unknown, as does
// ER_ERROR_DURING_COMMIT (1180), which Galera reports when the node lost the primary component while
// replicating. Anything else (a duplicate key, ErrNickInUse from a change, ...) is the caller's answer.
func classify(err error) int {
	atCommit := errors.As(err, new(*commitError))
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1213, 1205:
			return txRetry
		case 1047, 1180, 1053, 1927:
			if atCommit {
				return txUnknown
			}
			return txRetry
		}
		return txFatal
	}
	if !isConnError(err) {
		return txFatal
	}
	if atCommit {
		return txUnknown
	}
	return txRetry
}

// isConnError reports whether err is the connection or the node going away (reset, EOF, timeout,
// refused dial, the driver's invalid or bad connection), as opposed to an answer from the database.
func isConnError(err error) bool {
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.As(err, &ne)
}

// nodeError reports whether err may say the node is unusable (as opposed to a statement failing), and
// whether the node said so itself (wsrep refusals).
func nodeError(err error) (suspect, down bool) {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		bad := me.Number == 1047 || me.Number == 1180
		return bad, bad
	}
	return err != nil && isConnError(err), false
}

// runTx runs one transaction attempt until it commits, fails for good, or its outcome is unknown.
// Retries back off with jitter (two writers racing on the log counter would otherwise collide again)
// and wait for a writer.
func (g *galera) runTx(ctx context.Context, try func() error) error {
	delay := time.Millisecond
	for attempt := 1; ; attempt++ {
		err := try()
		if err == nil {
			return nil
		}
		switch classify(err) {
		case txFatal:
			return err
		case txUnknown:
			g.unknown.Add(1)
			return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
		}
		if attempt >= maxTxAttempts || ctx.Err() != nil {
			return err
		}
		g.retries.Add(1)
		sleep := delay/2 + time.Duration(time.Now().UnixNano()%int64(delay/2+1))
		select {
		case <-time.After(sleep):
		case <-ctx.Done():
			return err
		}
		delay = min(2*delay, 200*time.Millisecond)
		if _, werr := g.awaitWriter(ctx); werr != nil {
			return fmt.Errorf("%w (after %v)", werr, err)
		}
	}
}

// resolveAppend settles an append whose commit outcome is unknown. The events' msgids are unique, so
// a causal read on the (possibly new) writer tells: all of them there, written by this node at this
// time, means the earlier attempt committed (success, with its positions); none there means it did not
// (run it again). A retry failing with a duplicate means the first attempt committed after all (a
// zombie transaction on a node that was only cut off), so look again. Galera commits a transaction's
// rows together or not at all, so "some of them" cannot happen.
func (g *galera) resolveAppend(ctx context.Context, s *sqlStore, evs []*Event, err error, retry func() error) error {
	for attempt := 0; errors.Is(err, ErrOutcomeUnknown); attempt++ {
		if ctx.Err() != nil || attempt >= maxTxAttempts {
			return err
		}
		if _, werr := g.awaitWriter(ctx); werr != nil {
			return fmt.Errorf("%w (resolving: %v)", werr, err)
		}
		ours, foreign, lerr := lookupEvents(ctx, s, evs)
		switch {
		case lerr != nil:
			select { // the reader's node may be failing over too
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				return err
			}
		case foreign > 0:
			return &mysql.MySQLError{Number: 1062, Message: "msgid already used by another event"}
		case ours == len(evs):
			g.resolvedCommitted.Add(1)
			return nil
		case ours == 0:
			g.resolvedRetried.Add(1)
			err = retry()
			if err != nil && s.d.isDuplicate(err) {
				err = fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
			}
		default:
			return fmt.Errorf("store: galera: %d of %d events of one transaction found committed", ours, len(evs))
		}
	}
	return err
}

// lookupEvents finds evs by msgid with a causal read, sets Seq on those this node wrote, and counts
// them and the events with the same msgid written by someone else.
func lookupEvents(ctx context.Context, s *sqlStore, evs []*Event) (ours, foreign int, err error) {
	args := make([]any, len(evs))
	byID := map[string]*Event{}
	for i, ev := range evs {
		args[i] = ev.MsgID
		byID[ev.MsgID] = ev
	}
	rows, err := s.r.QueryContext(ctx, `SELECT msgid, seq, node, t, kind FROM events WHERE msgid IN (`+
		placeholders(len(evs))+`)`, args...)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, node, kind string
		var seq, t int64
		if err := rows.Scan(&id, &seq, &node, &t, &kind); err != nil {
			return 0, 0, err
		}
		ev := byID[id]
		if ev == nil {
			continue
		}
		if node == ev.Node && t == ms(ev.Time) && kind == string(ev.Kind) {
			ev.Seq = seq
			ours++
		} else {
			foreign++
		}
	}
	return ours, foreign, rows.Err()
}

type nopLogger struct{}

func (nopLogger) Print(...any) {}
