// Package fakeirc is a small in-memory IRC network for testing chatload: it
// registers clients (RFC 2812 §3.1, 001), negotiates IRCv3 capabilities
// (CAP LS 302, echo-message, message-tags, server-time, batch,
// draft/chathistory), fans PRIVMSGs out to channel members with @msgid tags,
// answers CHATHISTORY AFTER, and can misbehave on purpose: reset, stall,
// close early, refuse with ERROR, drop or duplicate history. Several nodes
// can share one network, like chat nodes sharing a database, and a node can
// be killed to exercise failover.
//
// It is a test helper with its own tiny parser, kept apart from chatload's
// so that a bug in one does not hide the same bug in the other.
package fakeirc

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Mode selects how a node treats new connections.
type Mode int32

// Modes.
const (
	// Normal behaves like a small IRC server.
	Normal Mode = iota
	// Reset reads the first line and answers with a TCP RST.
	Reset
	// Stall reads everything and never writes: the client times out.
	Stall
	// CloseEarly closes cleanly (FIN) after the first line, before 001.
	CloseEarly
	// RefuseError sends "ERROR :server full" and closes, like an IRC
	// server at its connection limit.
	RefuseError
	// NoEcho registers normally but never echoes or delivers messages and
	// never answers PING: the client times out waiting for its echo.
	NoEcho
)

// Caps the fake offers.
var Caps = []string{"batch", "draft/chathistory", "echo-message", "message-tags", "server-time"}

// Network is the shared state of all nodes: nicks, channels, history.
type Network struct {
	mu       sync.Mutex
	nicks    map[string]*client
	channels map[string]map[*client]bool
	history  map[string][]stored
	nextID   int64
	// HistoryLimit is CHATHISTORY's page size (ISUPPORT CHATHISTORY=).
	HistoryLimit int
	// HistoryOff makes CHATHISTORY answer with empty batches: a resume bug
	// the client must notice as missing messages.
	HistoryOff atomic.Bool
	// DuplicateHistory makes CHATHISTORY AFTER include the anchor message
	// itself, which the client must count as a duplicate and drop.
	DuplicateHistory atomic.Bool

	// KeepNicksOnKill leaves a killed node's nicks registered, like a
	// cluster that has not yet reaped a dead node's sessions: reconnecting
	// clients get 433 for their old nick.
	KeepNicksOnKill atomic.Bool

	Delivered atomic.Int64 // PRIVMSG lines written to receivers
}

// HistoryLen returns how many messages channel's history holds.
func (n *Network) HistoryLen(channel string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.history[strings.ToLower(channel)])
}

// Channels lists the channels that have history.
func (n *Network) Channels() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for ch := range n.history {
		out = append(out, ch)
	}
	return out
}

type stored struct {
	id    int64
	line  string // without tags
	when  time.Time
	msgid string
}

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	return &Network{
		nicks:        map[string]*client{},
		channels:     map[string]map[*client]bool{},
		history:      map[string][]stored{},
		HistoryLimit: 50,
	}
}

// Node is one listening server of a network.
type Node struct {
	net  *Network
	ln   net.Listener
	name string
	mode atomic.Int32

	mu      sync.Mutex
	clients map[*client]bool
	wg      sync.WaitGroup
	dead    bool

	Accepted atomic.Int64

	pmu   sync.Mutex
	peers map[string]int // remote IP → connections accepted
}

// Peers returns how many connections each remote IP made.
func (nd *Node) Peers() map[string]int {
	nd.pmu.Lock()
	defer nd.pmu.Unlock()
	out := make(map[string]int, len(nd.peers))
	for k, v := range nd.peers {
		out[k] = v
	}
	return out
}

// Listen starts a node on 127.0.0.1:0.
func (n *Network) Listen(name string) (*Node, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakeirc listen: %w", err)
	}
	nd := &Node{net: n, ln: ln, name: name, clients: map[*client]bool{}}
	nd.wg.Add(1)
	go nd.acceptLoop()
	return nd, nil
}

// New starts a one-node network: the common case.
func New(mode Mode) (*Node, error) {
	nd, err := NewNetwork().Listen("fake.irc")
	if err != nil {
		return nil, err
	}
	nd.SetMode(mode)
	return nd, nil
}

// Addr is host:port of the node.
func (nd *Node) Addr() string { return nd.ln.Addr().String() }

// Network returns the node's network.
func (nd *Node) Network() *Network { return nd.net }

// SetMode changes how later connections are treated.
func (nd *Node) SetMode(m Mode) { nd.mode.Store(int32(m)) }

// Kill stops the node like a crash: the listener closes (new connections
// are refused) and every client gets a RST. Its users leave their channels.
func (nd *Node) Kill() {
	nd.mu.Lock()
	nd.dead = true
	cs := make([]*client, 0, len(nd.clients))
	for c := range nd.clients {
		cs = append(cs, c)
	}
	nd.mu.Unlock()
	nd.ln.Close()
	for _, c := range cs {
		c.reset()
	}
	nd.wg.Wait()
}

