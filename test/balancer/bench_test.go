package balancer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// haproxyConfig puts HAProxy (TCP mode) on lb3, a third balancer host on
// the same segments with no nftables rules (so no conntrack either), in
// front of the same apps: it stands where our balancer stands, and both are
// measured in one run.
func haproxyConfig(threads int) string {
	return fmt.Sprintf(haproxyTemplate, threads)
}

// haproxyAddr is lb3's address on the client's segment.
const haproxyAddr = "198.18.1.13"

const haproxyTemplate = `global
    maxconn 4096
    nbthread %d
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend web
    bind 198.18.1.13:8080
    default_backend web
backend web
    balance roundrobin
    server app1 198.18.2.21:80
    server app2 198.18.2.22:80
frontend chat
    bind 198.18.1.13:8081
    default_backend chat
backend chat
    balance roundrobin
    server app1 198.18.2.21:7001
    server app2 198.18.2.22:7001
`

// BenchmarkDataPlanes compares, in one run on the namespace lab, the
// new-connection rate (one request per connection) and the keep-alive
// request rate of: the apps directly, our nftables data plane through the
// VIP, and HAProxy in TCP mode on a balancer host of its own: first with
// every process free to use both cores ("shared"), then with the balancer
// given a core of its own ("owncore", see benchOwnCore). Then it keeps 20
// long-lived connections through 10 failovers and failbacks ("failover").
//
//	go test -run '^$' -bench DataPlanes -benchtime 1x ./test/balancer/
//
// Knobs: LBBENCH_ROUNDS (default 5), LBBENCH_SECONDS per measurement (2),
// LBBENCH_WORKERS concurrent client connections (32), LBBENCH_PARTS (the
// parts to run, default "shared,owncore,failover"), LBBENCH_PERF (a
// directory: perf profiles of the balancer core in the first owncore round).
func BenchmarkDataPlanes(b *testing.B) {
	if _, err := exec.LookPath("haproxy"); err != nil {
		b.Skip("haproxy is not installed (apt-get install haproxy)")
	}
	l := newLab(b)
	l.waitServing(vip + ":80")
	cfg := filepath.Join(l.lab.Dir(), "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(2)), 0o644); err != nil {
		b.Fatal(err)
	}
	lb3 := l.host("lb3")
	l.lab.MustLink(lb3, l.sw, "eth0", netip.MustParsePrefix("198.18.1.13/24"), netip.MustParsePrefix("198.18.2.13/24"))
	hp, err := lb3.Start(context.Background(), "haproxy", "haproxy", "-db", "-f", cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer hp.Stop(3 * time.Second)
	l.waitServing(haproxyAddr + ":8080")

	rounds, secs, workers := envInt("LBBENCH_ROUNDS", 5), envInt("LBBENCH_SECONDS", 2), envInt("LBBENCH_WORKERS", 32)
	d := time.Duration(secs) * time.Second
	parts := os.Getenv("LBBENCH_PARTS")
	if parts == "" {
		parts = "shared,owncore,failover"
	}
	var sb strings.Builder
	for n := 0; n < b.N; n++ {
		if strings.Contains(parts, "shared") {
			benchShared(b, l, rounds, workers, d, &sb)
		}
		hp.Stop(3 * time.Second)
		if strings.Contains(parts, "owncore") {
			benchOwnCore(b, l, lb3, rounds, workers, d, &sb)
		}
		if strings.Contains(parts, "failover") {
			testFailover(b, l, 20, 10)
			fmt.Fprintf(&sb, "long-lived connections: 20/20 alive across 10 failovers and 10 failbacks\n")
		}
	}
	// Printed, not logged: go test truncates long benchmark logs.
	fmt.Print(sb.String())
}

// benchShared measures the apps directly, our data plane and HAProxy (two
// threads) with every process free to run on both cores.
func benchShared(b *testing.B, l *lab, rounds, workers int, d time.Duration, sb *strings.Builder) {
	targets := []struct{ name, conn, ka string }{
		{"direct (app1)", "198.18.2.21:80", "198.18.2.21:7001"},
		{"nftables (ours)", vip + ":80", vip + ":7001"},
		{"nftables DR", vip + ":8090", ""},
		{"haproxy tcp", haproxyAddr + ":8080", haproxyAddr + ":8081"},
	}
	connRates := map[string][]float64{}
	kaRates := map[string][]float64{}
	for r := range rounds {
		// Interleave the targets in every round so that noise from
		// the shared machine hits all of them alike.
		for _, tg := range targets {
			cr, errs := l.load("conn", tg.conn, workers, d)
			if errs > 0 {
				b.Logf("round %d %s: %d connection errors", r+1, tg.name, errs)
			}
			connRates[tg.name] = append(connRates[tg.name], cr)
			if tg.ka == "" {
				continue
			}
			kr, errs := l.load("ka", tg.ka, workers, d)
			if errs > 0 {
				b.Logf("round %d %s keep-alive: %d errors", r+1, tg.name, errs)
			}
			kaRates[tg.name] = append(kaRates[tg.name], kr)
		}
	}
	fmt.Fprintf(sb, "all processes on both cores, %d rounds × %v, %d concurrent client connections\n", rounds, d, workers)
	fmt.Fprintf(sb, "%-18s %28s %28s\n", "target", "new conn/s median [min-max]", "keep-alive req/s median [min-max]")
	for _, tg := range targets {
		c, k := connRates[tg.name], kaRates[tg.name]
		ka := "             -"
		if len(k) > 0 {
			ka = fmt.Sprintf("%14.0f [%6.0f-%6.0f]", median(k), slices.Min(k), slices.Max(k))
		}
		fmt.Fprintf(sb, "%-18s %10.0f [%6.0f-%6.0f] %s\n", tg.name, median(c), slices.Min(c), slices.Max(c), ka)
	}
	ratio := median(connRates["nftables (ours)"]) / median(connRates["haproxy tcp"])
	// The machine is shared: load drifts between rounds. The ratio within
	// each round (both measured seconds apart) is the steadier figure.
	var paired []float64
	for i := range connRates["haproxy tcp"] {
		paired = append(paired, connRates["nftables (ours)"][i]/connRates["haproxy tcp"][i])
	}
	fmt.Fprintf(sb, "new-connection rate, ours / haproxy: %.2f× of medians; per-round ratio median %.2f× [%.2f-%.2f] (capped near direct / haproxy = %.2f×)\n",
		ratio, median(paired), slices.Min(paired), slices.Max(paired), median(connRates["direct (app1)"])/median(connRates["haproxy tcp"]))
	b.ReportMetric(median(connRates["nftables (ours)"]), "nft-conn/s")
	b.ReportMetric(median(connRates["haproxy tcp"]), "haproxy-conn/s")
	b.ReportMetric(median(connRates["direct (app1)"]), "direct-conn/s")
	b.ReportMetric(ratio, "ours/haproxy")
	dr := median(connRates["nftables DR"]) / median(connRates["haproxy tcp"])
	fmt.Fprintf(sb, "new-connection rate, ours in DR mode / haproxy: %.2f× of medians\n", dr)
	b.ReportMetric(dr, "dr/haproxy")
}

func envInt(k string, def int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv(k), &v); err == nil && v > 0 {
		return v
	}
	return def
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// loadgenEnv makes the test binary a load generator; it runs in the
// client's namespace as a whole process (ip netns exec), so its goroutines
// need no locked OS threads.
const loadgenEnv = "HACHAT_LB_LOADGEN"

// runLoadgen: mode "conn" opens a connection per request (read the one-line
// answer, close); "ka" keeps one connection per worker and sends 64-byte
// requests, each echoed before the next. It prints "RESULT <done> <errors>
// <seconds>".
func runLoadgen(mode string) error {
	addr := os.Getenv("LOADGEN_ADDR")
	workers, secs := envInt("LOADGEN_WORKERS", 32), envInt("LOADGEN_SECONDS", 2)
	d := time.Duration(secs) * time.Second
	var done, errs atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	msg := []byte(strings.Repeat("x", 63) + "\n")
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if mode == "conn" {
				buf := make([]byte, 64)
				for time.Now().Before(stop) {
					c, err := net.DialTimeout("tcp", addr, 2*time.Second)
					if err != nil {
						errs.Add(1)
						continue
					}
					c.SetDeadline(time.Now().Add(2 * time.Second))
					_, err = c.Read(buf)
					// Close with RST: no TIME_WAIT on the client, so a
					// long run does not exhaust its ports.
					c.(*net.TCPConn).SetLinger(0)
					c.Close()
					if err != nil {
						errs.Add(1)
						continue
					}
					done.Add(1)
				}
				return
			}
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				errs.Add(1)
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			buf := make([]byte, len(msg))
			for time.Now().Before(stop) {
				c.SetDeadline(time.Now().Add(2 * time.Second))
				if _, err := c.Write(msg); err != nil {
					errs.Add(1)
					return
				}
				if _, err := io.ReadFull(r, buf); err != nil {
					errs.Add(1)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("RESULT %d %d %f\n", done.Load(), errs.Load(), d.Seconds())
	return nil
}

// load runs the load generator in the client namespace and returns the
// rate per second and the error count.
func (l *lab) load(mode, addr string, workers int, d time.Duration) (float64, int64) {
	self, err := os.Executable()
	if err != nil {
		l.t.Fatal(err)
	}
	argv := append(slices.Clone(l.loadPrefix), "env", loadgenEnv+"="+mode, "LOADGEN_ADDR="+addr,
		fmt.Sprintf("LOADGEN_WORKERS=%d", workers), fmt.Sprintf("LOADGEN_SECONDS=%d", int(d.Seconds())), self, "-test.run=^$")
	out, err := l.client.Run(context.Background(), argv...)
	if err != nil {
		l.t.Fatalf("loadgen: %v", err)
	}
	var n, errs int64
	var secs float64
	i := strings.LastIndex(out, "RESULT ")
	if i < 0 {
		l.t.Fatalf("loadgen printed no result: %s", out)
	}
	fmt.Sscanf(out[i:], "RESULT %d %d %f", &n, &errs, &secs)
	return float64(n) / secs, errs
}
