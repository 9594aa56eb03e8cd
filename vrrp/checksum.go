package vrrp

import (
	"encoding/binary"
	"net/netip"
)

// ChecksumForm selects what the VRRP checksum covers.
//
// RFC 5798 §5.2.8 includes the IP pseudo-header for both families. RFC 9568
// §5.2.8 keeps it for IPv6 but drops it for IPv4, where the checksum covers
// the VRRP message alone (the VRRPv2 rule). Deployed keepalived and FRR send
// the pseudo-header form for IPv4 unless told otherwise, so that is what we
// send. Both forms parse; a router.Instance takes only the form it sends unless
// router.InstanceConfig.ChecksumLenient (DropChecksumForm).
type ChecksumForm int

const (
	// ChecksumPseudoHeader includes the IPv4/IPv6 pseudo-header (RFC 5798).
	ChecksumPseudoHeader ChecksumForm = iota
	// ChecksumMessageOnly covers the VRRP message only (RFC 9568, IPv4).
	// For IPv6 the pseudo-header is always included, whatever the form.
	ChecksumMessageOnly
)

func (f ChecksumForm) String() string {
	switch f {
	case ChecksumPseudoHeader:
		return "pseudo-header"
	case ChecksumMessageOnly:
		return "message-only"
	}
	return "ChecksumForm(?)"
}

// sum16 adds b to the running one's complement sum as big-endian 16-bit
// words, padding an odd trailing byte with zero (RFC 1071).
func sum16(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// fold turns a 32-bit running sum into the 16-bit one's complement sum.
func fold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = (sum >> 16) + (sum & 0xffff)
	}
	return uint16(sum)
}

// pseudoHeaderSum is the running sum of the pseudo-header for a VRRP message
// of length n between src and dst: RFC 768 layout for IPv4 (src, dst, zero,
// protocol, 16-bit length), RFC 8200 §8.1 for IPv6 (src, dst, 32-bit length,
// three zero bytes, next header). Both sum to the same words.
func pseudoHeaderSum(src, dst netip.Addr, n int) uint32 {
	var sum uint32
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		sum = sum16(sum16(0, s[:]), d[:])
	} else {
		s, d := src.As16(), dst.As16()
		sum = sum16(sum16(0, s[:]), d[:])
	}
	sum += uint32(n>>16) + uint32(n&0xffff)
	sum += IPProtocolVRRP
	return sum
}

// checksum returns the value for the checksum field of msg, whose own
// checksum field must be zero. IPv6 always uses the pseudo-header.
func checksum(msg []byte, src, dst netip.Addr, form ChecksumForm) uint16 {
	var sum uint32
	if form == ChecksumPseudoHeader || !src.Is4() {
		sum = pseudoHeaderSum(src, dst, len(msg))
	}
	return ^fold(sum16(sum, msg))
}

// VerifyChecksum reports whether msg, checksum field included, verifies
// under form: the one's complement sum of everything must be 0xffff.
func VerifyChecksum(msg []byte, src, dst netip.Addr, form ChecksumForm) bool {
	var sum uint32
	if form == ChecksumPseudoHeader || !src.Is4() {
		sum = pseudoHeaderSum(src, dst, len(msg))
	}
	return fold(sum16(sum, msg)) == 0xffff
}
