package chatd

import (
	"bufio"
	"crypto/tls"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// The node's memory budget (limits.memory). Three things grow with what
// clients do, and each is bounded from it:
//
//   - bytes queued to clients, not yet written: max_queued_bytes, a quarter
//     of the budget by default. A queued byte costs about two in RSS (the
//     Go heap grows to twice its live size before collecting, and rendering
//     a reply leaves garbage), so queues take about half the budget;
//   - everything else in the heap (idle clients at about 9 KiB each, the
//     world, the store's caches): the other half;
//   - the garbage collector's headroom, which the Go runtime's soft memory
//     limit (runtime/debug.SetMemoryLimit, set to 90% of the budget) takes
//     back from the default GOGC=100 when the heap nears the budget: the
//     collector then runs more often instead of letting RSS pass it.
//
// Kernel socket buffers are outside the process: each accepted connection's
// send buffer is fixed at socket_send_buffer (which turns off the kernel's
// autotuning up to tcp_wmem's 4 MiB; the kernel doubles the value for its
// bookkeeping), so a client that stops reading holds at most that in the
// kernel, whatever it asked for.

// machineMemory returns the memory available to this process: the cgroup
// limit if there is one, else the machine's RAM; 0 if unknown. A variable
// so tests can fix the machine.
var machineMemory = func() int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(p); err == nil {
			// "max" or a huge number mean no limit.
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < 1<<50 {
				return n
			}
		}
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// defaultMemory is limits.memory's default: half of what the machine (or
// cgroup) has, between 256 MiB and 2 GiB. At 2 GiB, half the budget holds
// 100,000 idle clients, above max_clients' default.
func defaultMemory() int {
	const lo, hi = 256 << 20, 2 << 30
	m := machineMemory() / 2
	if m <= 0 {
		return lo
	}
	return int(min(max(m, lo), hi))
}

// ApplyMemoryLimit sets the Go runtime's soft memory limit to 90% of
// limits.memory (the rest is for what the runtime does not count: the
// binary, thread stacks outside Go). It leaves a GOMEMLIMIT set in the
// environment alone, and does nothing when limits.memory is -1. It is
// process-wide, so the daemon's main calls it, not New (tests run many
// servers in one process). It returns the limit in effect.
func ApplyMemoryLimit(l Limits) int64 {
	if l.Memory > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(l.Memory) / 10 * 9)
	}
	return debug.SetMemoryLimit(-1)
}

// setSendBuffer fixes an accepted connection's kernel send buffer to n
// bytes (SO_SNDBUF); n <= 0 leaves the kernel's autotuning on.
func setSendBuffer(conn net.Conn, n int) {
	if n <= 0 {
		return
	}
	if t, ok := conn.(*tls.Conn); ok {
		conn = t.NetConn()
	}
	if t, ok := conn.(*net.TCPConn); ok {
		_ = t.SetWriteBuffer(n)
	}
}
