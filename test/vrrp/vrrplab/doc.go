// Package vrrplab runs VRRP routers (our vrrpd, or Debian's keepalived as the
// reference) on a two-router, one-client topology built with test/netns, and
// measures failover the way a client sees it, with test/probe.
//
// The scenarios follow RFC 5798 section 6.4: a Backup takes over after
// Master_Down_Interval (3·Advertisement_Interval + Skew_Time) without
// adverts, or after Skew_Time when the Master leaves gracefully with a
// priority-0 advert (section 6.4.3); a higher-priority router preempts when
// Preempt_Mode is true (section 6.4.2). keepalived is run in VRRPv3 mode
// (vrrp_version 3) so that both implementations speak the same protocol on
// the same segment.
//
// Both test/vrrp (pass/fail behaviour) and test/failoverbench (timing
// numbers) use it, so the two always exercise the same topology.
package vrrplab
