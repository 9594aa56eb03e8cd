package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// IPProtocolVRRP is the IP protocol number of VRRP (RFC 5798 §5.1.1.4).
const IPProtocolVRRP = 112

// Header constants of RFC 5798 §5.2 and RFC 3768 §5.3.
const (
	Version2          = 2      // RFC 3768 §5.3.1
	Version3          = 3      // §5.2.1
	TypeAdvertisement = 1      // §5.2.2: the only type defined
	HeaderLen         = 8      // version/type, VRID, priority, count, rsvd/interval, checksum
	maxIntervalCS     = 0x0fff // 12 bits of centiseconds = 40.95 s
	V2AuthLen         = 8      // RFC 3768 §5.3.10: Authentication Data, two words
)

// Interval limits of the 8-bit whole-second VRRPv2 Adver Int (RFC 3768 §5.3.7).
const (
	MinAdvertIntervalV2 = time.Second
	MaxAdvertIntervalV2 = 255 * time.Second
)

// Interval limits of the 12-bit centisecond Max Adver Int (RFC 5798 §5.2.7).
const (
	MinAdvertInterval = 10 * time.Millisecond
	MaxAdvertInterval = maxIntervalCS * 10 * time.Millisecond
)

// Advert is one VRRPv3 ADVERTISEMENT (RFC 5798 §5.2):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|(rsvd) |     Max Adver Int     |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    IPvX Address(es) (4 or 16 bytes each)      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// A VRRPv2 ADVERTISEMENT (RFC 3768 §5.1) has the same first word; the
// second carries an 8-bit Auth Type and an 8-bit Adver Int in whole
// seconds instead of the reserved bits and the 12-bit centiseconds; the
// addresses (IPv4 only) are followed by 8 bytes of Authentication Data:
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Auth Type   |   Adver Int   |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 IP Address(es) (4 bytes each)                 |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     Authentication Data (1)                   |
//	|                     Authentication Data (2)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Its checksum never covers a pseudo-header (RFC 3768 §5.3.8).
// The Auth Type and Authentication Data are carried as read and sent as
// given: the instance checks them (see Auth), not the parser.
//
// It is pure data; Marshal and ParseAdvert convert it to and from the IP
// payload. The address family is that of the IP header carrying it.
type Advert struct {
	Version      uint8         // 3 or 2; Marshal fills in a zero value with 3
	Type         uint8         // 1 = ADVERTISEMENT; Marshal fills in a zero value
	VRID         uint8         // 1..255
	Priority     uint8         // 0 = resigning Master, 255 = address owner
	MaxAdvertInt time.Duration // v3: 12-bit centiseconds, 10ms..40950ms; v2: 8-bit seconds, 1s..255s
	Checksum     uint16        // as read, or as computed by Marshal
	Addresses    []netip.Addr  // all IPv4 or all IPv6, same family as the IP header; v2: IPv4 only
	AuthType     uint8         // v2 only: Auth Type (RFC 3768 §5.3.6)
	AuthData     [8]byte       // v2 only: Authentication Data (RFC 3768 §5.3.10)
}

// Errors returned by Marshal; test with errors.Is.
var (
	ErrBadInterval  = errors.New("max advert interval must be a multiple of 10ms in 10ms..40.95s")
	ErrAddrFamily   = errors.New("addresses must all be of the family of the IP source and destination")
	ErrAddrCount    = errors.New("an advert carries 1..255 addresses")
	ErrBadHeader    = errors.New("version must be 2 or 3 and type 1")
	ErrBadInterval2 = errors.New("VRRPv2 advert interval must be a whole number of seconds in 1s..255s")
)

// Len is the length of the marshalled message in bytes for the given family.
func (a *Advert) Len(is4 bool) int {
	if a.Version == Version2 {
		return HeaderLen + 4*len(a.Addresses) + V2AuthLen
	}
	if is4 {
		return HeaderLen + 4*len(a.Addresses)
	}
	return HeaderLen + 16*len(a.Addresses)
}

