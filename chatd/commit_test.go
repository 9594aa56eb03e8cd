package chatd

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// worldLines renders a node's world (users, channels, members, bans) as
// sorted lines, comparable with storeLines.
func worldLines(n *testNode) []string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	var out []string
	for _, u := range n.sessions {
		out = append(out, fmt.Sprintf("session %s %s account=%q", u.sid, u.nick, u.acc))
	}
	for _, ch := range n.channels {
		out = append(out, fmt.Sprintf("channel %s +%s key=%q limit=%d topic=%q by=%q created=%d",
			ch.name, ch.modes, ch.chanKey, ch.limit, ch.topic, ch.topicBy, ch.created.UnixMilli()))
		for u, mm := range ch.members {
			out = append(out, fmt.Sprintf("member %s %s %q", ch.key, u.sid, mm))
		}
		for _, b := range ch.bans {
			out = append(out, fmt.Sprintf("ban %s %s", ch.key, b.mask))
		}
	}
	slices.Sort(out)
	return out
}

func storeLines(t *testing.T, st store.Store) []string {
	t.Helper()
	snap, err := st.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ss := range snap.Sessions {
		out = append(out, fmt.Sprintf("session %s %s account=%q", ss.ID, ss.Nick, ss.Account))
	}
	for _, c := range snap.Channels {
		out = append(out, fmt.Sprintf("channel %s +%s key=%q limit=%d topic=%q by=%q created=%d",
			c.Name, c.Modes, c.Key, c.Limit, c.Topic, c.TopicBy, c.Created.UnixMilli()))
	}
	for _, m := range snap.Members {
		out = append(out, fmt.Sprintf("member %s %s %q", store.Fold(m.Channel), m.SessionID, m.Modes))
	}
	for _, b := range snap.Bans {
		out = append(out, fmt.Sprintf("ban %s %s", store.Fold(b.Channel), b.Mask))
	}
	slices.Sort(out)
	return out
}

// requireWorldIsStore waits until every node's world is exactly the store's
// tables (the node may still be applying committed events), and fails with
// the difference at the deadline.
func requireWorldIsStore(t *testing.T, st store.Store, what string, nodes ...*testNode) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for _, n := range nodes {
		for {
			want, got := storeLines(t, st), worldLines(n)
			d := cmp.Diff(want, got)
			if d == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: node %s's world is not the store's tables (-store +world):\n%s", what, n.cfg.Node, d)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// faultCase is one IRC command whose store change is fault-injected.
type faultCase struct {
	name string
	// setup prepares iteration k and returns the client that sends line.
	setup func(k int) (c *tclient, line string)
	ok    func(m irc.Message) bool // the command's success reply
}

// TestOneTransactionPerChange injects a failure at every step of every
// command that changes the presence tables (each Tx call, after the last
// one, and the event's own INSERT after the table writes) and checks that
// the command either commits whole or not at all: the node's world, which
// only the log changes, stays exactly the store's tables, and a node that
// starts later loads the same world.
func TestOneTransactionPerChange(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		oneTransactionPerChange(t, "sqlite:"+filepath.Join(t.TempDir(), "tx.db"))
	})
	t.Run("mariadb", func(t *testing.T) {
		db := startMaria(t)
		if err := db.CreateDatabase(context.Background(), "txfault"); err != nil {
			t.Fatal(err)
		}
		oneTransactionPerChange(t, db.DSN("txfault"))
	})
}

func oneTransactionPerChange(t *testing.T, dsn string) {
	inner, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	fs := &faultyStore{Store: inner}
	cfg := testConfig("")
	n := startNode(t, cfg, fs)
	op := dial(t, n.Addr(), "op")
	op.register("op")
	op.join("#t")
	op.join("#q")
	member := dial(t, n.Addr(), "member")
	member.register("member")
	member.join("#t")
	op.expectCmd("JOIN", "#t")

	fresh := func(prefix string, k int) *tclient {
		c := dial(t, n.Addr(), prefix)
		c.register(fmt.Sprintf("%s%d", prefix, k))
		return c
	}
	echo := func(cmd string) func(m irc.Message) bool {
		return func(m irc.Message) bool { return m.Command == cmd }
	}
	cases := []faultCase{
		{"register", func(k int) (*tclient, string) {
			c := dial(t, n.Addr(), "reg")
			c.send("USER r 0 * :R")
			return c, fmt.Sprintf("NICK reg%d", k)
		}, echo(rplWelcome)},
		{"nick", func(k int) (*tclient, string) { return fresh("nk", k), fmt.Sprintf("NICK renamed%d", k) }, echo("NICK")},
		{"join-creates", func(k int) (*tclient, string) { return op, fmt.Sprintf("JOIN #new%d", k) }, echo("JOIN")},
		{"join-existing", func(k int) (*tclient, string) { return fresh("jn", k), "JOIN #t" }, echo("JOIN")},
		{"part-last-member", func(k int) (*tclient, string) {
			c := fresh("pt", k)
			c.join(fmt.Sprintf("#last%d", k))
			c.send("MODE #last%d +ik-t key", k)
			c.expectCmd("MODE")
			return c, fmt.Sprintf("PART #last%d", k)
		}, echo("PART")},
		{"kick", func(k int) (*tclient, string) {
			v := fresh("kv", k)
			v.join("#t")
			op.expectCmd("JOIN", "#t")
			return op, fmt.Sprintf("KICK #t kv%d :out", k)
		}, echo("KICK")},
		{"mode", func(k int) (*tclient, string) {
			return op, fmt.Sprintf("MODE #t +kbv-t key%d mask%d member", k, k)
		}, echo("MODE")},
		{"topic", func(k int) (*tclient, string) { return op, fmt.Sprintf("TOPIC #t :topic %d", k) }, echo("TOPIC")},
		{"quit", func(k int) (*tclient, string) {
			c := fresh("qt", k)
			c.join("#q")
			c.join(fmt.Sprintf("#solo%d", k))
			op.expectCmd("JOIN", "#q")
			return c, "QUIT :bye"
		}, nil},
	}
	k := 0
	for _, tc := range cases {
		// Step 0 is the event's INSERT failing after the table writes.
		for step := int64(0); ; step++ {
			k++
			c, line := tc.setup(k)
			requireWorldIsStore(t, inner, tc.name+" setup", n)
			fs.fired.Store(false)
			if step == 0 {
				fs.dupEvent.Store(true)
			} else {
				fs.failStep.Store(step)
			}
			c.send("%s", line)
			if tc.ok == nil {
				c.expectClosed()
			} else {
				m, _ := c.expect(tc.name+" outcome", func(m irc.Message) bool { return m.Command == "FAIL" || tc.ok(m) })
				if fired := fs.fired.Load(); fired != (m.Command == "FAIL") {
					t.Fatalf("%s, fault at step %d: fired %v but got %v", tc.name, step, fired, m)
				}
			}
			fired := fs.fired.Load()
			fs.failStep.Store(0)
			fs.dupEvent.Store(false)
			requireWorldIsStore(t, inner, fmt.Sprintf("%s, fault at step %d", tc.name, step), n)
			if !fired && step > 0 {
				break // past the change's last step: it committed whole
			}
		}
	}
	t.Logf("%d faulted commands", k)
	// A node that starts later loads exactly the same world.
	later := startNode(t, testConfig(""), inner)
	requireWorldIsStore(t, inner, "a node started later", n, later)
	if d := cmp.Diff(worldLines(n), worldLines(later)); d != "" {
		t.Errorf("worlds differ (-first +later):\n%s", d)
	}
}
