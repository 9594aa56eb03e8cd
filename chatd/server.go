package chatd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/chatd/store"
)

// Server is one chatd node. It is composed, like Ergo's server, of
// components that each own their state and lock (see doc.go for the lock
// order):
//
//   - world (world.go): users, channels and memberships, written by apply
//     under the world lock mu;
//   - registry (registry.go): the connections and per-IP admission state
//     under cmu, and the atomic send-queue and query bounds;
//   - cluster (cluster.go): the tailer's cursor, pending own events (pendMu),
//     heartbeat state and the UDP nudge;
//   - admin (admin.go): the HTTP health, readiness and metrics listener.
//
// They are embedded, so s.users or s.admit read as the server's own; what is
// left here is configuration, the IRC listeners and the node's lifecycle.
type Server struct {
	cfg     Config
	log     *slog.Logger
	st      store.Store
	ownsSt  bool
	created time.Time
	m       *metrics
	// greeting is the part of the welcome burst fixed at start (register.go).
	greeting func() greeting

	world
	registry
	cluster
	admin

	listeners []net.Listener
	rlog      rateLog
	parker    *parker // idle clients without a reader goroutine (park_linux.go); nil: none

	ready   atomic.Bool
	serving atomic.Bool // listeners accepting; heartbeats may set ready

	feat   features // user modes, MONITOR, WHOWAS, operators (feat.go)
	runCtx context.Context
	stop   context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup
}

// New validates cfg, opens the store and binds every listener, so Addr works
// before Run. logger may be nil.
func New(cfg Config, logger *slog.Logger) (*Server, error) {
	return NewWithStore(cfg, logger, nil)
}

// NewWithStore is New with an already open store (shared by in-process test
// nodes); st nil opens cfg.DSN. A store passed in is not closed by the server.
func NewWithStore(cfg Config, logger *slog.Logger, st store.Store) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("chatd: config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := newMetrics()
	s := &Server{
		cfg: cfg, log: logger.With("node", cfg.Node), st: st, created: time.Now(), m: m,
		world: newWorld(), registry: newRegistry(cfg.Limits, m), cluster: newCluster(),
		done: make(chan struct{}),
	}
	s.greeting = sync.OnceValue(s.newGreeting)
	s.m.registerServer(s)
	if cfg.Timers.IdlePark > 0 {
		s.parker = newParker()
	}
	ok := false
	defer func() {
		if !ok {
			s.closeAll()
		}
	}()
	if s.st == nil {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Timers.StoreTimeout)
		defer cancel()
		var err error
		if s.st, err = store.Open(ctx, cfg.DSN); err != nil {
			return nil, fmt.Errorf("chatd: open store: %w", err)
		}
		s.ownsSt = true
	}
	if st, ok := s.st.(interface{ OnCommit(func()) }); ok {
		// The committer wakes the tailer itself (store.OnCommit).
		st.OnCommit(s.wake)
		s.storeWakes = true
	}
	s.m.registerGalera(s.st) // galera_metrics.go
	for _, a := range cfg.Listen {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return nil, fmt.Errorf("chatd: listen: %w", err)
		}
		s.listeners = append(s.listeners, ln)
	}
	if cfg.TLSListen != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("chatd: tls: %w", err)
		}
		ln, err := tls.Listen("tcp", cfg.TLSListen, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		if err != nil {
			return nil, fmt.Errorf("chatd: tls listen: %w", err)
		}
		s.listeners = append(s.listeners, ln)
	}
	if cfg.HTTPListen != "" {
		if err := s.admin.listen(cfg.HTTPListen); err != nil {
			return nil, err
		}
	}
	if err := s.cluster.listenNudge(cfg.NudgeListen, cfg.Peers); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// Addr is the first IRC listener's address (the actual port when the
// configuration asked for port 0).
func (s *Server) Addr() net.Addr {
	if len(s.listeners) == 0 {
		return nil
	}
	return s.listeners[0].Addr()
}

// Addrs returns every IRC listener's address, TLS last.
func (s *Server) Addrs() []net.Addr {
	var as []net.Addr
	for _, ln := range s.listeners {
		as = append(as, ln.Addr())
	}
	return as
}

// HTTPAddr is the health/metrics listener's address, nil if disabled.
func (s *Server) HTTPAddr() net.Addr {
	if s.httpLn == nil {
		return nil
	}
	return s.httpLn.Addr()
}

// NudgeAddr is the UDP nudge listener's address, nil if disabled.
func (s *Server) NudgeAddr() net.Addr {
	if s.nudgeConn == nil {
		return nil
	}
	return s.nudgeConn.LocalAddr()
}

// Ready reports whether the node accepts clients (readiness).
func (s *Server) Ready() bool { return s.ready.Load() }

