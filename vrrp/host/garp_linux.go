//go:build linux

package host

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"

	//lint:ignore SA1019 the project chose mdlayher/raw (a shim over mdlayher/packet on Linux); Announcer hides it
	"github.com/mdlayher/raw"
	"golang.org/x/net/bpf"
)

// RawAnnouncer sends gratuitous ARP and unsolicited NA frames on AF_PACKET
// sockets (mdlayher/raw), one per interface, opened on first use. The
// sockets only send: a BPF program that accepts nothing keeps received
// frames from piling up in them.
type RawAnnouncer struct {
	mu    sync.Mutex
	conns map[string]*rawIf
}

type rawIf struct {
	ifi  *net.Interface
	conn *raw.Conn
}

// NewRawAnnouncer returns an announcer; it needs CAP_NET_RAW.
func NewRawAnnouncer() *RawAnnouncer { return &RawAnnouncer{conns: map[string]*rawIf{}} }

const ethPARP = 0x0806

func (r *RawAnnouncer) get(ifname string) (*rawIf, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.conns[ifname]; ok {
		return c, nil
	}
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, err
	}
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("%s has no Ethernet address", ifname)
	}
	dropAll, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err != nil {
		return nil, err
	}
	c, err := raw.ListenPacket(ifi, ethPARP, &raw.Config{Filter: dropAll})
	if err != nil {
		return nil, err
	}
	ri := &rawIf{ifi: ifi, conn: c}
	r.conns[ifname] = ri
	return ri, nil
}

// Announce implements Announcer: for IPv4 a gratuitous ARP request and
// reply, for IPv6 one unsolicited NA (Router flag when forwarding is on).
// A socket whose send fails is dropped and the announcement tried once on a
// new one: the interface may have gone and come back under the same name
// (a virtual MAC interface does, whenever its instance restarts), and the
// old socket stays bound to the old interface index.
func (r *RawAnnouncer) Announce(ifname string, addr netip.Addr) error {
	err := r.announce(ifname, addr)
	if err != nil {
		r.Forget(ifname)
		err = r.announce(ifname, addr)
	}
	return err
}

func (r *RawAnnouncer) announce(ifname string, addr netip.Addr) error {
	ri, err := r.get(ifname)
	if err != nil {
		return fmt.Errorf("vrrp: announce %v on %s: %w", addr, ifname, err)
	}
	var frames [][]byte
	var dst net.HardwareAddr
	if addr.Is4() || addr.Is4In6() {
		dst = ethBroadcast
		for _, reply := range []bool{false, true} {
			f, err := GARPFrame(ri.ifi.HardwareAddr, addr.Unmap(), reply)
			if err != nil {
				return err
			}
			frames = append(frames, f)
		}
	} else {
		dst = ethAllNodes
		f, err := NAFrame(ri.ifi.HardwareAddr, addr, forwarding6(ifname))
		if err != nil {
			return err
		}
		frames = append(frames, f)
	}
	for _, f := range frames {
		if _, err := ri.conn.WriteTo(f, &raw.Addr{HardwareAddr: dst}); err != nil {
			return fmt.Errorf("vrrp: announce %v on %s: %w", addr, ifname, err)
		}
	}
	return nil
}

// Close closes every socket.
func (r *RawAnnouncer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for n, c := range r.conns {
		c.conn.Close()
		delete(r.conns, n)
	}
	return nil
}

// Forget closes the socket of an interface (it went away or changed).
func (r *RawAnnouncer) Forget(ifname string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.conns[ifname]; ok {
		c.conn.Close()
		delete(r.conns, ifname)
	}
}

// forwarding6 reports whether IPv6 forwarding is on for the interface: a
// router sets the Router flag in its advertisements (RFC 4861 §4.4).
func forwarding6(ifname string) bool {
	b, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + ifname + "/forwarding")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}