// Close is Kill; it exists so a node can be deferred like a server.
func (nd *Node) Close() { nd.Kill() }

func (nd *Node) acceptLoop() {
	defer nd.wg.Done()
	for {
		conn, err := nd.ln.Accept()
		if err != nil {
			return
		}
		nd.Accepted.Add(1)
		if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
			nd.pmu.Lock()
			if nd.peers == nil {
				nd.peers = map[string]int{}
			}
			nd.peers[ta.IP.String()]++
			nd.pmu.Unlock()
		}
		c := &client{node: nd, conn: conn.(*net.TCPConn), caps: map[string]bool{}}
		nd.mu.Lock()
		if nd.dead {
			nd.mu.Unlock()
			c.reset()
			continue
		}
		nd.clients[c] = true
		nd.wg.Add(1)
		nd.mu.Unlock()
		go func() {
			defer nd.wg.Done()
			c.serve(Mode(nd.mode.Load()))
			nd.mu.Lock()
			delete(nd.clients, c)
			nd.mu.Unlock()
		}()
	}
}

type client struct {
	node *Node
	conn *net.TCPConn
	wmu  sync.Mutex

	nick, user string
	capNeg     bool // CAP LS seen, waiting for CAP END
	registered bool
	caps       map[string]bool
	chans      map[string]bool
}

func (c *client) reset() {
	_ = c.conn.SetLinger(0)
	c.conn.Close()
}

func (c *client) send(line string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.conn.Write([]byte(line + "\r\n"))
}

func (c *client) serve(mode Mode) {
	defer c.conn.Close()
	defer c.leaveAll()
	r := bufio.NewReader(c.conn)
	first := true
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if first {
			first = false
			switch mode {
			case Reset:
				c.reset()
				return
			case CloseEarly:
				return
			case RefuseError:
				c.send("ERROR :Closing link: server full")
				return
			}
		}
		if mode == Stall {
			continue
		}
		cmd, params := parse(line)
		if !c.handle(mode, cmd, params) {
			return
		}
	}
}

// parse splits a line into an upper-case command and its parameters,
// skipping tags and source.
func parse(line string) (string, []string) {
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "@") {
		_, line, _ = strings.Cut(line, " ")
	}
	if strings.HasPrefix(line, ":") {
		_, line, _ = strings.Cut(line, " ")
	}
	var params []string
	for line != "" {
		line = strings.TrimLeft(line, " ")
		if strings.HasPrefix(line, ":") {
			params = append(params, line[1:])
			break
		}
		var p string
		p, line, _ = strings.Cut(line, " ")
		if p != "" {
			params = append(params, p)
		}
	}
	if len(params) == 0 {
		return "", nil
	}
	return strings.ToUpper(params[0]), params[1:]
}

func (c *client) prefix() string { return c.nick + "!" + c.user + "@fake" }

// handle processes one command; false ends the connection.
func (c *client) handle(mode Mode, cmd string, p []string) bool {
	srv := ":" + c.node.name
	switch cmd {
	case "CAP":
		if len(p) == 0 {
			return true
		}
		switch strings.ToUpper(p[0]) {
		case "LS":
			c.capNeg = true
			c.send(srv + " CAP * LS :" + strings.Join(Caps, " "))
		case "REQ":
			c.capNeg = true
			want := strings.Fields(p[len(p)-1])
			for _, w := range want {
				if !contains(Caps, w) {
					c.send(srv + " CAP * NAK :" + p[len(p)-1])
					return true
				}
			}
			for _, w := range want {
				c.caps[w] = true
			}
			c.send(srv + " CAP * ACK :" + p[len(p)-1])
		case "END":
			c.capNeg = false
			c.tryWelcome()
		}
	case "NICK":
		if len(p) == 0 {
			return true
		}
		n := c.node.net
		n.mu.Lock()
		key := strings.ToLower(p[0])
		if other, ok := n.nicks[key]; ok && other != c {
			n.mu.Unlock()
			c.send(srv + " 433 * " + p[0] + " :Nickname is already in use")
			return true
		}
		if c.nick != "" {
			delete(n.nicks, strings.ToLower(c.nick))
		}
		n.nicks[key] = c
		n.mu.Unlock()
		c.nick = p[0]
		c.tryWelcome()
	case "USER":
		if len(p) > 0 {
			c.user = p[0]
		}
		c.tryWelcome()
	case "PING":
		if mode == NoEcho {
			return true
		}
		c.send(srv + " PONG " + c.node.name + " :" + last(p))
	case "QUIT":
		c.send("ERROR :Closing link (Quit)")
		return false
	case "JOIN":
		if !c.registered || len(p) == 0 {
			return true
		}
		c.join(p[0])
	case "PRIVMSG":
		if !c.registered || len(p) < 2 || mode == NoEcho {
			return true
		}
		c.privmsg(p[0], p[1])
	case "CHATHISTORY":
		c.chathistory(p)
	}
	return true
}