// Marshal returns the VRRP message (the IP payload) for an IP packet from src
// to dst, with the checksum computed in the given form (IPv6 always uses the
// pseudo-header, VRRPv2 never). It stores the checksum in a.Checksum and fills in a zero
// Version or Type, so concurrent Marshals of one Advert must not share it.
func (a *Advert) Marshal(src, dst netip.Addr, form ChecksumForm) ([]byte, error) {
	b := make([]byte, 0, HeaderLen+16*len(a.Addresses))
	b, err := a.AppendMarshal(b, src, dst, form)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// AppendMarshal is Marshal appending to b, so a sender can reuse a buffer.
func (a *Advert) AppendMarshal(b []byte, src, dst netip.Addr, form ChecksumForm) ([]byte, error) {
	src, dst = src.Unmap(), dst.Unmap()
	if !src.IsValid() || !dst.IsValid() || dst.Is4() != src.Is4() {
		return b, fmt.Errorf("vrrp: marshal advert: src %v dst %v: %w", src, dst, ErrAddrFamily)
	}
	if a.Version == Version2 {
		if !src.Is4() {
			return b, fmt.Errorf("vrrp: marshal VRRPv2 advert: src %v: %w", src, ErrAddrFamily)
		}
		form = ChecksumMessageOnly // RFC 3768 §5.3.8
	}
	start := len(b)
	a.Checksum = 0
	b, err := a.AppendMessage(b, src.Is4())
	if err != nil {
		return b, err
	}
	msg := b[start:]
	a.Checksum = checksum(msg, src, dst, form)
	binary.BigEndian.PutUint16(msg[6:8], a.Checksum)
	return b, nil
}

// AppendMessage appends the message with a.Checksum as it is, after checking
// every field; is4 selects the address family. On error b is returned
// unchanged. Marshal and AppendMarshal compute the checksum; this is for
// a caller that has it already (the gopacket layer without
// ComputeChecksums).
func (a *Advert) AppendMessage(b []byte, is4 bool) ([]byte, error) {
	if a.Version == 0 {
		a.Version = Version3
	}
	if a.Type == 0 {
		a.Type = TypeAdvertisement
	}
	if (a.Version != Version3 && a.Version != Version2) || a.Type != TypeAdvertisement {
		return b, fmt.Errorf("vrrp: marshal advert: version %d type %d: %w", a.Version, a.Type, ErrBadHeader)
	}
	var cs uint16
	var err error
	if a.Version == Version2 {
		if !is4 {
			return b, fmt.Errorf("vrrp: marshal VRRPv2 advert: IPv6: %w", ErrAddrFamily)
		}
		var sec uint8
		sec, err = intervalToSeconds(a.MaxAdvertInt)
		cs = uint16(a.AuthType)<<8 | uint16(sec)
	} else {
		cs, err = intervalToCentis(a.MaxAdvertInt)
	}
	if err != nil {
		return b, fmt.Errorf("vrrp: marshal advert: interval %v: %w", a.MaxAdvertInt, err)
	}
	if n := len(a.Addresses); n < 1 || n > 255 {
		return b, fmt.Errorf("vrrp: marshal advert: %d addresses: %w", n, ErrAddrCount)
	}
	for _, ip := range a.Addresses {
		if ip = ip.Unmap(); !ip.IsValid() || ip.Is4() != is4 {
			return b, fmt.Errorf("vrrp: marshal advert: address %v in a packet of the other family: %w", ip, ErrAddrFamily)
		}
	}
	b = append(b,
		a.Version<<4|a.Type, a.VRID, a.Priority, uint8(len(a.Addresses)),
		uint8(cs>>8), uint8(cs), uint8(a.Checksum>>8), uint8(a.Checksum))
	for _, ip := range a.Addresses {
		if is4 {
			a4 := ip.Unmap().As4()
			b = append(b, a4[:]...)
		} else {
			a16 := ip.As16()
			b = append(b, a16[:]...)
		}
	}
	if a.Version == Version2 {
		b = append(b, a.AuthData[:]...)
	}
	return b, nil
}

// ParseAdvert decodes and checks the VRRP message b (the IP payload) of a
// packet from src to dst, following RFC 5798 §7.1 (RFC 3768 §7.1 for
// version 2): version, type, length and checksum (for IPv4 VRRPv3 either
// form of ChecksumForm is accepted; the receiver decides which it takes,
// see ParseAdvertForm). TTL, VRID and
// source checks need context the message does not have; the caller does
// them. Every error is a *DropError. The returned Advert does not alias b.
func ParseAdvert(b []byte, src, dst netip.Addr) (*Advert, error) {
	a, _, err := ParseAdvertForm(b, src, dst)
	return a, err
}

// ParseAdvertForm is ParseAdvert that also reports which checksum form
// verified, so a daemon can tell RFC 9568 peers from RFC 5798 ones.
func ParseAdvertForm(b []byte, src, dst netip.Addr) (*Advert, ChecksumForm, error) {
	src, dst = src.Unmap(), dst.Unmap()
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return nil, 0, dropf(DropAddrFamily, "source %v and destination %v", src, dst)
	}
	a := new(Advert)
	if err := a.DecodeMessage(b, src.Is4()); err != nil {
		return nil, 0, err
	}
	if a.Version == Version2 {
		if VerifyChecksum(b, src, dst, ChecksumMessageOnly) {
			return a, ChecksumMessageOnly, nil
		}
		return nil, 0, dropf(DropChecksum, "VRRPv2 checksum %#04x from %v to %v", a.Checksum, src, dst)
	}
	switch {
	case VerifyChecksum(b, src, dst, ChecksumPseudoHeader):
		return a, ChecksumPseudoHeader, nil
	case src.Is4() && VerifyChecksum(b, src, dst, ChecksumMessageOnly):
		return a, ChecksumMessageOnly, nil
	}
	return nil, 0, dropf(DropChecksum, "checksum %#04x from %v to %v", a.Checksum, src, dst)
}

