package chatd

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// faultyStore fails chosen operations on demand, standing in for a database
// outage.
type faultyStore struct {
	store.Store
	failAppend, failHeartbeat atomic.Bool
	// failStep n > 0 makes the next change fail once, at its n-th step: its
	// n-th Tx call, or (n = calls+1) after all of them, before its event is
	// appended. dupEvent makes the next event's INSERT fail in the database,
	// after the change's table writes, by giving it a msgid already logged.
	failStep atomic.Int64
	dupEvent atomic.Bool
	fired    atomic.Bool // a failStep or dupEvent fault took effect
	lastID   atomic.Value
}

var errOutage = errors.New("injected outage")

func (f *faultyStore) Append(ctx context.Context, ev *store.Event) error {
	return f.Commit(ctx, ev, nil)
}

func (f *faultyStore) Commit(ctx context.Context, ev *store.Event, change func(store.Tx) error) error {
	if f.failAppend.Load() {
		return errOutage
	}
	if change != nil {
		if n := f.failStep.Load(); n > 0 {
			inner := change
			change = func(tx store.Tx) error {
				ft := &faultTx{Tx: tx, f: f, failAt: n}
				if err := inner(ft); err != nil {
					return err
				}
				if ft.calls+1 == n && f.failStep.CompareAndSwap(n, 0) {
					f.fired.Store(true)
					return errOutage
				}
				return nil
			}
		}
	}
	if last, ok := f.lastID.Load().(string); ok && ev != nil && f.dupEvent.CompareAndSwap(true, false) {
		f.fired.Store(true)
		id := ev.MsgID
		ev.MsgID = last
		err := f.Store.Commit(ctx, ev, change)
		ev.MsgID = id
		if err == nil {
			panic("a duplicate msgid was committed")
		}
		return err
	}
	err := f.Store.Commit(ctx, ev, change)
	if err == nil && ev != nil {
		f.lastID.Store(ev.MsgID)
	}
	return err
}

// faultTx fails the failAt-th call of a change (once).
type faultTx struct {
	store.Tx
	f      *faultyStore
	failAt int64
	calls  int64
}

func (t *faultTx) step() error {
	t.calls++
	if t.calls == t.failAt && t.f.failStep.CompareAndSwap(t.failAt, 0) {
		t.f.fired.Store(true)
		return errOutage
	}
	return nil
}

func (t *faultTx) ClaimNick(s store.Session) error {
	if err := t.step(); err != nil {
		return err
	}
	return t.Tx.ClaimNick(s)
}

func (t *faultTx) RenameNick(sid, nick string) error {
	if err := t.step(); err != nil {
		return err
	}
	return t.Tx.RenameNick(sid, nick)
}

func (t *faultTx) ReleaseSession(sid string) error {
	if err := t.step(); err != nil {
		return err
	}
	return t.Tx.ReleaseSession(sid)
}

func (t *faultTx) SetAccount(sid, account string) error {
	if err := t.step(); err != nil {
		return err
	}
	return t.Tx.SetAccount(sid, account)
}

func (t *faultTx) Join(m store.Member, fresh store.Channel) (string, error) {
	if err := t.step(); err != nil {
		return "", err
	}
	return t.Tx.Join(m, fresh)
}

func (t *faultTx) Part(ch, sid string) error {
	if err := t.step(); err != nil {
		return err
	}
	return t.Tx.Part(ch, sid)
}

func (t *faultTx) UpdateChannel(name string, f func(*store.Channel)) error {
	if err := t.step(); err != nil {
		return err
	}
	return t.Tx.UpdateChannel(name, f)
}

func (t *faultTx) SetMemberModes(ch, sid, nick string, f func(string) string) error {
	if err := t.step(); err != nil {
		return err
	}
	return t.Tx.SetMemberModes(ch, sid, nick, f)
}

func (t *faultTx) AddBan(b store.Ban, limit int) error {
	if err := t.step(); err != nil {
		return err
	}
	return t.Tx.AddBan(b, limit)
}