// Run serves until ctx is cancelled or Shutdown completes. It registers the
// node, loads the cluster state and starts the tailer, heartbeat and reaper
// before accepting clients.
func (s *Server) Run(ctx context.Context) error {
	ctx, s.stop = context.WithCancel(ctx)
	s.runCtx = ctx
	defer close(s.done)
	defer s.closeAll()
	// Health first: during bootstrap /healthz answers and /readyz says
	// "starting", so a balancer sees a live node that is not ready yet.
	if s.httpLn != nil {
		h := s.admin.handler(s.m.reg, s.cfg.Pprof, s.notReady)
		s.httpSrv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		s.goLoop(func() { _ = s.httpSrv.Serve(s.httpLn) })
	}
	if err := s.bootstrap(ctx); err != nil {
		s.admin.closeServer()
		s.wg.Wait()
		return err
	}
	s.goLoop(func() { s.tailLoop(ctx) })
	s.goLoop(func() { s.heartbeatLoop(ctx) })
	s.goLoop(func() { s.reapLoop(ctx) })
	if stale := s.staleAtStart; len(stale) > 0 {
		// Our previous incarnation's sessions: nobody serves them any more.
		// Their QUITs need the tailer, so they go after it starts.
		s.staleAtStart = nil
		rs := make([]store.Reaped, len(stale))
		for i, ss := range stale {
			rs[i] = store.Reaped{Session: ss}
		}
		s.log.Info("releasing sessions left by this node's previous run", "count", len(rs))
		s.commitQuits(rs, "Server restarted")
	}
	if s.nudgeConn != nil {
		s.goLoop(func() { s.nudgeLoop(ctx) })
	}
	for _, ln := range s.listeners {
		s.goLoop(func() { s.acceptLoop(ctx, ln) })
	}
	s.serving.Store(true)
	s.ready.Store(true)
	s.log.Info("chatd serving", "irc", s.Addrs(), "http", s.HTTPAddr(), "store", storeKind(s.cfg.DSN))
	<-ctx.Done()
	s.ready.Store(false)
	for _, ln := range s.listeners {
		_ = ln.Close()
	}
	// Without a Shutdown first this is the fast path: clients are cut off,
	// and we wait (bounded) for their QUITs to reach the store before it is
	// closed.
	s.disconnectAll("Server shutting down", discShutdown)
	s.waitClients(time.Now().Add(s.cfg.Timers.LameduckGrace))
	s.parker.close()
	s.admin.closeServer()
	s.cluster.close()
	s.wg.Wait()
	return nil
}

// notReady is why /readyz fails, "" when the node is ready.
func (s *Server) notReady() string {
	switch {
	case s.ready.Load():
		return ""
	case s.lameduck.Load():
		return "lameduck"
	case s.runCtx != nil && s.runCtx.Err() != nil:
		return "stopped"
	}
	return "starting"
}

func storeKind(dsn string) string {
	if dsn == "" || strings.HasPrefix(dsn, "sqlite:") {
		return "sqlite"
	}
	return "mysql"
}

func (s *Server) goLoop(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// Shutdown is lameduck mode: readiness fails at once and no new client is
// accepted; after LameduckDrain (time for the balancer to notice) every
// client is told to reconnect and disconnected, their sessions released;
// then Run returns. ctx bounds the whole procedure (LameduckGrace if it has
// no deadline).
func (s *Server) Shutdown(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Timers.LameduckGrace)
		defer cancel()
	}
	s.lameduck.Store(true)
	s.ready.Store(false)
	for _, ln := range s.listeners {
		_ = ln.Close()
	}
	s.noticeAll("Server is restarting; please reconnect (you will land on another node)")
	select {
	case <-time.After(s.cfg.Timers.LameduckDrain):
	case <-ctx.Done():
	}
	s.disconnectAll("Server restarting, please reconnect", discShutdown)
	// Wait for the clients' QUITs to be committed, so other nodes see them.
	deadline, _ := ctx.Deadline()
	if !s.waitClients(deadline) {
		s.log.Warn("lameduck grace ran out before every client's QUIT was committed; peers will reap the rest")
	}
	if s.stop != nil {
		s.stop()
		select {
		case <-s.done:
		case <-ctx.Done():
			return fmt.Errorf("chatd: shutdown: %w", ctx.Err())
		}
	}
	return nil
}

func (s *Server) closeAll() {
	for _, ln := range s.listeners {
		_ = ln.Close()
	}
	s.admin.close()
	s.cluster.close()
	s.parker.close()
	if s.ownsSt && s.st != nil {
		_ = s.st.Close()
	}
}

func (s *Server) acceptLoop(ctx context.Context, ln net.Listener) {
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and friends: back off instead of spinning.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.m.accepted.Inc()
		setSendBuffer(conn, s.cfg.Limits.SocketSendBuffer) // memory.go
		c := s.newClient(conn)
		if reason := s.admit(c); reason != "" {
			s.m.disconnects.WithLabelValues(reason).Inc()
			_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = conn.Write([]byte("ERROR :Closing link: " + refusal(reason) + "\r\n"))
			_ = conn.Close()
			continue
		}
		go c.serve()
	}
}

// ServeConn serves an already accepted connection (tests, socket
// activation) under the same limits as the listeners.
func (s *Server) ServeConn(conn net.Conn) {
	c := s.newClient(conn)
	if reason := s.admit(c); reason != "" {
		s.m.disconnects.WithLabelValues(reason).Inc()
		_ = conn.Close()
		return
	}
	go c.serve()
}

func (s *Server) noticeAll(text string) {
	for _, c := range s.snapshotClients() {
		c.sendMsg(s.serverMsg("NOTICE", c.nickOrStar(), text))
	}
}

// storeCtx bounds one store call.
func (s *Server) storeCtx() (context.Context, context.CancelFunc) {
	parent := context.Background()
	return context.WithTimeout(parent, s.cfg.Timers.StoreTimeout)
}
