package vrrp

import "time"

// Timer formulas of RFC 5798 §6.1 (unchanged in RFC 9568 §6.1), in
// time.Duration rather than centiseconds. They multiply before they divide:
// (256-254)*10ms/256 is 78.125µs, where dividing first, or truncating to
// centiseconds as some implementations do, gives zero and lets two Backups
// with different priorities take over at the same instant.

// SkewTime is ((256 - priority) * masterAdverInterval) / 256.
func SkewTime(priority uint8, masterAdverInterval time.Duration) time.Duration {
	return time.Duration(256-int64(priority)) * masterAdverInterval / 256
}

// MasterDownInterval is 3 * masterAdverInterval + SkewTime.
func MasterDownInterval(priority uint8, masterAdverInterval time.Duration) time.Duration {
	return 3*masterAdverInterval + SkewTime(priority, masterAdverInterval)
}

// SkewTimeV2 is VRRPv2's Skew_Time, ((256 - Priority) / 256) seconds
// (RFC 3768 §6.1): it does not scale with the advert interval.
func SkewTimeV2(priority uint8) time.Duration {
	return time.Duration(256-int64(priority)) * time.Second / 256
}
