// Package kernel is the IPVS data plane of the balancer: it programs the
// Linux kernel's IP Virtual Server table (net/netfilter/ipvs; ipvsadm(8))
// over generic netlink with github.com/cloudflare/ipvs.
//
// It knows the kernel's quirks so the reconciler does not have to: a new
// service needs a netmask (EINVAL without one), every service read back
// carries the IP_VS_SVC_F_HASHED flag, which is masked out, and counters
// reach netlink only when the kernel's 2 s rate estimator runs.
package kernel

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	cipvs "github.com/cloudflare/ipvs"
	"github.com/cloudflare/ipvs/netmask"

	"github.com/hachat/hachat/ipvs/table"
)

// Schedulers are the scheduler modules of Linux 6.1 (net/netfilter/ipvs/
// ip_vs_*.c). A name outside this list makes the kernel try to load
// "ip_vs_<name>" and fail with ENOENT, which reads like "no IPVS at all", so
// names are checked here first.
var Schedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"}

// DataPlane implements table.DataPlane on an IPVS netlink client.
type DataPlane struct {
	c cipvs.Client
}

// New wraps c, which may be a fake (see ipvs/ipvstest.Client).
func New(c cipvs.Client) *DataPlane { return &DataPlane{c: c} }

// Open connects to the kernel's IPVS generic netlink family and turns ICMP
// redirects off (NoRedirects). It fails when the kernel has no IPVS (the
// family "IPVS" does not exist).
func Open() (*DataPlane, error) {
	c, err := cipvs.New()
	if err != nil {
		return nil, fmt.Errorf("ipvs: open generic netlink family IPVS: %w", err)
	}
	d := New(c)
	if err := NoRedirects(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// NoRedirects sets net.ipv4.conf.{all,default,<each interface>}.send_redirects
// to 0 in the calling thread's network namespace.
//
// A one-armed NAT director (clients and real servers reached through the
// same interface) forwards each real server's reply out of the interface
// it came in on, and Linux then sends the real server an ICMP redirect
// naming the client as its own next hop. Real servers accept it by default
// (shared_media=1) when it arrives for an established socket, and cache the
// route for 5 minutes: their replies then skip the director, the client
// resets them, and every NAT connection to that server fails. Whether a
// redirect arrives in time to be taken depends on scheduling, so this shows
// as a flake, not a steady failure (issue #16). The kernel ORs the "all"
// value with the interface's, hence every interface.
func NoRedirects() error {
	ifs, _ := filepath.Glob("/proc/sys/net/ipv4/conf/*/send_redirects")
	for _, p := range ifs {
		if err := os.WriteFile(p, []byte("0"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("ipvs: sysctl %s=0: %w", strings.ReplaceAll(strings.TrimPrefix(p, "/proc/sys/"), "/", "."), err)
		}
	}
	return nil
}

// Available reports whether the running kernel has IPVS, by asking it for
// its version.
func Available() bool {
	c, err := cipvs.New()
	if err != nil {
		return false
	}
	d := New(c)
	defer d.Close()
	_, err = c.Info()
	return err == nil
}

// Name implements table.DataPlane.
func (d *DataPlane) Name() string { return "ipvs" }

// Close implements table.DataPlane; the kernel table stays as it is.
func (d *DataPlane) Close() error {
	if c, ok := d.c.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// Supports implements table.DataPlane: IPVS does every scheduler of the
// kernel and NAT, DR and tunnelling.
func (d *DataPlane) Supports(s table.Service) error {
	ok := false
	for _, n := range Schedulers {
		ok = ok || n == s.Scheduler
	}
	if !ok {
		return fmt.Errorf("scheduler %q: %w (IPVS has %v)", s.Scheduler, table.ErrUnsupported, Schedulers)
	}
	for _, dst := range s.Destinations {
		switch dst.Forwarding {
		case table.NAT, table.DR, table.Tunnel:
		default:
			return fmt.Errorf("forwarding %q of %v: %w", dst.Forwarding, dst.Address, table.ErrUnsupported)
		}
	}
	return nil
}

// Services implements table.DataPlane.
func (d *DataPlane) Services() ([]table.ServiceState, error) {
	svcs, err := d.c.Services()
	if errors.Is(err, os.ErrNotExist) {
		// An empty dump: the table is empty.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ipvs: list services: %w", err)
	}
	out := make([]table.ServiceState, 0, len(svcs))
	for _, s := range svcs {
		st := table.ServiceState{Service: FromKernel(s.Service), Stats: stats(s.Stats64)}
		ds, err := d.c.Destinations(s.Service)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("ipvs: list destinations of %v: %w", st.ServiceKey, err)
		}
		for _, x := range ds {
			st.Dests = append(st.Dests, table.DestinationState{
				Destination:   destFromKernel(x.Destination),
				ActiveConns:   x.ActiveConnections,
				InactiveConns: x.InactiveConnections,
				PersistConns:  x.PersistentConnections,
				Stats:         stats(x.Stats64),
			})
		}
		out = append(out, st)
	}
	return out, nil
}

// Apply implements table.DataPlane.
func (d *DataPlane) Apply(ops []table.Op) error {
	for _, op := range ops {
		ks := ToKernel(op.Service)
		var err error
		switch op.Kind {
		case table.CreateService:
			err = d.c.CreateService(ks)
		case table.UpdateService:
			err = d.c.UpdateService(ks)
		case table.RemoveService:
			err = d.c.RemoveService(ks)
		case table.CreateDestination:
			err = d.c.CreateDestination(ks, destToKernel(op.Service, op.Dest))
		case table.UpdateDestination:
			err = d.c.UpdateDestination(ks, destToKernel(op.Service, op.Dest))
		case table.RemoveDestination:
			err = d.c.RemoveDestination(ks, destToKernel(op.Service, op.Dest))
		default:
			err = fmt.Errorf("unknown op kind %v", op.Kind)
		}
		if err != nil {
			return fmt.Errorf("ipvs: %v: %w", op, err)
		}
	}
	return nil
}

// ToKernel converts a service to the library's form. The netmask is always
// set: the kernel rejects a new service without one (EINVAL).
func ToKernel(s table.Service) cipvs.Service {
	k := cipvs.Service{
		Scheduler: s.Scheduler,
		FWMark:    s.FWMark,
		Family:    cipvs.INET,
		Protocol:  proto(s.Protocol),
	}
	bits := 32
	if s.Is6() {
		k.Family, bits = cipvs.INET6, 128
	}
	if s.FWMark == 0 {
		k.Address, k.Port = s.Address.Addr(), s.Address.Port()
	} else {
		k.Protocol = 0
	}
	m := bits
	if s.PersistenceMask > 0 && s.PersistenceMask <= bits {
		m = s.PersistenceMask
	}
	k.Netmask = netmask.MaskFrom(m, bits)
	if s.Persistence > 0 {
		k.Flags |= cipvs.ServicePersistent
		k.Timeout = uint32(s.Persistence / time.Second)
	}
	return k
}

// FromKernel converts a service read from the kernel, masking the hashed
// flag the kernel adds to every service it returns.
func FromKernel(k cipvs.Service) table.Service {
	s := table.Service{Scheduler: k.Scheduler}
	s.FWMark = k.FWMark
	if k.FWMark != 0 {
		s.IPv6 = k.Family == cipvs.INET6
	} else {
		s.Address = netip.AddrPortFrom(k.Address, k.Port)
		s.Protocol = protoName(k.Protocol)
	}
	if k.Flags&^cipvs.ServiceHashed&cipvs.ServicePersistent != 0 {
		s.Persistence = time.Duration(k.Timeout) * time.Second
	}
	if k.Netmask.IsValid() {
		s.PersistenceMask = k.Netmask.Bits()
	}
	return s
}

func destToKernel(s table.Service, d table.Destination) cipvs.Destination {
	fam := cipvs.INET
	if d.Address.Addr().Is6() {
		fam = cipvs.INET6
	}
	return cipvs.Destination{
		Address:        d.Address.Addr(),
		Port:           d.Address.Port(),
		Family:         fam,
		FwdMethod:      fwd(d.Forwarding),
		Weight:         uint32(max(d.Weight, 0)),
		UpperThreshold: uint32(max(d.UpperThreshold, 0)),
		LowerThreshold: uint32(max(d.LowerThreshold, 0)),
	}
}

func destFromKernel(k cipvs.Destination) table.Destination {
	return table.Destination{
		Address:        netip.AddrPortFrom(k.Address, k.Port),
		Weight:         int(k.Weight),
		Forwarding:     fwdName(k.FwdMethod),
		UpperThreshold: int(k.UpperThreshold),
		LowerThreshold: int(k.LowerThreshold),
	}
}

func proto(p table.Protocol) cipvs.Protocol {
	switch p {
	case table.UDP:
		return cipvs.UDP
	case table.SCTP:
		return cipvs.SCTP
	}
	return cipvs.TCP
}

func protoName(p cipvs.Protocol) table.Protocol {
	switch p {
	case cipvs.UDP:
		return table.UDP
	case cipvs.SCTP:
		return table.SCTP
	case cipvs.TCP:
		return table.TCP
	}
	return table.Protocol(fmt.Sprintf("proto-%d", p))
}

func fwd(f table.Forwarding) cipvs.ForwardType {
	switch f {
	case table.DR:
		return cipvs.DirectRoute
	case table.Tunnel:
		return cipvs.Tunnel
	}
	return cipvs.Masquerade
}

func fwdName(f cipvs.ForwardType) table.Forwarding {
	switch f {
	case cipvs.DirectRoute:
		return table.DR
	case cipvs.Tunnel:
		return table.Tunnel
	case cipvs.Masquerade:
		return table.NAT
	}
	return table.Forwarding(fmt.Sprintf("fwd-%d", f))
}

func stats(s cipvs.Stats) table.Stats {
	return table.Stats{
		Connections: s.Connections, PacketsIn: s.IncomingPackets, PacketsOut: s.OutgoingPackets,
		BytesIn: s.IncomingBytes, BytesOut: s.OutgoingBytes, CPS: s.ConnectionRate,
		PPSIn: s.IncomingPacketRate, PPSOut: s.OutgoingPacketRate, BPSIn: s.IncomingByteRate, BPSOut: s.OutgoingByteRate,
	}
}