func (c *client) tryWelcome() {
	if c.registered || c.capNeg || c.nick == "" || c.user == "" {
		return
	}
	c.registered = true
	srv := ":" + c.node.name
	c.send(srv + " 001 " + c.nick + " :Welcome to the fake network " + c.nick)
	c.send(srv + " 005 " + c.nick + " CHATHISTORY=" + strconv.Itoa(c.node.net.HistoryLimit) +
		" MSGREFTYPES=msgid :are supported by this server")
	c.send(srv + " 376 " + c.nick + " :End of MOTD")
}

func (c *client) join(ch string) {
	n := c.node.net
	key := strings.ToLower(ch)
	n.mu.Lock()
	if n.channels[key] == nil {
		n.channels[key] = map[*client]bool{}
	}
	n.channels[key][c] = true
	members := keys(n.channels[key])
	n.mu.Unlock()
	if c.chans == nil {
		c.chans = map[string]bool{}
	}
	c.chans[key] = true
	for _, m := range members {
		m.send(":" + c.prefix() + " JOIN " + ch)
	}
}

func (c *client) leaveAll() {
	n := c.node.net
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range c.chans {
		delete(n.channels[ch], c)
	}
	c.node.mu.Lock()
	dead := c.node.dead
	c.node.mu.Unlock()
	if dead && n.KeepNicksOnKill.Load() {
		return
	}
	if n.nicks[strings.ToLower(c.nick)] == c {
		delete(n.nicks, strings.ToLower(c.nick))
	}
}

func (c *client) privmsg(target, text string) {
	n := c.node.net
	line := ":" + c.prefix() + " PRIVMSG " + target + " :" + text
	now := time.Now()
	var to []*client
	n.mu.Lock()
	n.nextID++
	st := stored{id: n.nextID, line: line, when: now, msgid: "m" + strconv.FormatInt(n.nextID, 10)}
	if strings.HasPrefix(target, "#") {
		key := strings.ToLower(target)
		n.history[key] = append(n.history[key], st)
		for m := range n.channels[key] {
			if m != c {
				to = append(to, m)
			}
		}
	} else if m, ok := n.nicks[strings.ToLower(target)]; ok && m != c {
		to = append(to, m)
	}
	// Deliver while still holding the lock, so every client receives
	// messages in msgid order, as a server that delivers from its log does;
	// otherwise "CHATHISTORY AFTER <last seen>" could skip a message that
	// was overtaken. Lock order is always network, then client writer.
	defer n.mu.Unlock()
	for _, m := range to {
		m.send(m.tagged(st, ""))
		n.Delivered.Add(1)
	}
	if c.caps["echo-message"] || strings.EqualFold(target, c.nick) {
		c.send(c.tagged(st, ""))
	}
}

// tagged adds msgid/time/batch tags when the receiver asked for them.
func (c *client) tagged(st stored, batch string) string {
	var tags []string
	if batch != "" && c.caps["batch"] {
		tags = append(tags, "batch="+batch)
	}
	if c.caps["message-tags"] {
		tags = append(tags, "msgid="+st.msgid)
	}
	if c.caps["server-time"] {
		tags = append(tags, "time="+st.when.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	if len(tags) == 0 {
		return st.line
	}
	return "@" + strings.Join(tags, ";") + " " + st.line
}

// chathistory answers "CHATHISTORY AFTER <target> msgid=<id> <limit>".
func (c *client) chathistory(p []string) {
	srv := ":" + c.node.name
	if len(p) < 4 || strings.ToUpper(p[0]) != "AFTER" || !c.caps["draft/chathistory"] {
		c.send(srv + " FAIL CHATHISTORY INVALID_PARAMS :only AFTER is supported")
		return
	}
	n := c.node.net
	limit, _ := strconv.Atoi(p[3])
	if limit <= 0 || limit > n.HistoryLimit {
		limit = n.HistoryLimit
	}
	key := strings.ToLower(p[1])
	anchor := p[2]
	n.mu.Lock()
	h := n.history[key]
	start := 0
	switch {
	case strings.HasPrefix(anchor, "msgid="):
		id := strings.TrimPrefix(anchor, "msgid=")
		for i, st := range h {
			if st.msgid == id {
				start = i + 1
				if n.DuplicateHistory.Load() {
					start = i
				}
			}
		}
	case strings.HasPrefix(anchor, "timestamp="):
		ts, err := time.Parse("2006-01-02T15:04:05.000Z", strings.TrimPrefix(anchor, "timestamp="))
		if err == nil {
			for start < len(h) && !h[start].when.After(ts) {
				start++
			}
		}
	}
	var page []stored
	for _, st := range h[start:] {
		if len(page) == limit || n.HistoryOff.Load() {
			break
		}
		page = append(page, st)
	}
	n.mu.Unlock()
	ref := "h" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	c.send(srv + " BATCH +" + ref + " chathistory " + p[1])
	for _, st := range page {
		c.send(c.tagged(st, ref))
	}
	c.send(srv + " BATCH -" + ref)
}

func keys(m map[*client]bool) []*client {
	out := make([]*client, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func last(p []string) string {
	if len(p) == 0 {
		return ""
	}
	return p[len(p)-1]
}
