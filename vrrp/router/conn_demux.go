package router

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/vrrp"
)

// Demux owns the Conn of one interface and address family and hands each
// received advert to the instance with its VRID. It applies the checks of
// RFC 5798 §7.1 that do not depend on the instance (TTL, version, type,
// length, checksum, VRID) and counts each refused packet by reason; the
// instance applies the rest (unicast peer list, own echo). No packet, however
// malformed, reaches a state machine without passing ParseAdvert.
type Demux struct {
	ifname string
	connMu sync.RWMutex
	conn   vrrp.Conn
	drops  DropCounts
	pol    vrrp.RxPolicy
	busy   atomic.Bool // a packet is between the socket and an instance
	dlog   dropLog

	mu    sync.RWMutex
	byID  [256]*Instance
	count int
}

// NewDemux returns a demultiplexer for conn on the named interface.
func NewDemux(ifname string, conn vrrp.Conn) *Demux {
	d := &Demux{ifname: ifname, conn: conn}
	d.pol = vrrp.RxPolicy{KnownVRID: d.known}
	return d
}

// SetLogger makes the demultiplexer log refused packets at debug level,
// rate-limited per reason. Call it before Run.
func (d *Demux) SetLogger(l *slog.Logger) { d.dlog.log = l }

// Pending reports whether a received packet has not reached its instance
// yet: queued in the socket, or being checked. InstanceDeps.Pending.
func (d *Demux) Pending() bool {
	if d.busy.Load() {
		return true
	}
	p, ok := d.getConn().(vrrp.Pender)
	return ok && p.Pending()
}

// Interface returns the interface name.
func (d *Demux) Interface() string { return d.ifname }

// Drops returns the interface-level drop counters.
func (d *Demux) Drops() *DropCounts { return &d.drops }

// ErrVRIDInUse is returned by Register for a VRID already registered.
var ErrVRIDInUse = errors.New("vrrp: VRID already in use on this interface")

// Register routes adverts for in's VRID to in.
func (d *Demux) Register(in *Instance) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := in.cfg.Machine.VRID
	if d.byID[id] != nil && d.byID[id] != in {
		return ErrVRIDInUse
	}
	if d.byID[id] == nil {
		d.count++
	}
	d.byID[id] = in
	return nil
}

// Unregister stops routing to in and reports how many instances are left.
func (d *Demux) Unregister(in *Instance) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := in.cfg.Machine.VRID
	if d.byID[id] == in {
		d.byID[id] = nil
		d.count--
	}
	return d.count
}

// WritePacket sends through the shared connection.
func (d *Demux) WritePacket(payload []byte, src, dst netip.Addr) error {
	return d.getConn().WritePacket(payload, src, dst)
}

func (d *Demux) getConn() vrrp.Conn {
	d.connMu.RLock()
	defer d.connMu.RUnlock()
	return d.conn
}

// Replace swaps in a new connection after the old one failed; call Run
// again to read from it.
func (d *Demux) Replace(c vrrp.Conn) {
	d.connMu.Lock()
	old := d.conn
	d.conn = c
	d.connMu.Unlock()
	if old != nil {
		old.Close()
	}
}

// Run reads until ctx is done or the connection fails, then closes it.
func (d *Demux) Run(ctx context.Context) error {
	conn := d.getConn()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	buf := make([]byte, 65536)
	for {
		p, err := conn.ReadPacket(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		d.busy.Store(true)
		d.Handle(p)
		d.busy.Store(false)
	}
}

// Handle checks one packet and delivers it, or counts why not. It is
// exported for tests that feed packets without a Conn.
func (d *Demux) Handle(p vrrp.Packet) {
	a, form, err := d.pol.CheckForm(p.Payload, p.Src, p.Dst, p.TTL)
	if err != nil {
		if r, ok := d.drops.AddErr(err); ok {
			d.dlog.note(time.Now(), r, "interface", d.ifname, "src", p.Src, "err", err)
		}
		return
	}
	d.mu.RLock()
	in := d.byID[a.VRID]
	d.mu.RUnlock()
	if in == nil { // unregistered between the check and now
		d.drops.Add(vrrp.DropVRID)
		d.dlog.note(time.Now(), vrrp.DropVRID, "interface", d.ifname, "src", p.Src, "vrid", a.VRID)
		return
	}
	in.Deliver(a, p.Src, form)
}

func (d *Demux) known(vrid uint8) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.byID[vrid] != nil
}