func (t *faultTx) RemoveBan(ch, mask string) error {
	if err := t.step(); err != nil {
		return err
	}
	return t.Tx.RemoveBan(ch, mask)
}

func (f *faultyStore) Heartbeat(ctx context.Context, node string) error {
	if f.failHeartbeat.Load() {
		return errOutage
	}
	return f.Store.Heartbeat(ctx, node)
}

// TestNotCommittedNotDelivered: when the log append fails, nobody gets the
// message, the sender gets FAIL, and the node stops being ready while its
// heartbeat fails.
func TestNotCommittedNotDelivered(t *testing.T) {
	inner, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	fs := &faultyStore{Store: inner}
	n := startNode(t, testConfig(""), fs)
	a := dial(t, n.Addr(), "a")
	a.register("fa", allCaps...)
	b := dial(t, n.Addr(), "b")
	b.register("fb", allCaps...)
	a.join("#f")
	b.join("#f")

	fs.failAppend.Store(true)
	a.send("@label=x PRIVMSG #f :lost")
	fail := a.expectCmd("FAIL", "PRIVMSG", "MESSAGE_ERROR", "#f")
	if l, _ := fail.Tag("label"); l != "x" {
		t.Errorf("FAIL label = %q", l)
	}
	fs.failAppend.Store(false)
	a.send("PRIVMSG #f :kept")
	_, before := b.expect("kept", func(m irc.Message) bool { return m.Command == "PRIVMSG" })
	for _, m := range before {
		if m.Command == "PRIVMSG" {
			t.Errorf("uncommitted message delivered: %v", m)
		}
	}
	if m := b.seen[len(b.seen)-1]; !strings.Contains(m, "kept") {
		t.Errorf("first delivered message %q, want kept", m)
	}

	fs.failHeartbeat.Store(true)
	waitFor(t, "readiness to fail", func() bool { return !n.Ready() })
	fs.failHeartbeat.Store(false)
	waitFor(t, "readiness to return", n.Ready)
}

// TestDatabaseOutageNoMassReap: when every node's heartbeat fails for longer
// than dead_after (a database outage), no node reaps the others, neither
// during the outage nor when it ends.
func TestDatabaseOutageNoMassReap(t *testing.T) {
	inner, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	fa, fb := &faultyStore{Store: inner}, &faultyStore{Store: inner}
	a := startNode(t, testConfig("out-a"), fa)
	b := startNode(t, testConfig("out-b"), fb)
	ca := dial(t, a.Addr(), "ca")
	ca.register("oa")
	ca.join("#out")
	cb := dial(t, b.Addr(), "cb")
	cb.register("ob")
	cb.join("#out")
	ca.expectCmd("JOIN", "#out")

	runs := func(n *testNode) float64 { return counterValue(t, n.m.reapRuns) }
	fa.failHeartbeat.Store(true)
	fb.failHeartbeat.Store(true)
	waitFor(t, "both nodes to notice the outage", func() bool { return !a.Ready() && !b.Ready() })
	// Outlast dead_after: wait until every heartbeat row is stale.
	outage := time.Now()
	waitFor(t, "an outage longer than dead_after", func() bool {
		return time.Since(outage) > 2*a.cfg.Timers.DeadAfter
	})
	fa.failHeartbeat.Store(false)
	fb.failHeartbeat.Store(false)
	ra, rb := runs(a), runs(b)
	waitFor(t, "two reap passes on each node after the outage", func() bool {
		return runs(a) >= ra+2 && runs(b) >= rb+2
	})
	for _, c := range []*tclient{ca, cb} {
		c.send("PING :alive")
		_, before := c.expect("PONG", func(m irc.Message) bool { return m.Command == "PONG" })
		for _, m := range before {
			if m.Command == "QUIT" || m.Command == "ERROR" {
				t.Errorf("%s got %v after a database outage", c.name, m)
			}
		}
	}
}
