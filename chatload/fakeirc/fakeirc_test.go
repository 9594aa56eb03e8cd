package fakeirc_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/chatload/fakeirc"
)

type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, r: bufio.NewReader(c)}
}

func (c *client) send(lines ...string) {
	c.t.Helper()
	for _, l := range lines {
		if _, err := c.c.Write([]byte(l + "\r\n")); err != nil {
			c.t.Fatal(err)
		}
	}
}

// until reads lines until one contains want, returning all read.
func (c *client) until(want string) []string {
	c.t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []string
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("waiting for %q: %v (got %q)", want, err, got)
		}
		got = append(got, strings.TrimRight(l, "\r\n"))
		if strings.Contains(l, want) {
			return got
		}
	}
}

func TestFakeRegistersEchoesAndPagesHistory(t *testing.T) {
	nd, err := fakeirc.New(fakeirc.Normal)
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Kill()
	a := dial(t, nd.Addr())
	a.send("CAP LS 302", "NICK a", "USER a 0 * a")
	a.until("CAP * LS")
	a.send("CAP REQ :batch draft/chathistory echo-message message-tags")
	a.until("CAP * ACK")
	a.send("CAP END")
	a.until(" 001 a ")
	a.send("JOIN #c")
	a.until("JOIN #c")
	for _, m := range []string{"one", "two", "three"} {
		a.send("PRIVMSG #c :" + m)
		if got := a.until("PRIVMSG #c :" + m); !strings.HasPrefix(got[len(got)-1], "@msgid=") {
			t.Errorf("echo %q lacks its msgid", got[len(got)-1])
		}
	}
	a.send("CHATHISTORY AFTER #c timestamp=2000-01-01T00:00:00.000Z 2")
	page := a.until("BATCH -")
	var texts []string
	for _, l := range page {
		if strings.Contains(l, "PRIVMSG") {
			texts = append(texts, l[strings.LastIndex(l, ":")+1:])
		}
	}
	if strings.Join(texts, ",") != "one,two" {
		t.Errorf("first page %q, want one,two", texts)
	}
	if nd.Network().HistoryLen("#C") != 3 {
		t.Errorf("history len %d, want 3", nd.Network().HistoryLen("#c"))
	}
}

func TestFakeRefusesUnknownCapAndDuplicateNick(t *testing.T) {
	nd, err := fakeirc.New(fakeirc.Normal)
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Kill()
	a := dial(t, nd.Addr())
	a.send("NICK same", "USER s 0 * s")
	a.until(" 001 same ")
	b := dial(t, nd.Addr())
	b.send("CAP REQ :echo-message sasl")
	b.until("CAP * NAK")
	b.send("NICK same")
	b.until(" 433 ")
}
