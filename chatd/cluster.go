package chatd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/chatd/store"
)

const tailBatch = 1000

// cluster is what ties this node to the others through the shared log: the
// tailer's cursor and wake-up, own events waiting for the tailer, the
// heartbeat's state and the UDP nudge to and from peers.
//
// pendMu guards pending only; it is a leaf, held for a map operation and
// never with the world lock (apply takes the op, releases pendMu, then locks
// mu). cursor belongs to the tailer goroutine; staleAtStart is written by
// bootstrap and read once by Run before the loops start; the rest is atomic
// or immutable after New.
type cluster struct {
	pendMu  sync.Mutex
	pending map[string]*pendingOp // by msgid, own events awaiting apply

	cursor store.Cursor  // tailer only
	kick   chan struct{} // wakes the tailer
	// storeWakes: the store's committer wakes the tailer after each
	// commit (store.OnCommit), so a committing handler need not.
	storeWakes bool // immutable after New
	nudgeConn  *net.UDPConn
	peers      []*net.UDPAddr

	// hbOKSince is when our heartbeat last started succeeding (unix ns), 0
	// while it fails.
	hbOKSince atomic.Int64
	reaped    atomic.Bool // heartbeat said we were declared dead

	staleAtStart []store.Session // own sessions found by bootstrap
}

func newCluster() cluster {
	return cluster{pending: make(map[string]*pendingOp), kick: make(chan struct{}, 1)}
}

// listenNudge binds the UDP nudge listener (addr "" for none) and resolves
// the peers to nudge.
func (cl *cluster) listenNudge(addr string, peers []string) error {
	if addr != "" {
		ua, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return fmt.Errorf("chatd: nudge_listen: %w", err)
		}
		if cl.nudgeConn, err = net.ListenUDP("udp", ua); err != nil {
			return fmt.Errorf("chatd: nudge listen: %w", err)
		}
	}
	for _, p := range peers {
		ua, err := net.ResolveUDPAddr("udp", p)
		if err != nil {
			return fmt.Errorf("chatd: peers: %w", err)
		}
		cl.peers = append(cl.peers, ua)
	}
	return nil
}

func (cl *cluster) close() {
	if cl.nudgeConn != nil {
		_ = cl.nudgeConn.Close()
	}
}

// addPending records an own event about to be committed, for the tailer.
func (cl *cluster) addPending(msgID string, op *pendingOp) {
	cl.pendMu.Lock()
	cl.pending[msgID] = op
	cl.pendMu.Unlock()
}

// takePending removes and returns the op waiting for msgID, nil if there is
// none (a remote event, or one withdrawn): whoever takes it, the tailer or
// a withdrawing handler, owns it.
func (cl *cluster) takePending(msgID string) *pendingOp {
	cl.pendMu.Lock()
	defer cl.pendMu.Unlock()
	op := cl.pending[msgID]
	delete(cl.pending, msgID)
	return op
}

// wake makes the tailer read the log now (a local commit or a peer's nudge).
func (cl *cluster) wake() {
	select {
	case cl.kick <- struct{}{}:
	default:
	}
}

// tailLoop reads the shared log in order and applies every event, own and
// remote. It reads at once when woken by a local commit or a peer's nudge,
// and otherwise every TailPoll (500 ms by default): only a safety net for a
// lost nudge or a peer without one, so an idle node costs the database one
// small query per TailPoll.
func (s *Server) tailLoop(ctx context.Context) {
	poll := time.NewTimer(s.cfg.Timers.TailPoll)
	defer poll.Stop()
	backoff := time.Duration(0)
	for {
		tctx, cancel := context.WithTimeout(ctx, s.cfg.Timers.StoreTimeout)
		evs, next, err := s.st.Tail(tctx, s.cursor, tailBatch)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.m.tailErr.Inc()
			backoff = min(max(2*backoff, 10*time.Millisecond), time.Second)
			s.log.Warn("tail failed", "err", err, "cursor", s.cursor, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		now := time.Now()
		for i := range evs {
			s.apply(&evs[i])
			s.m.tailLag.Observe(now.Sub(evs[i].Time).Seconds())
		}
		s.cursor = next
		if len(evs) == tailBatch {
			continue
		}
		if !poll.Stop() {
			select {
			case <-poll.C:
			default:
			}
		}
		poll.Reset(s.cfg.Timers.TailPoll)
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-poll.C:
		}
	}
}

