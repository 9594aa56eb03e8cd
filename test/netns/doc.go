// Package netns builds throw-away network topologies for integration tests,
// benchmarks and the lab: hosts are Linux network namespaces (ip-netns(8)),
// cables are veth pairs (veth(4)), and a switch is a Linux bridge that lives in
// a namespace of its own, so nothing is ever created in the root namespace.
//
// A Lab names every namespace "<prefix>-<pid>-<random>-<name>", so parallel
// runs never collide, and Close removes exactly the namespaces and processes
// it created, in reverse order. Close is idempotent and safe to call from a
// signal handler's goroutine; NewT registers it with t.Cleanup.
//
// Addresses must come from 198.18.0.0/15, the benchmarking range of RFC 2544
// (section C.2.2) and RFC 6890, or from its IPv6 counterpart 2001:2::/48
// (RFC 5180), so that no test packet can ever look like real traffic.
//
// Typical use:
//
//	lab := netns.NewT(t, "vrrp")
//	sw := lab.MustSwitch("sw")
//	lb1 := lab.MustHost("lb1")
//	lab.MustLink(lb1, sw, "eth0", netip.MustParsePrefix("198.18.1.11/24"))
//	p, err := lb1.Start(ctx, "vrrpd", "/tmp/vrrpd", "-config", cfg)
//	...
//	sw.PortDown(lb1) // pull lb1's cable at the switch: lb1 sees NO-CARRIER
//
// Hosts run programs with Command or Start (through "ip netns exec", which
// also gives the program a /sys of its own namespace) and Go code with Do
// (setns(2) on a locked OS thread); sockets created inside Do stay in the
// namespace after Do returns.
package netns
