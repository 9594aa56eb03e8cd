package chatd

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/chatd/irc"
)

// recorder collects, in arrival order, the msgids of #load messages a
// client saw, and (for a sender) the msgids of its own acknowledged ones.
type recorder struct {
	mu    sync.Mutex
	seen  []string
	acked []string
	quits []string
}

func (r *recorder) snapshot() (seen, acked, quits []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...), append([]string(nil), r.acked...), append([]string(nil), r.quits...)
}

// pump reads c until it fails, recording messages; send, when set, is
// called after each acknowledgement to send the next message.
func pump(c *tclient, rec *recorder, send func(i int) bool) {
	i := 0
	if send != nil && !send(i) {
		return
	}
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, err := c.r.ReadString('\n')
		if err != nil {
			return
		}
		m, err := irc.Parse(line)
		if err != nil {
			continue
		}
		switch {
		case m.Command == "QUIT":
			nick, _, _ := strings.Cut(m.Source, "!")
			rec.mu.Lock()
			rec.quits = append(rec.quits, nick)
			rec.mu.Unlock()
		case m.Command == "PRIVMSG" && m.Param(0) == "#load":
			id, _ := m.Tag("msgid")
			own := strings.HasPrefix(m.Source, c.name+"!")
			rec.mu.Lock()
			rec.seen = append(rec.seen, id)
			if own {
				rec.acked = append(rec.acked, id)
			}
			rec.mu.Unlock()
			if own && send != nil {
				i++
				if !send(i) {
					return
				}
			}
		}
	}
}

// fetchHistory pages through all of #load's history with CHATHISTORY AFTER.
func fetchHistory(t *testing.T, c *tclient, after string) []string {
	t.Helper()
	var ids []string
	ref := after
	for {
		c.send("CHATHISTORY AFTER #load %s 200", ref)
		start, _ := c.expect("chathistory batch", func(m irc.Message) bool {
			return (m.Command == "BATCH" && strings.HasPrefix(m.Param(0), "+")) || m.Command == "FAIL"
		})
		if start.Command == "FAIL" {
			t.Fatalf("CHATHISTORY: %v", start.Params)
		}
		id := strings.TrimPrefix(start.Param(0), "+")
		_, in := c.expect("batch end", func(m irc.Message) bool { return m.Command == "BATCH" && m.Param(0) == "-"+id })
		n := 0
		for _, m := range in {
			if m.Command == "PRIVMSG" {
				mid, _ := m.Tag("msgid")
				ids = append(ids, mid)
				n++
			}
		}
		if n == 0 {
			return ids
		}
		ref = "msgid=" + ids[len(ids)-1]
	}
}

// TestKill9UnderLoad is the no-loss property: a node is SIGKILLed while its
// clients and the survivor's exchange messages as fast as they are
// acknowledged. Afterwards every message a sender saw acknowledged (its
// echo) is in history; the survivor's client saw exactly history, in order;
// and a client of the dead node that reconnects to the survivor and asks
// CHATHISTORY AFTER its last msgid ends up with every message, no gap.
func TestKill9UnderLoad(t *testing.T) {
	db := startMaria(t)
	name := db.NewDatabase(t)
	a := startNode(t, mariaConfig(t, db, name, "k-survivor"), nil)
	child := startChild(t, mariaConfig(t, db, name, "k-victim"))
	victim := tcpAddr(child.addr)

	type member struct {
		c      *tclient
		rec    *recorder
		sender bool
	}
	mk := func(addr interface{ String() string }, nick string, sender bool) *member {
		c := dial(t, tcpAddr(addr.String()), nick)
		c.register(nick, allCaps...)
		c.join("#load")
		return &member{c: c, rec: &recorder{}, sender: sender}
	}
	rA := mk(a.Addr(), "rA", false)
	rB := mk(victim, "rB", false)
	sA := mk(a.Addr(), "sA", true)
	s1 := mk(victim, "s1", true)
	s2 := mk(victim, "s2", true)
	all := []*member{rA, rB, sA, s1, s2}

	var stop atomic.Bool
	var wg sync.WaitGroup
	for _, m := range all {
		var send func(int) bool
		if m.sender {
			c := m.c
			send = func(i int) bool {
				if stop.Load() {
					return false
				}
				_, err := c.conn.Write([]byte(fmt.Sprintf("PRIVMSG #load :%s %d\r\n", c.name, i)))
				return err == nil
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pump(m.c, m.rec, send)
		}()
	}
	acked := func() int {
		n := 0
		for _, m := range []*member{sA, s1, s2} {
			_, ack, _ := m.rec.snapshot()
			n += len(ack)
		}
		return n
	}
	waitFor(t, "300 acknowledged messages", func() bool { return acked() >= 300 })
	child.kill9(t)
	killedAt := time.Now()
	waitFor(t, "QUITs of the dead node's users", func() bool {
		_, _, q := rA.rec.snapshot()
		return len(q) >= 3
	})
	t.Logf("reaped %v after SIGKILL; %d messages acknowledged", time.Since(killedAt).Round(time.Millisecond), acked())
	stop.Store(true)
	sA.c.conn.Close()
	// sA may have had a message in flight: its QUIT comes after it in the
	// log, so once rA sees the QUIT, history is final.
	waitFor(t, "sA's QUIT", func() bool {
		_, _, q := rA.rec.snapshot()
		for _, n := range q {
			if n == "sA" {
				return true
			}
		}
		return false
	})

	h := dial(t, a.Addr(), "h")
	h.register("hist", allCaps...)
	history := fetchHistory(t, h, "timestamp=2000-01-01T00:00:00.000Z")
	inHistory := map[string]bool{}
	for _, id := range history {
		if inHistory[id] {
			t.Errorf("msgid %s twice in history", id)
		}
		inHistory[id] = true
	}
	for _, m := range []*member{sA, s1, s2} {
		_, ack, _ := m.rec.snapshot()
		for _, id := range ack {
			if !inHistory[id] {
				t.Errorf("%s: acknowledged msgid %s is not in history", m.c.name, id)
			}
		}
	}
	// The survivor's receiver saw exactly the history, in log order.
	waitFor(t, "rA to receive all of history", func() bool {
		seen, _, _ := rA.rec.snapshot()
		return len(seen) >= len(history)
	})
	seenA, _, _ := rA.rec.snapshot()
	if diff := cmp.Diff(history, seenA); diff != "" {
		t.Errorf("survivor's client vs history (-history +seen):\n%s", diff)
	}
	// The dead node's receiver resumes on the survivor, under its old nick.
	seenB, _, _ := rB.rec.snapshot()
	if len(seenB) == 0 {
		t.Fatal("rB saw nothing before the kill")
	}
	rB2 := dial(t, a.Addr(), "rB2")
	rB2.register("rB", allCaps...)
	rB2.join("#load")
	resumed := fetchHistory(t, rB2, "msgid="+seenB[len(seenB)-1])
	union := map[string]bool{}
	for _, id := range append(seenB, resumed...) {
		union[id] = true
	}
	missing := 0
	for _, id := range history {
		if !union[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("resumed client misses %d of %d messages (saw %d live, %d resumed)", missing, len(history), len(seenB), len(resumed))
	}
	t.Logf("history %d messages; dead node's client saw %d live and resumed %d", len(history), len(seenB), len(resumed))
	for _, m := range all {
		m.c.conn.Close()
	}
	wg.Wait()
}
