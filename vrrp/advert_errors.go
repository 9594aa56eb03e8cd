package vrrp

import "fmt"

// DropReason names why a received VRRP packet was refused. The values are
// stable strings meant to be used as metric labels.
type DropReason string

// Drop reasons. Each one is produced by exactly one check, in ParseAdvert or
// in the daemon's receive path (TTL, VRID, peer list, own echo).
const (
	DropTTL         DropReason = "ttl_not_255"             // RFC 5798 §7.1: TTL/Hop Limit must be 255
	DropChecksum    DropReason = "bad_checksum"            // neither checksum form verifies
	DropVersion     DropReason = "bad_version"             // version nibble is not 3
	DropType        DropReason = "bad_type"                // type nibble is not 1 (ADVERTISEMENT)
	DropVRID        DropReason = "wrong_vrid"              // no instance for this VRID on the interface
	DropShort       DropReason = "short_packet"            // fewer bytes than the header and its addresses
	DropUnknownPeer DropReason = "unlisted_unicast_source" // unicast mode, source not a configured peer
	DropAddrFamily  DropReason = "address_family"          // addresses of mixed or unexpected family
	DropInterval    DropReason = "bad_interval"            // Max Adver Int of zero
	DropLocalEcho   DropReason = "own_packet"              // our own advert looped back
	DropLength      DropReason = "bad_length"              // more bytes than the header and its addresses
	DropAddrCount   DropReason = "bad_address_count"       // Count IPvX Addr of zero (RFC 5798 §5.2.5: minimum 1)
	// DropChecksumForm: an IPv4 VRRPv3 checksum that verifies only in the
	// form this instance does not send (by default: without the IPv4
	// pseudo-header), refused unless the instance is lenient. keepalived
	// refuses it too; accepting it let forged adverts through.
	DropChecksumForm DropReason = "checksum_form_refused"
	// DropVersionMismatch: a valid advert of the other VRRP version than
	// the instance speaks (RFC 5798 §7.1 and RFC 3768 §7.1: the version
	// must be the router's).
	DropVersionMismatch DropReason = "version_mismatch"
	// DropIntervalMismatch: a VRRPv2 advert whose Adver Int is not the
	// configured one (RFC 3768 §7.1: MUST discard).
	DropIntervalMismatch DropReason = "interval_mismatch"
	// DropV2Duplicate: in VRRPv2 compatibility (RFC 5798 §8.4.2), a VRRPv2
	// advert from a router we also hear in VRRPv3.
	DropV2Duplicate DropReason = "v2_duplicate"
	// DropAuthType: a VRRPv2 advert whose Auth Type is not the instance's
	// (RFC 3768 §7.1: MUST verify it matches the locally configured method;
	// keepalived's authtype_mismatch).
	DropAuthType DropReason = "auth_type_mismatch"
	// DropAuthPassword: a VRRPv2 simple text password advert whose
	// Authentication Data is not our password (RFC 3768 §5.3.6.1 and §7.1;
	// keepalived's auth_failure).
	DropAuthPassword DropReason = "auth_password_mismatch"
)

// DropReasons lists every DropReason, so a metrics exporter can create each
// counter at zero before the first drop.
var DropReasons = []DropReason{
	DropTTL, DropChecksum, DropVersion, DropType, DropVRID, DropShort,
	DropUnknownPeer, DropAddrFamily, DropInterval, DropLocalEcho, DropLength,
	DropAddrCount, DropChecksumForm, DropVersionMismatch, DropIntervalMismatch, DropV2Duplicate,
	DropAuthType, DropAuthPassword,
}

// DropError is the error for a refused packet. Callers count Reason and may
// log Err.
type DropError struct {
	Reason DropReason
	Err    error
}

func (e *DropError) Error() string {
	if e.Err == nil {
		return "vrrp: drop " + string(e.Reason)
	}
	return fmt.Sprintf("vrrp: drop %s: %v", e.Reason, e.Err)
}

func (e *DropError) Unwrap() error { return e.Err }

// dropf builds a *DropError with a formatted cause.
func dropf(r DropReason, format string, args ...any) *DropError {
	return &DropError{Reason: r, Err: fmt.Errorf(format, args...)}
}
