package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// benchClients registers n clients on one node and reports the node's
// resident memory per client. dsn is the node's store ("" in-memory SQLite,
// whose pages are then in the node's RSS; "sqlite:FILE" the packaged
// default, whose page cache is bounded).
//
// idlePark is the server's timers.idle_park (0: its default; negative: no
// parking, every idle client keeps its reader goroutine); the clients are
// left idle past it before the memory is read.
func benchClients(n, parallel int, dsn string, idlePark time.Duration) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err == nil && l.Cur < uint64(n)+200 {
		// Each process (server and this generator) needs a descriptor per
		// client; without CAP_SYS_RESOURCE the hard limit cannot be raised.
		return fmt.Errorf("RLIMIT_NOFILE is %d (hard %d), too low for %d clients: run with a higher hard limit or -n %d",
			l.Cur, l.Max, n, l.Cur-200)
	}
	cfg := benchConfig("mem")
	cfg.DSN = dsn
	cfg.Timers.IdlePark = idlePark
	srv, err := startServer(cfg)
	if err != nil {
		return err
	}
	defer srv.stop()
	time.Sleep(time.Second) // let the idle server settle before the baseline
	base := rssBytes(srv.cmd.Process.Pid)
	baseHeap := metric(srv.http, "go_memstats_heap_inuse_bytes")
	fmt.Printf("server idle: RSS %.1f MiB\n", float64(base)/(1<<20))

	conns := make([]*ircConn, n)
	cpu0 := cpuSeconds(srv.cmd.Process.Pid)
	var next, failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, err := dialIRC(srv.addr, i, fmt.Sprintf("b%d", i), "")
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				c.r = nil // the generator keeps only the socket
				conns[i] = c
				if i > 0 && i%10000 == 0 {
					fmt.Printf("  %d registered, %.0f/s\n", i, float64(i)/time.Since(start).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuSeconds(srv.cmd.Process.Pid) - cpu0
	if f := failed.Load(); f > 0 {
		fmt.Printf("failed registrations: %d (first: %v)\n", f, firstErr.Load())
	}
	ok := int64(n) - failed.Load()
	// Settle: let the server's GC run so the figure is steady-state, and
	// the clients park.
	time.Sleep(3*time.Second + max(idlePark, 0))
	rss := rssBytes(srv.cmd.Process.Pid)
	heap := metric(srv.http, "go_memstats_heap_inuse_bytes")
	stacks := metric(srv.http, "go_memstats_stack_inuse_bytes")
	gor := metric(srv.http, "go_goroutines")
	fmt.Printf("idle_park %v\n", idlePark)
	users := metric(srv.http, "chatd_users")
	per := float64(rss-base) / float64(ok)
	fmt.Printf("registered clients: %d in %v (%.0f registrations/s); load average %s\n", ok, elapsed.Round(time.Millisecond), float64(ok)/elapsed.Seconds(), loadAvg())
	// Server CPU per registration is steadier than the rate on a shared machine: the rate also
	// depends on how much CPU this generator got.
	fmt.Printf("server CPU: %.1f µs per registration\n", cpu/float64(ok)*1e6)
	fmt.Printf("server: users %.0f, goroutines %.0f, RSS %.1f MiB, heap in use %.1f MiB, stacks %.1f MiB\n",
		users, gor, float64(rss)/(1<<20), heap/(1<<20), stacks/(1<<20))
	fmt.Printf("memory per client: %.1f KiB RSS (%.1f KiB Go heap, %.1f KiB stacks)\n",
		per/1024, (heap-baseHeap)/float64(ok)/1024, stacks/float64(ok)/1024)
	memBreakdown(srv.http, rss, ok)
	if b, err := os.ReadFile("/proc/net/sockstat"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "TCP:") {
				fmt.Printf("kernel (both ends, not in RSS): %s (mem in 4 KiB pages)\n", l)
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	for _, c := range conns {
		if c != nil {
			c.conn.Close()
		}
	}
	return nil
}

// memBreakdown says where the server's resident memory is: the Go heap in
// use, the free heap the runtime still holds (not yet returned to the
// kernel: RSS until the scavenger gets to it), goroutine stacks, the
// runtime's own structures, and the rest (memory outside the Go runtime:
// the in-memory SQLite database's pages, which the C-to-Go SQLite allocates
// itself). With BENCH_PPROF=FILE it also saves a heap profile there (go
// tool pprof -sample_index=inuse_space FILE).
func memBreakdown(httpAddr string, rss, clients int64) {
	m := func(name string) float64 { return metric(httpAddr, "go_memstats_"+name+"_bytes") }
	inuse, idle, released := m("heap_inuse"), m("heap_idle"), m("heap_released")
	stacks := m("stack_inuse")
	rt := m("mspan_inuse") + m("mcache_inuse") + m("buck_hash_sys") + m("gc_sys") + m("other_sys")
	outside := float64(rss) - inuse - (idle - released) - stacks - rt
	kib := func(x float64) string { return fmt.Sprintf("%.2f KiB", x/float64(clients)/1024) }
	fmt.Printf("per client, of RSS: heap in use %s, free heap held %s, stacks %s, runtime %s, outside the Go runtime %s (at most: unreleased pages count in Go's figures whether resident or not)\n",
		kib(inuse), kib(idle-released), kib(stacks), kib(rt), kib(outside))
	if path := os.Getenv("BENCH_PPROF"); path != "" && path != "1" {
		resp, err := http.Get("http://" + httpAddr + "/debug/pprof/heap")
		if err != nil {
			fmt.Println("heap profile:", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(path)
		if err != nil {
			fmt.Println("heap profile:", err)
			return
		}
		defer f.Close()
		if _, err := io.Copy(f, resp.Body); err != nil {
			fmt.Println("heap profile:", err)
		}
	}
}
