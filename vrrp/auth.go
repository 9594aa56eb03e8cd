package vrrp

import (
	"crypto/subtle"
	"fmt"
)

// VRRPv2 Auth Types (RFC 3768 §5.3.6). Type 2 (IP Authentication Header)
// was in RFC 2338 only; RFC 3768 removed it and keepalived deprecates it, so
// an instance cannot be configured with it: its adverts are refused as any
// other Auth Type we do not use.
const (
	AuthNone uint8 = 0 // No Authentication
	AuthPass uint8 = 1 // Simple Text Password
	AuthAH   uint8 = 2 // IP Authentication Header (RFC 2338), not supported
)

// AuthPasswordMax is the longest simple text password: the 8 bytes of
// Authentication Data (RFC 3768 §5.3.10).
const AuthPasswordMax = V2AuthLen

// Auth is the VRRPv2 authentication of an instance. The zero value is
// "no authentication": Auth Type 0 with zero data, as keepalived sends
// without an authentication block.
type Auth struct {
	Type uint8
	Data [V2AuthLen]byte
}

// PasswordAuth is the simple text password authentication (RFC 3768
// §5.3.6 type 1) with password p, padded with zero bytes to 8 as
// keepalived does (a keepalived auth_pass "1111" is 31 31 31 31 00 00 00 00
// on the wire).
func PasswordAuth(p string) (Auth, error) {
	if len(p) == 0 || len(p) > AuthPasswordMax {
		return Auth{}, fmt.Errorf("vrrp: password of %d bytes, want 1-%d (RFC 3768 §5.3.10): %w", len(p), AuthPasswordMax, ErrConfig)
	}
	a := Auth{Type: AuthPass}
	copy(a.Data[:], p)
	return a, nil
}

// Check applies RFC 3768 §7.1's authentication checks to a received VRRPv2
// advert, as keepalived does: the Auth Type must be ours (a router without
// authentication refuses a password advert too), and with a password the
// 8 bytes of Authentication Data must match, compared in constant time.
// With no authentication the data is not looked at.
func (au *Auth) Check(a *Advert) (DropReason, bool) {
	if a.AuthType != au.Type {
		return DropAuthType, false
	}
	if au.Type == AuthPass && subtle.ConstantTimeCompare(a.AuthData[:], au.Data[:]) != 1 {
		return DropAuthPassword, false
	}
	return "", true
}
