package vrrp

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hachat/hachat/test/netns"
	"golang.org/x/sys/unix"
)

// Interop with a real keepalived (Debian bookworm: 2.2.7) over a bridge in
// network namespaces the test creates. It checks the wire format both ways:
// keepalived's adverts pass ParseAdvert with TTL 255, and keepalived obeys
// ours (it releases its address on a priority 200 advert and takes it back
// after our priority 0 advert). Needs root, ip(8) and keepalived.

const interopConf = `global_defs {
  vrrp_version 3
  router_id %s
  script_user root
  enable_script_security
}
vrrp_instance WIRE {
  state BACKUP
  interface eth0
  virtual_router_id 61
  priority 100
  advert_int 0.1
  virtual_ipaddress {
    198.18.0.100/24
  }
}
`

type rawVRRP struct {
	fd     int
	mu     sync.Mutex
	rx     []rxPacket
	done   chan struct{}
	exited chan struct{}
}

type rxPacket struct {
	src, dst netip.Addr
	ttl      int
	payload  []byte
}

// openRawVRRP opens an IPv4 raw socket for protocol 112 in the current
// namespace, joined to 224.0.0.18 on the interface with address local.
func openRawVRRP(local netip.Addr) (*rawVRRP, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, IPProtocolVRRP)
	if err != nil {
		return nil, fmt.Errorf("raw socket: %w", err)
	}
	l := local.As4()
	for _, o := range []struct {
		name string
		err  error
	}{
		{"join", unix.SetsockoptIPMreq(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, &unix.IPMreq{Multiaddr: [4]byte{224, 0, 0, 18}, Interface: l})},
		{"mcast if", unix.SetsockoptInet4Addr(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, l)},
		{"mcast ttl", unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, 255)},
		{"mcast loop", unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0)},
		{"tos", unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TOS, 0xc0)},
		{"rcvtimeo", unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 50000})},
	} {
		if o.err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("raw socket %s: %w", o.name, o.err)
		}
	}
	r := &rawVRRP{fd: fd, done: make(chan struct{}), exited: make(chan struct{})}
	go r.read()
	return r, nil
}

func (r *rawVRRP) read() {
	defer close(r.exited)
	buf := make([]byte, 2048)
	for {
		select {
		case <-r.done:
			return
		default:
		}
		n, _, err := unix.Recvfrom(r.fd, buf, 0)
		if err != nil || n < 20 {
			continue // timeout: check done
		}
		ihl := int(buf[0]&0x0f) * 4
		if n < ihl {
			continue
		}
		p := rxPacket{
			src:     netip.AddrFrom4([4]byte(buf[12:16])),
			dst:     netip.AddrFrom4([4]byte(buf[16:20])),
			ttl:     int(buf[8]),
			payload: append([]byte(nil), buf[ihl:n]...),
		}
		r.mu.Lock()
		r.rx = append(r.rx, p)
		r.mu.Unlock()
	}
}

func (r *rawVRRP) close() {
	close(r.done)
	<-r.exited // within one SO_RCVTIMEO; closing first could let a reused fd number be read
	unix.Close(r.fd)
}

