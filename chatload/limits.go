package chatload

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ClientStats describes the load generator itself, so that a result is
// never blamed on the server when the client was the bottleneck.
type ClientStats struct {
	FDSoft        uint64  `json:"fd_soft_limit"`
	FDHard        uint64  `json:"fd_hard_limit"`
	FDRaised      bool    `json:"fd_limit_raised"`
	PortRangeLow  int     `json:"ephemeral_port_low,omitempty"`
	PortRangeHigh int     `json:"ephemeral_port_high,omitempty"`
	SourceAddrs   int     `json:"source_addrs"`
	CPUUserS      float64 `json:"cpu_user_s"`
	CPUSysS       float64 `json:"cpu_sys_s"`
	CPUs          int     `json:"cpus"`
	// CPUUtil is (user+sys)/wall over the run; 1.0 is one core busy.
	CPUUtil       float64 `json:"cpu_util"`
	MaxOpen       int     `json:"max_open"`
	MaxConcurrent int64   `json:"max_concurrent"`
}

// fdReserve is kept free of connections for the runtime, plot files and
// the hook command.
const fdReserve = 64

// raiseFDLimit lifts the soft RLIMIT_NOFILE to the hard limit, as httperf
// does at start-up (it is a per-process property, so the library does it).
func raiseFDLimit() (soft, hard uint64, raised bool, err error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, false, fmt.Errorf("getrlimit NOFILE: %w", err)
	}
	if rl.Cur >= rl.Max {
		return rl.Cur, rl.Max, false, nil
	}
	want := rl
	want.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		return rl.Cur, rl.Max, false, fmt.Errorf("setrlimit NOFILE to %d: %w", want.Cur, err)
	}
	return want.Cur, want.Max, true, nil
}

// portRange reads the kernel's ephemeral port range.
func portRange(path string) (lo, hi int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	return parsePortRange(string(b))
}

func parsePortRange(s string) (lo, hi int, err error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("port range %q: want two numbers", strings.TrimSpace(s))
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || lo > hi || lo < 1 || hi > 65535 {
		return 0, 0, fmt.Errorf("port range %q: not a valid range", strings.TrimSpace(s))
	}
	return lo, hi, nil
}

const portRangePath = "/proc/sys/net/ipv4/ip_local_port_range"

// timeWait is Linux's fixed TCP_TIMEWAIT_LEN.
const timeWait = 60 * time.Second

// portsNeeded estimates the ephemeral ports one (source, server) pair needs:
// the connections open at once plus those the client closed first, which sit
// in TIME_WAIT for 60 s. Errors and timeouts make the client close first,
// so assume the worst: every connection of the last minute.
func portsNeeded(conns int, rate float64, pairs int) int {
	if pairs < 1 {
		pairs = 1
	}
	n := conns
	if rate > 0 {
		if inWindow := int(rate * timeWait.Seconds()); inWindow < n {
			n = inWindow
		}
	}
	return (n + pairs - 1) / pairs
}

// preflight gathers client limits and warnings before a run.
func preflight(conns int, rate float64, servers, sources int, noRaise bool) (ClientStats, []string) {
	cs := ClientStats{CPUs: runtime.NumCPU(), SourceAddrs: sources}
	var warns []string
	var err error
	if noRaise {
		var rl syscall.Rlimit
		err = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
		cs.FDSoft, cs.FDHard = rl.Cur, rl.Max
	} else {
		cs.FDSoft, cs.FDHard, cs.FDRaised, err = raiseFDLimit()
	}
	if err != nil {
		warns = append(warns, fmt.Sprintf("client: %v", err))
	}
	if cs.FDSoft > 0 && uint64(conns)+fdReserve > cs.FDSoft {
		warns = append(warns, fmt.Sprintf("client: open-file limit %d is below the %d connections asked for; "+
			"concurrency is capped and excess connections wait (raise the hard limit: ulimit -Hn, LimitNOFILE=)",
			cs.FDSoft, conns))
	}
	if lo, hi, err := portRange(portRangePath); err == nil {
		cs.PortRangeLow, cs.PortRangeHigh = lo, hi
		pairs := max(sources, 1) * max(servers, 1)
		if need, have := portsNeeded(conns, rate, pairs), hi-lo+1; need > have*8/10 {
			warns = append(warns, fmt.Sprintf("client: up to %d ephemeral ports per source address and server "+
				"may be needed but only %d exist (%s); add --source-addrs or widen the range",
				need, have, portRangePath))
		}
	}
	return cs, warns
}