// DecodeMessage fills a from b without checking the checksum (see
// VerifyChecksum); is4 gives the address size. It is shared by ParseAdvert
// and the gopacket layer; errors are *DropError.
func (a *Advert) DecodeMessage(b []byte, is4 bool) error {
	if len(b) < HeaderLen {
		return dropf(DropShort, "%d bytes, header needs %d", len(b), HeaderLen)
	}
	v := b[0] >> 4
	if v != Version3 && v != Version2 {
		return dropf(DropVersion, "version %d", v)
	}
	if t := b[0] & 0x0f; t != TypeAdvertisement {
		return dropf(DropType, "type %d", t)
	}
	if v == Version2 && !is4 {
		return dropf(DropAddrFamily, "VRRPv2 over IPv6 (RFC 3768 is IPv4 only)")
	}
	count := int(b[3])
	if count == 0 {
		return dropf(DropAddrCount, "count 0")
	}
	alen, tail := 16, 0
	if is4 {
		alen = 4
	}
	if v == Version2 {
		tail = V2AuthLen
	}
	switch want := HeaderLen + count*alen + tail; {
	case len(b) < want:
		return dropf(DropShort, "%d bytes, %d addresses of %d bytes need %d", len(b), count, alen, want)
	case len(b) > want:
		return dropf(DropLength, "%d bytes, %d addresses of %d bytes need %d", len(b), count, alen, want)
	}
	var interval time.Duration
	if v == Version2 {
		interval = time.Duration(b[5]) * time.Second // RFC 3768 §5.3.7: seconds
	} else {
		cs := binary.BigEndian.Uint16(b[4:6]) & maxIntervalCS // top 4 bits are reserved: ignored on receive (§5.2.6)
		interval = time.Duration(cs) * 10 * time.Millisecond
	}
	if interval == 0 {
		return dropf(DropInterval, "max advert interval 0")
	}
	*a = Advert{
		Version:      v,
		Type:         b[0] & 0x0f,
		VRID:         b[1],
		Priority:     b[2],
		MaxAdvertInt: interval,
		Checksum:     binary.BigEndian.Uint16(b[6:8]),
		// Reuse the slice, so a DecodingLayer decodes without allocating.
		Addresses: slices.Grow(a.Addresses[:0], count)[:count],
	}
	if v == Version2 {
		a.AuthType = b[4]
		a.AuthData = [8]byte(b[len(b)-V2AuthLen:])
	}
	for i := range count {
		p := b[HeaderLen+i*alen:]
		if is4 {
			a.Addresses[i] = netip.AddrFrom4([4]byte(p[:4]))
		} else {
			a.Addresses[i] = netip.AddrFrom16([16]byte(p[:16]))
		}
	}
	return nil
}

// intervalToCentis converts d to the 12-bit wire value.
func intervalToCentis(d time.Duration) (uint16, error) {
	const cs = 10 * time.Millisecond
	if d < MinAdvertInterval || d > MaxAdvertInterval || d%cs != 0 {
		return 0, ErrBadInterval
	}
	return uint16(d / cs), nil
}

// intervalToSeconds converts d to the 8-bit VRRPv2 wire value.
func intervalToSeconds(d time.Duration) (uint8, error) {
	if d < MinAdvertIntervalV2 || d > MaxAdvertIntervalV2 || d%time.Second != 0 {
		return 0, ErrBadInterval2
	}
	return uint8(d / time.Second), nil
}

// ValidAdvertInterval reports whether d can be sent as a VRRPv3 Max Adver
// Int: a multiple of 10 ms between 10 ms and 40.95 s.
func ValidAdvertInterval(d time.Duration) bool {
	_, err := intervalToCentis(d)
	return err == nil
}

// ValidAdvertIntervalV2 reports whether d can be sent as a VRRPv2 Adver
// Int: whole seconds between 1 s and 255 s.
func ValidAdvertIntervalV2(d time.Duration) bool {
	_, err := intervalToSeconds(d)
	return err == nil
}

// SameAddresses reports whether the advert lists exactly the addresses in
// want, in any order. RFC 5798 §7.1 lets a receiver check this and log a
// mismatch (a peer configured differently) without dropping the advert;
// keepalived does the same.
func (a *Advert) SameAddresses(want []netip.Addr) bool {
	if len(a.Addresses) != len(want) {
		return false
	}
	norm := func(ips []netip.Addr) []netip.Addr {
		out := make([]netip.Addr, len(ips))
		for i, ip := range ips {
			out[i] = ip.Unmap().WithZone("")
		}
		slices.SortFunc(out, netip.Addr.Compare)
		return out
	}
	return slices.Equal(norm(a.Addresses), norm(want))
}
