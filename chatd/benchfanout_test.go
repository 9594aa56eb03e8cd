package chatd

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hachat/hachat/chatd/store"
)

// discardConn is a net.Conn that accepts every write: it lets a benchmark
// measure the server's fan-out work without a peer's reading in the way.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error)       { return len(b), nil }
func (discardConn) Close() error                      { return nil }
func (discardConn) RemoteAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(198, 18, 0, 1), Port: 1} }
func (discardConn) SetWriteDeadline(time.Time) error  { return nil }
func (discardConn) SetReadDeadline(t time.Time) error { return nil }
func (discardConn) SetDeadline(t time.Time) error     { return nil }

// BenchmarkApplyFanout measures what the tailer spends applying one channel
// PRIVMSG to a channel of local members: rendering per capability variant
// and queueing to every member (writes go nowhere). It needs no store and no
// network, so it compares builds on a busy machine better than a TCP bench.
func BenchmarkApplyFanout(b *testing.B) {
	for _, members := range []int{10, 500} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			cfg := testConfig("bench")
			s, err := NewWithStore(cfg, nil, nil) // binds 127.0.0.1:0, never served
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(s.closeAll)
			ch := &channel{name: "#b", key: "#b", modes: "nt", members: make(map[*user]string)}
			s.channels[ch.key] = ch
			variants := []capSet{0, capServerTime | capMessageTags, capServerTime | capMessageTags | capAccountTag}
			for i := range members {
				c := s.newClient(discardConn{})
				c.caps.Store(uint32(variants[i%len(variants)]))
				u := &user{sid: fmt.Sprint(i), nick: fmt.Sprint("m", i), ident: "~m", host: "h", client: c, channels: map[string]*channel{}}
				s.users[u.nick] = u
				s.sessions[u.sid] = u
				ch.members[u] = ""
				ch.localCount++
				u.channels[ch.key] = ch
			}
			b.ResetTimer()
			for i := range b.N {
				ev := &store.Event{Seq: int64(i), MsgID: fmt.Sprint("id", i), Time: time.Now(), Node: "other",
					Kind: store.KindPrivmsg, Target: "#b", Sender: "x!~x@h", Text: "hello world"}
				s.apply(ev)
			}
		})
	}
}

// BenchmarkRegister measures one client's registration over loopback TCP
// on an in-memory SQLite node: NICK and USER to the end of the MOTD (the
// welcome burst, LUSERS and ISUPPORT included).
func BenchmarkRegister(b *testing.B) {
	n := startNode(b, testConfig(""), nil)
	b.ResetTimer()
	for i := range b.N {
		c := dial(b, n.Addr(), "r")
		c.register(fmt.Sprintf("r%d", i))
		c.conn.Close()
	}
}