// waitRx waits for the first packet from src received after index from.
func (r *rawVRRP) waitRx(ctx context.Context, src netip.Addr, from int) (rxPacket, int, error) {
	for {
		r.mu.Lock()
		for i := from; i < len(r.rx); i++ {
			if r.rx[i].src == src {
				p := r.rx[i]
				r.mu.Unlock()
				return p, i, nil
			}
		}
		from = len(r.rx)
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return rxPacket{}, 0, fmt.Errorf("no VRRP packet from %v: %w", src, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (r *rawVRRP) send(a *Advert, src netip.Addr, form ChecksumForm) error {
	b, err := a.Marshal(src, v4Dst, form)
	if err != nil {
		return err
	}
	return unix.Sendto(r.fd, b, 0, &unix.SockaddrInet4{Addr: v4Dst.As4()})
}

// advertise sends a every interval until ctx is done.
func (r *rawVRRP) advertise(ctx context.Context, t *testing.T, a Advert, src netip.Addr, form ChecksumForm) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(a.MaxAdvertInt)
		defer tick.Stop()
		for {
			if err := r.send(&a, src, form); err != nil {
				t.Errorf("send: %v", err)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return &wg
}

func TestInteropKeepalived(t *testing.T) {
	netns.RequireRoot(t, "keepalived")
	lab := netns.NewT(t, "vrrpwire")
	sw := lab.MustSwitch("sw")
	ka := lab.MustHost("ka")
	us := lab.MustHost("us")
	kaAddr, usAddr := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	vip := netip.MustParseAddr("198.18.0.100")
	lab.MustLink(ka, sw, "eth0", netip.PrefixFrom(kaAddr, 24))
	lab.MustLink(us, sw, "eth0", netip.PrefixFrom(usAddr, 24))

	dir := filepath.Join(lab.Dir(), "ka")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(interopConf, lab.Name())), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var raw *rawVRRP
	if err := us.Do(func() (err error) { raw, err = openRawVRRP(usAddr); return err }); err != nil {
		t.Fatal(err)
	}
	defer raw.close()

	kproc, err := ka.Start(ctx, "keepalived", "keepalived", "-n", "-l", "-P", "-f", conf,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
	if err != nil {
		t.Fatal(err)
	}
	defer kproc.Stop(5 * time.Second)

	// 1. keepalived becomes Master; its adverts pass our receive checks.
	wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
	p, _, err := raw.waitRx(wctx, kaAddr, 0)
	wcancel()
	if err != nil {
		t.Fatal(err)
	}
	pol := RxPolicy{KnownVRID: func(v uint8) bool { return v == 61 }, Local: []netip.Addr{usAddr}}
	a, err := pol.Check(p.payload, p.src, p.dst, p.ttl)
	if err != nil {
		t.Fatalf("keepalived advert %x (ttl %d): %v", p.payload, p.ttl, err)
	}
	if _, form, _ := ParseAdvertForm(p.payload, p.src, p.dst); form != ChecksumPseudoHeader {
		t.Errorf("keepalived checksum form %v, want pseudo-header", form)
	}
	if a.VRID != 61 || a.Priority != 100 || a.MaxAdvertInt != 100*time.Millisecond || len(a.Addresses) != 1 || a.Addresses[0] != vip {
		t.Errorf("keepalived advert %+v", a)
	}
	waitAddr(ctx, t, ka, vip, true)

	// 2. Our priority 200 adverts (pseudo-header form) make it Backup.
	sctx, stop := context.WithCancel(ctx)
	ours := Advert{VRID: 61, Priority: 200, MaxAdvertInt: 100 * time.Millisecond, Addresses: []netip.Addr{vip}}
	wg := raw.advertise(sctx, t, ours, usAddr, ChecksumPseudoHeader)
	waitAddr(ctx, t, ka, vip, false)

	// 3. Our priority 0 advert hands the role back.
	stop()
	wg.Wait()
	raw.mu.Lock()
	idx := len(raw.rx)
	raw.mu.Unlock()
	resign := ours
	resign.Priority = 0
	if err := raw.send(&resign, usAddr, ChecksumPseudoHeader); err != nil {
		t.Fatal(err)
	}
	waitAddr(ctx, t, ka, vip, true)
	if _, _, err := raw.waitRx(ctx, kaAddr, idx); err != nil {
		t.Fatal(err)
	}

	// 4. The RFC 9568 message-only form: keepalived 2.2.7 predates it; log
	// whether it obeys, for the interop notes. Not a failure either way.
	mctx, mstop := context.WithCancel(ctx)
	wg = raw.advertise(mctx, t, ours, usAddr, ChecksumMessageOnly)
	octx, ocancel := context.WithTimeout(ctx, 3*time.Second)
	err = ka.WaitAddr(octx, vip, false)
	ocancel()
	mstop()
	wg.Wait()
	t.Logf("keepalived 2.2.7 obeys an RFC 9568 message-only IPv4 checksum: %v (%v)", err == nil, err)
}

func waitAddr(ctx context.Context, t *testing.T, h *netns.Host, a netip.Addr, present bool) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := h.WaitAddr(wctx, a, present); err != nil {
		t.Fatalf("%s: address %v present=%v: %v", h.Name(), a, present, err)
	}
}