// cpuTimes returns the process's user and system CPU time.
func cpuTimes() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// cpuWarnFraction: above this share of all cores the client is likely
// the bottleneck.
const cpuWarnFraction = 0.85

// postflight fills CPU figures and adds warnings about the client.
// lagWhat names what lagged: "connection starts" or "message sends".
func postflight(cs *ClientStats, u0, s0 time.Duration, wall time.Duration, lagWhat string, lag Summary, lagWarn time.Duration, errs ErrorCounts) []string {
	var warns []string
	u1, s1 := cpuTimes()
	cs.CPUUserS = (u1 - u0).Seconds()
	cs.CPUSysS = (s1 - s0).Seconds()
	if wall > 0 {
		cs.CPUUtil = (cs.CPUUserS + cs.CPUSysS) / wall.Seconds()
	}
	if cs.CPUs > 0 && cs.CPUUtil > cpuWarnFraction*float64(cs.CPUs) {
		warns = append(warns, fmt.Sprintf("client: CPU-bound (%.0f%% of %d cores busy); the figures may measure chatload, not the server",
			100*cs.CPUUtil/float64(cs.CPUs), cs.CPUs))
	}
	if lagWarn > 0 && lag.Count > 0 && lag.P99 > float64(lagWarn)/float64(time.Millisecond) {
		warns = append(warns, fmt.Sprintf("client: %s lagged their schedule (p99 %.1f ms, max %.1f ms > %v); "+
			"the offered rate was not met by the client", lagWhat, lag.P99, lag.Max, lagWarn))
	}
	if cs.FDSoft > 0 && uint64(cs.MaxConcurrent)+fdReserve >= cs.FDSoft {
		warns = append(warns, fmt.Sprintf("client: %d connections open at once reached the open-file limit %d", cs.MaxConcurrent, cs.FDSoft))
	}
	if errs.ClientLimited() {
		warns = append(warns, fmt.Sprintf("client: fd-unavail=%d addrunavail=%d: the client ran out of descriptors or addresses; "+
			"httperf(1) calls such a run meaningless for the server", errs.FdUnavail, errs.AddrUnavail))
	}
	return warns
}

// ParseSourceAddrs parses a comma list of IPs and CIDR prefixes into
// addresses. A prefix stands for every address in it (network and
// broadcast included for /31 and /32 only), which makes
// "127.0.0.0/28" fifteen loopback sources: all of 127/8 is local on Linux.
func ParseSourceAddrs(list string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !strings.Contains(item, "/") {
			a, err := netip.ParseAddr(item)
			if err != nil {
				return nil, fmt.Errorf("source address %q: %w", item, err)
			}
			out = append(out, a)
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("source prefix %q: %w", item, err)
		}
		p = p.Masked()
		if p.Addr().Is6() && p.Bits() < 112 || p.Addr().Is4() && p.Bits() < 16 {
			return nil, fmt.Errorf("source prefix %q: more than 65536 addresses", item)
		}
		hostBits := p.Addr().BitLen() - p.Bits()
		for a := p.Addr(); p.Contains(a); a = a.Next() {
			if hostBits > 1 && (a == p.Addr() || !p.Contains(a.Next())) {
				continue // skip network and broadcast addresses
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// maxAutoSources bounds the loopback sources chosen automatically.
const maxAutoSources = 250

// autoLoopbackSources spreads a storm over loopback source addresses when
// every server is on loopback and the ephemeral ports of one source would
// run short: all of 127/8 is local on Linux, so 127.0.0.2, 127.0.0.3, ...
// each bring a whole port range. It returns nil when no spreading is
// needed or possible.
func autoLoopbackSources(servers []string, conns int, rate float64, portLow, portHigh int) []netip.Addr {
	if portHigh <= 0 || !allLoopback(servers) {
		return nil
	}
	have := (portHigh - portLow + 1) * 8 / 10
	need := portsNeeded(conns, rate, len(servers))
	if have <= 0 || need <= have {
		return nil
	}
	n := min((need+have-1)/have, maxAutoSources)
	out := make([]netip.Addr, 0, n)
	a := netip.AddrFrom4([4]byte{127, 0, 0, 2})
	for i := 0; i < n; i++ {
		out = append(out, a)
		a = a.Next()
	}
	return out
}

func allLoopback(servers []string) bool {
	for _, s := range servers {
		host, _, err := net.SplitHostPort(s)
		if err != nil {
			return false
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is4() || !a.IsLoopback() {
			return false // names and IPv6 ::1 (a single address) are left alone
		}
	}
	return len(servers) > 0
}
