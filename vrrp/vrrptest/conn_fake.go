package vrrptest

import (
	"net/netip"
	"sync"

	"github.com/hachat/hachat/vrrp"
)

// FakeLink is an in-memory segment joining FakeConns, for tests: a packet
// written by one conn is delivered to every other conn on the link (the
// multicast group) or to the conn owning the destination (unicast), with
// TTL 255.
type FakeLink struct {
	mu    sync.Mutex
	conns []*FakeConn
	cut   map[*FakeConn]bool // conns whose traffic is lost (a dead node)
}

// FakeConn is a Conn on a FakeLink. Sent records every packet it wrote.
type FakeConn struct {
	link   *FakeLink
	addrs  []netip.Addr
	in     chan vrrp.Packet
	mu     sync.Mutex
	Sent   []vrrp.Packet
	closed chan struct{}
	once   sync.Once
}

// NewFakeLink returns an empty segment.
func NewFakeLink() *FakeLink { return &FakeLink{cut: map[*FakeConn]bool{}} }

// Conn attaches a conn owning the given unicast addresses.
func (l *FakeLink) Conn(addrs ...netip.Addr) *FakeConn {
	c := &FakeConn{link: l, addrs: addrs, in: make(chan vrrp.Packet, 1024), closed: make(chan struct{})}
	l.mu.Lock()
	l.conns = append(l.conns, c)
	l.mu.Unlock()
	return c
}

// Cut makes c's packets (both ways) vanish, as if its node died.
func (l *FakeLink) Cut(c *FakeConn, cut bool) {
	l.mu.Lock()
	l.cut[c] = cut
	l.mu.Unlock()
}

// Inject delivers a raw packet to c as if it came from the wire.
func (c *FakeConn) Inject(p vrrp.Packet) {
	p.Payload = append([]byte(nil), p.Payload...)
	select {
	case c.in <- p:
	case <-c.closed:
	}
}

// ReadPacket implements Conn.
func (c *FakeConn) ReadPacket(buf []byte) (vrrp.Packet, error) {
	select {
	case p := <-c.in:
		n := copy(buf, p.Payload)
		p.Payload = buf[:n]
		return p, nil
	case <-c.closed:
		return vrrp.Packet{}, vrrp.ErrClosed
	}
}

// WritePacket implements Conn.
func (c *FakeConn) WritePacket(payload []byte, src, dst netip.Addr) error {
	select {
	case <-c.closed:
		return vrrp.ErrClosed
	default:
	}
	p := vrrp.Packet{Src: src, Dst: dst, TTL: 255, Payload: append([]byte(nil), payload...)}
	c.mu.Lock()
	c.Sent = append(c.Sent, p)
	c.mu.Unlock()
	l := c.link
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut[c] {
		return nil
	}
	for _, o := range l.conns {
		if o == c || l.cut[o] {
			continue
		}
		if !dst.IsMulticast() && !containsAddr(o.addrs, dst) {
			continue
		}
		select {
		case o.in <- p:
		default: // a full receive buffer loses the packet, as a socket would
		}
	}
	return nil
}

// SentCount returns how many packets c wrote.
func (c *FakeConn) SentCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.Sent)
}

// Close implements Conn.
func (c *FakeConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func containsAddr(l []netip.Addr, a netip.Addr) bool {
	for _, x := range l {
		if x == a {
			return true
		}
	}
	return false
}

// Pending implements Pender.
func (c *FakeConn) Pending() bool { return len(c.in) > 0 }
