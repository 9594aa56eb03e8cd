package chatd

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/internal/mariadbtest"
)

// childEnv carries a JSON Config to a re-executed test binary, which then
// runs one chatd node as a separate process so a test can SIGKILL it.
const childEnv = "CHATD_TEST_CHILD_CONFIG"

func TestMain(m *testing.M) {
	if js := os.Getenv(childEnv); js != "" {
		os.Exit(runChild(js))
	}
	os.Exit(m.Run())
}

func runChild(js string) int {
	var cfg Config
	if err := json.Unmarshal([]byte(js), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "child config:", err)
		return 2
	}
	srv, err := New(cfg, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	fmt.Printf("ADDR %s\n", srv.Addr())
	if err := srv.Run(testContext()); err != nil {
		fmt.Fprintln(os.Stderr, "child run:", err)
		return 1
	}
	return 0
}

type childNode struct {
	cmd  *exec.Cmd
	addr string
}

// startChild runs a node in a subprocess and returns its IRC address.
func startChild(t *testing.T, cfg Config) *childNode {
	t.Helper()
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(js))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
				lines <- a
			}
		}
	}()
	select {
	case a := <-lines:
		return &childNode{cmd: cmd, addr: a}
	case <-time.After(30 * time.Second):
		t.Fatal("child node did not start")
	}
	return nil
}

func (n *childNode) kill9(t *testing.T) {
	t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = n.cmd.Wait()
}

type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }

// startMaria starts a throwaway MariaDB, skipping in -short mode (these
// tests start servers and processes) and when MariaDB cannot run here.
func startMaria(t *testing.T) *mariadbtest.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("starts MariaDB and chatd processes; skipped in -short mode")
	}
	return mariadbtest.Start(t)
}

// mariaConfig is a test node config on a fresh MariaDB database.
func mariaConfig(t *testing.T, db *mariadbtest.Server, dbname, node string) Config {
	cfg := testConfig(node)
	cfg.DSN = db.DSN(dbname)
	return cfg
}

// TestTwoNodes runs two in-process nodes on one MariaDB: cross-node channel
// and private delivery with one msgid, nick uniqueness, WHOIS of a remote
// user, remote QUIT.
func TestTwoNodes(t *testing.T) {
	db := startMaria(t)
	name := db.NewDatabase(t)
	a := startNode(t, mariaConfig(t, db, name, "node-a"), nil)
	b := startNode(t, mariaConfig(t, db, name, "node-b"), nil)

	ca := dial(t, a.Addr(), "ca")
	ca.register("alice", allCaps...)
	cb := dial(t, b.Addr(), "cb")
	cb.register("bob", allCaps...)
	ca.join("#both")
	cb.join("#both")
	ca.expectCmd("JOIN", "#both") // bob's join, from node-b
	cb.send("NAMES #both")
	if m := cb.expectCmd(rplNamReply); m.Param(3) != "@alice bob" {
		t.Errorf("NAMES on node-b = %q, want @alice bob", m.Param(3))
	}

	ca.send("PRIVMSG #both :across")
	echo := ca.expectCmd("PRIVMSG", "#both", "across")
	got := cb.expectCmd("PRIVMSG", "#both", "across")
	idA, _ := echo.Tag("msgid")
	idB, _ := got.Tag("msgid")
	if idA == "" || idA != idB {
		t.Errorf("msgid on node-a %q, on node-b %q: want equal and set", idA, idB)
	}
	cb.send("PRIVMSG alice :direct")
	ca.expectCmd("PRIVMSG", "alice", "direct")

	// Nick uniqueness holds across nodes, case-insensitively.
	dup := dial(t, b.Addr(), "dup")
	dup.send("NICK ALICE")
	dup.send("USER x 0 * :x")
	dup.expectCmd(errNicknameInUse, "*", "ALICE")
	cb.send("NICK Alice")
	cb.expectCmd(errNicknameInUse, "bob", "Alice")

	cb.send("WHOIS alice")
	// To clients the cluster is one server: 312 names the answering
	// node's server_name, never the node alice is connected to.
	cb.expectCmd(rplWhoisServer, "bob", "alice", "node-b")
	cb.send("LUSERS")
	if m := cb.expectCmd(rplLuserClient); !strings.Contains(m.Param(1), "users and 0 invisible on 2 servers") {
		t.Errorf("LUSERS on node-b: %q", m.Param(1))
	}
	if m := cb.expectCmd(rplLuserChannels); m.Param(1) != "1" {
		t.Errorf("LUSERS channels = %q, want 1", m.Param(1))
	}

	ca.send("QUIT :bye")
	cb.expectCmd("QUIT", "Quit: bye")
	dup.send("NICK alice")
	dup.expectCmd(rplWelcome, "alice")
}

// TestDeadNodeReaped kills a node with SIGKILL: the survivor notices its
// stale heartbeat, sends its users' QUITs and frees their nicks.
func TestDeadNodeReaped(t *testing.T) {
	db := startMaria(t)
	name := db.NewDatabase(t)
	a := startNode(t, mariaConfig(t, db, name, "survivor"), nil)
	child := startChild(t, mariaConfig(t, db, name, "victim"))

	ca := dial(t, a.Addr(), "ca")
	ca.register("watcher")
	ca.join("#reap")
	cv := dial(t, tcpAddr(child.addr), "cv")
	cv.register("doomed")
	cv.join("#reap")
	ca.expectCmd("JOIN", "#reap")
	child.kill9(t)
	start := time.Now()
	q, _ := ca.expect("QUIT of doomed", func(m irc.Message) bool { return m.Command == "QUIT" })
	if !strings.HasPrefix(q.Source, "doomed!") {
		t.Errorf("QUIT from %q, want doomed", q.Source)
	}
	t.Logf("dead node reaped %v after SIGKILL", time.Since(start).Round(time.Millisecond))
	again := dial(t, a.Addr(), "again")
	again.register("doomed")
	ca.send("NAMES #reap")
	if m := ca.expectCmd(rplNamReply); m.Param(3) != "@watcher" {
		t.Errorf("NAMES after reap = %q", m.Param(3))
	}
}

// TestRestartReleasesOwnSessions restarts a SIGKILLed node under the same
// name before any peer would reap it: the new incarnation itself sends the
// QUITs of its predecessor's users and frees their nicks.
func TestRestartReleasesOwnSessions(t *testing.T) {
	db := startMaria(t)
	name := db.NewDatabase(t)
	wcfg := mariaConfig(t, db, name, "watch")
	wcfg.Timers.DeadAfter = time.Minute // only the restart may clean up
	a := startNode(t, wcfg, nil)
	vcfg := mariaConfig(t, db, name, "phoenix")
	vcfg.Timers.DeadAfter = time.Minute
	first := startChild(t, vcfg)
	w := dial(t, a.Addr(), "w")
	w.register("watcher")
	w.join("#rise")
	v := dial(t, tcpAddr(first.addr), "v")
	v.register("ghost")
	v.join("#rise")
	w.expectCmd("JOIN", "#rise")
	first.kill9(t)
	startChild(t, vcfg)
	q := w.expectCmd("QUIT", "Server restarted")
	if !strings.HasPrefix(q.Source, "ghost!") {
		t.Errorf("QUIT from %q", q.Source)
	}
	again := dial(t, a.Addr(), "again")
	again.register("ghost")
}