// heartbeatLoop keeps this node alive in the store and reaps dead peers.
func (s *Server) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Timers.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		hctx, cancel := context.WithTimeout(ctx, s.cfg.Timers.Heartbeat*2)
		err := s.st.Heartbeat(hctx, s.cfg.Node)
		cancel()
		switch {
		case errors.Is(err, store.ErrReaped):
			// Peers declared us dead and sent our users' QUITs: our clients'
			// sessions are gone, so they must reconnect.
			s.log.Error("this node was reaped by a peer; disconnecting all clients")
			s.reaped.Store(true)
			s.disconnectAll("Node lost contact with the cluster, please reconnect", discReaped)
			s.reaped.Store(false)
		case err != nil:
			s.m.hbErr.Inc()
			s.log.Warn("heartbeat failed", "err", err)
			s.ready.Store(false)
			s.hbOKSince.Store(0)
			continue
		}
		s.hbOKSince.CompareAndSwap(0, time.Now().UnixNano())
		if s.serving.Load() && !s.lameduck.Load() && ctx.Err() == nil {
			s.ready.Store(true)
		}
	}
}

// reapLoop looks for dead peers every heartbeat interval. It is separate
// from heartbeatLoop so that committing thousands of QUITs never delays our
// own heartbeat (which would get this node reaped in turn).
func (s *Server) reapLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Timers.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Reap only after our own heartbeat has worked for dead_after: when
		// the database comes back from an outage every node's heartbeat is
		// stale, and the first to look must not reap all the others.
		since := s.hbOKSince.Load()
		if since == 0 || time.Since(time.Unix(0, since)) < s.cfg.Timers.DeadAfter {
			continue
		}
		s.m.reapRuns.Inc()
		rctx, cancel := context.WithTimeout(ctx, s.cfg.Timers.StoreTimeout)
		// The QUITs are appended in the reaping transaction: a reaper that
		// dies right after cannot lose them.
		reaped, err := s.st.ReapDeadQuit(rctx, s.cfg.Node, s.cfg.Timers.DeadAfter, func(r store.Reaped) *store.Event {
			return s.quitEvent(r.Session, "Server died")
		})
		cancel()
		if err != nil {
			s.log.Warn("reap failed", "err", err)
			continue
		}
		if len(reaped) > 0 {
			s.log.Info("reaped sessions of dead nodes", "count", len(reaped))
			s.m.reaped.Add(float64(len(reaped)))
			s.wake()
			s.nudgePeers()
		}
	}
}

// quitEvent is the QUIT of a session no client of ours holds. Apply
// delivers it to everyone (there is no pending op for it).
func (s *Server) quitEvent(ss store.Session, reason string) *store.Event {
	return &store.Event{MsgID: newMsgID(), Time: time.Now().UTC().Truncate(time.Millisecond), Node: s.cfg.Node,
		Kind: store.KindQuit, Sender: ss.Nick + "!" + ss.User + "@" + ss.Host, Account: ss.Account,
		Text: reason, Params: []string{ss.ID, ss.Realname}} // realname: for WHOWAS (whowas.go)
}

// reapWorkers bounds concurrent QUIT commits of reaped sessions; the
// store's group commit turns them into a few transactions.
const reapWorkers = 64

// commitQuits releases sessions no client of ours holds (our previous
// incarnation's) and commits their QUITs, so every node removes the users
// and tells their channels.
func (s *Server) commitQuits(rs []store.Reaped, reason string) {
	work := make(chan store.Reaped)
	var wg sync.WaitGroup
	for range min(reapWorkers, len(rs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				s.quitSession(r.Session, reason)
			}
		}()
	}
	for _, r := range rs {
		work <- r
	}
	close(work)
	wg.Wait()
}

func (s *Server) quitSession(ss store.Session, reason string) {
	ev := s.quitEvent(ss, reason)
	err := s.commitChange(ev, nil, nil, func(tx store.Tx) error { return tx.ReleaseSession(ss.ID) })
	switch {
	case errors.Is(err, store.ErrNotFound):
		// A peer reaped it first, and committed its QUIT with the release.
	case err != nil:
		s.warnLimited("could not commit QUIT of a dead session", "sid", ss.ID, "err", err)
	default:
		s.m.reaped.Inc()
	}
}

// nudgePeers pokes every peer's tailer. Best effort: a lost datagram costs
// one poll interval.
func (s *Server) nudgePeers() {
	if s.nudgeConn == nil {
		return
	}
	for _, p := range s.peers {
		if _, err := s.nudgeConn.WriteToUDP([]byte{'n'}, p); err == nil {
			s.m.nudgesSent.Inc()
		}
	}
}

func (s *Server) nudgeLoop(ctx context.Context) {
	buf := make([]byte, 16)
	for {
		_, _, err := s.nudgeConn.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.m.nudgesRecv.Inc()
		s.wake()
	}
}
