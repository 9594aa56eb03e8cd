package vrrp

import (
	"net/netip"
	"slices"
)

// RxPolicy holds the receive checks of RFC 5798 §7.1 that need context the
// message does not carry: the TTL, the configured VRIDs, the unicast peer
// list and our own addresses. Check applies them together with ParseAdvert,
// so every refused packet gets exactly one DropReason.
type RxPolicy struct {
	// KnownVRID reports whether a virtual router with this VRID is
	// configured on the receiving interface; nil accepts any VRID.
	KnownVRID func(vrid uint8) bool
	// Peers, when not empty, is the unicast peer list: adverts from any other
	// source are refused (keepalived's check_unicast_src).
	Peers []netip.Addr
	// Local are our own source addresses: adverts from them are our own,
	// looped back by the kernel.
	Local []netip.Addr
}

// Check validates one received VRRP packet: ttl is the IPv4 TTL or IPv6 Hop
// Limit, b the IP payload. The order is that of RFC 5798 §7.1 (TTL first),
// with the cheap source checks before parsing. Every error is a *DropError.
func (p *RxPolicy) Check(b []byte, src, dst netip.Addr, ttl int) (*Advert, error) {
	a, _, err := p.CheckForm(b, src, dst, ttl)
	return a, err
}

// CheckForm is Check that also reports the checksum form that verified, for
// the instance's own strictness (router.InstanceConfig.ChecksumLenient).
func (p *RxPolicy) CheckForm(b []byte, src, dst netip.Addr, ttl int) (*Advert, ChecksumForm, error) {
	if ttl != 255 {
		return nil, 0, dropf(DropTTL, "TTL/hop limit %d from %v", ttl, src)
	}
	s := src.Unmap().WithZone("")
	if slices.ContainsFunc(p.Local, func(a netip.Addr) bool { return a.Unmap().WithZone("") == s }) {
		return nil, 0, dropf(DropLocalEcho, "from our own address %v", src)
	}
	if len(p.Peers) > 0 && !slices.ContainsFunc(p.Peers, func(a netip.Addr) bool { return a.Unmap().WithZone("") == s }) {
		return nil, 0, dropf(DropUnknownPeer, "source %v is not a configured unicast peer", src)
	}
	a, form, err := ParseAdvertForm(b, src, dst)
	if err != nil {
		return nil, 0, err
	}
	if p.KnownVRID != nil && !p.KnownVRID(a.VRID) {
		return nil, 0, dropf(DropVRID, "VRID %d from %v is not configured here", a.VRID, src)
	}
	return a, form, nil
}
