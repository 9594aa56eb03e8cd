// Package syncd starts and stops the Linux kernel's IPVS connection-sync
// daemon (ipvsadm(8) --start-daemon / --stop-daemon; kernel
// net/netfilter/ipvs/ip_vs_sync.c) over generic netlink: the commands
// IPVS_CMD_NEW_DAEMON, IPVS_CMD_DEL_DAEMON and IPVS_CMD_GET_DAEMON of the
// "IPVS" family (include/uapi/linux/ip_vs.h), which
// github.com/cloudflare/ipvs does not offer.
//
// A master daemon multicasts the director's connection changes; a backup
// daemon creates the matching connections, so that a backup that becomes
// master keeps forwarding established NAT connections to the same real
// servers. vrrpd runs the master daemon while its VRRP instance is MASTER
// and the backup daemon otherwise (keepalived's lvs_sync_daemon with inst).
package syncd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// Role is the kernel's daemon state (IP_VS_STATE_MASTER / _BACKUP).
type Role uint32

// The roles.
const (
	Master Role = 1
	Backup Role = 2
)

func (r Role) String() string {
	switch r {
	case Master:
		return "master"
	case Backup:
		return "backup"
	}
	return fmt.Sprintf("Role(%d)", uint32(r))
}

// Generic netlink constants of the IPVS family (include/uapi/linux/ip_vs.h).
const (
	familyName    = "IPVS"
	familyVersion = 1

	cmdNewDaemon = 9
	cmdDelDaemon = 10
	cmdGetDaemon = 11

	cmdAttrDaemon = 3

	attrState       = 1 // u32
	attrMcastIfn    = 2 // NUL-terminated string, at most 15 bytes
	attrSyncID      = 3 // u32
	attrSyncMaxlen  = 4 // u16
	attrMcastGroup  = 5 // be32 IPv4 address
	attrMcastGroup6 = 6 // 16-byte IPv6 address
	attrMcastPort   = 7 // u16, host order
	attrMcastTTL    = 8 // u8

	ifNameMax = 15 // IP_VS_IFNAME_MAXLEN - 1
)

// Daemon is one sync daemon's configuration. Zero optional fields let the
// kernel choose: MaxLen from the interface MTU, group 224.0.0.81, port
// 8848, TTL 1.
type Daemon struct {
	Role      Role
	Interface string // multicast interface, required
	SyncID    uint8  // 0 accepts every sync ID (backup)
	MaxLen    uint16
	Group     netip.Addr
	Port      uint16
	TTL       uint8
}

// ErrInvalid means a daemon description cannot be encoded or decoded.
var ErrInvalid = errors.New("invalid IPVS sync daemon")

// MarshalBinary encodes d as the attributes nested in IPVS_CMD_ATTR_DAEMON.
//
// Layout (netlink attributes, host byte order unless noted):
//
//	STATE u32 | MCAST_IFN "name\0" | SYNC_ID u32 | [SYNC_MAXLEN u16]
//	| [MCAST_GROUP be32 | MCAST_GROUP6 16 bytes] | [MCAST_PORT u16] | [MCAST_TTL u8]
func (d Daemon) MarshalBinary() ([]byte, error) {
	if d.Role != Master && d.Role != Backup {
		return nil, fmt.Errorf("%w: role %v", ErrInvalid, d.Role)
	}
	if d.Interface == "" || len(d.Interface) > ifNameMax {
		return nil, fmt.Errorf("%w: interface name %q must have 1-%d bytes", ErrInvalid, d.Interface, ifNameMax)
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(attrState, uint32(d.Role))
	ae.String(attrMcastIfn, d.Interface)
	ae.Uint32(attrSyncID, uint32(d.SyncID))
	if d.MaxLen != 0 {
		ae.Uint16(attrSyncMaxlen, d.MaxLen)
	}
	switch {
	case !d.Group.IsValid():
	case d.Group.Is4() && d.Group.IsMulticast():
		b := d.Group.As4()
		ae.Bytes(attrMcastGroup, b[:])
	case d.Group.Is6() && d.Group.IsMulticast():
		b := d.Group.As16()
		ae.Bytes(attrMcastGroup6, b[:])
	default:
		return nil, fmt.Errorf("%w: group %v is not a multicast address", ErrInvalid, d.Group)
	}
	if d.Port != 0 {
		ae.Uint16(attrMcastPort, d.Port)
	}
	if d.TTL != 0 {
		ae.Uint8(attrMcastTTL, d.TTL)
	}
	return ae.Encode()
}

// UnmarshalBinary decodes the attributes nested in IPVS_CMD_ATTR_DAEMON,
// as the kernel sends them in a GET_DAEMON dump. Unknown attributes are
// skipped (newer kernels may add some).
func (d *Daemon) UnmarshalBinary(b []byte) error {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	*d = Daemon{}
	for ad.Next() {
		switch ad.Type() {
		case attrState:
			d.Role = Role(ad.Uint32())
		case attrMcastIfn:
			d.Interface = ad.String()
		case attrSyncID:
			d.SyncID = uint8(ad.Uint32())
		case attrSyncMaxlen:
			d.MaxLen = ad.Uint16()
		case attrMcastGroup:
			if a, ok := netip.AddrFromSlice(ad.Bytes()); ok && a.Is4() {
				d.Group = a
			}
		case attrMcastGroup6:
			if a, ok := netip.AddrFromSlice(ad.Bytes()); ok && a.Is6() {
				d.Group = a
			}
		case attrMcastPort:
			d.Port = ad.Uint16()
		case attrMcastTTL:
			d.TTL = ad.Uint8()
		}
	}
	if err := ad.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// encodeNested wraps daemon attributes in IPVS_CMD_ATTR_DAEMON.
func encodeNested(inner []byte) ([]byte, error) {
	return netlink.MarshalAttributes([]netlink.Attribute{{Type: netlink.Nested | cmdAttrDaemon, Data: inner}})
}

// stateOnly is the DEL_DAEMON payload: the kernel needs only the state.
func stateOnly(r Role) []byte {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, uint32(r))
	out, _ := netlink.MarshalAttributes([]netlink.Attribute{{Type: attrState, Data: b}})
	return out
}
