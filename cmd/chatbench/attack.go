package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/hachat/hachat/chatd"
)

// Attack load shapes (issue 12): a history storm beside a live-latency
// bystander, clients that ask for history and never read, and a login storm
// beside a legitimate user.

// seedHistory has one client send n messages of size bytes to ch. The
// client stays (the caller closes it): an empty channel is gone, and its
// history with it for non-members.
func seedHistory(addr, ch string, n, size int) (*ircConn, error) {
	c, err := dialIRC(addr, 0, "seeder", "")
	if err != nil {
		return nil, err
	}
	if err := seed(c, ch, n, size); err != nil {
		c.conn.Close()
		return nil, err
	}
	return c, nil
}

func seed(c *ircConn, ch string, n, size int) error {
	if err := c.join(ch); err != nil {
		return err
	}
	body := strings.Repeat("x", size)
	w := bufio.NewWriter(c.conn)
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "PRIVMSG %s :%d %s\r\n", ch, i, body)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	// The last message is in history once our PING is answered after it.
	if _, err := c.conn.Write([]byte("PING :seeded\r\n")); err != nil {
		return err
	}
	return c.waitFor("seeded")
}

// bystander sends stamped messages to its own channel at rate and times its
// own echoes (echo-message): the live delivery path, through the log.
type bystander struct {
	c    *ircConn
	rc   *receiver
	stop atomic.Bool
	sent atomic.Int64
}

func startBystander(addr string, rate float64) (*bystander, error) {
	c, err := dialIRC(addr, 1, "bystander", "echo-message")
	if err != nil {
		return nil, err
	}
	if err := c.join("#live"); err != nil {
		return nil, err
	}
	b := &bystander{c: c, rc: newReceiver()}
	go b.rc.read(c)
	go sendLoop(c, "#live", rate, &b.stop, &b.sent, nil)
	return b, nil
}

func pct(h *hdrhistogram.Histogram) string {
	return fmt.Sprintf("p50 %s, p99 %s, max %s (%d samples)", ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(99)), ms(h.Max()), h.TotalCount())
}

// stormRig is one server under a history storm: its bystander and the
// storm's clients, kept across pairs.
type stormRig struct {
	name  string
	srv   *child
	by    *remoteBystander
	conns []*ircConn
	seed  *ircConn
	dir   string
}

// newStormRig starts a server with cfg on the packaged SQLite file store
// (unless cfg.DSN is set), seeds #c with 2000 messages, and connects the
// bystander and the storm's clients.
func newStormRig(name string, cfg chatd.Config, clients int) (*stormRig, error) {
	g := &stormRig{name: name}
	if cfg.DSN == "" {
		dir, err := os.MkdirTemp("", "chatd-bench")
		if err != nil {
			return nil, err
		}
		g.dir = dir
		cfg.DSN = "sqlite:" + filepath.Join(dir, "chatd.db") // the packaged default store
	}
	var err error
	if g.srv, err = startServer(cfg); err != nil {
		g.close()
		return nil, err
	}
	if g.seed, err = seedHistory(g.srv.addr, "#c", 2000, 200); err != nil {
		g.close()
		return nil, fmt.Errorf("seed: %w", err)
	}
	if g.by, err = startRemoteBystander(g.srv.addr); err != nil {
		g.close()
		return nil, err
	}
	g.conns = make([]*ircConn, clients)
	for i := range g.conns {
		if g.conns[i], err = dialIRC(g.srv.addr, 10+i, fmt.Sprintf("h%d", i), "draft/chathistory batch server-time"); err != nil {
			g.close()
			return nil, err
		}
	}
	return g, nil
}

func (g *stormRig) close() {
	for _, c := range g.conns {
		if c != nil {
			c.conn.Close()
		}
	}
	if g.by != nil {
		g.by.close()
	}
	if g.seed != nil {
		g.seed.conn.Close()
	}
	if g.srv != nil {
		g.srv.stop()
	}
	if g.dir != "" {
		os.RemoveAll(g.dir)
	}
}

// stormPair is one idle window and one storm on a rig.
type stormPair struct {
	idle, storm  *hdrhistogram.Histogram
	took         time.Duration
	lines, fails int64
	load         string
}

func (p stormPair) ratio() float64 {
	if p.idle.ValueAtQuantile(99) <= 0 {
		return 0
	}
	return float64(p.storm.ValueAtQuantile(99)) / float64(p.idle.ValueAtQuantile(99))
}

// pair measures the bystander idle for d, then during a storm: every client
// asks CHATHISTORY LATEST #c * 1000 reps times (pipelined) and reads the
// answers.
func (g *stormRig) pair(d time.Duration, reps int) stormPair {
	var p stormPair
	time.Sleep(2 * time.Second) // let the last storm's aftermath (GC, scavenger, other arm) settle
	p.idle = g.by.window(d, nil)
	var lines, fails atomic.Int64
	start := time.Now()
	p.storm = g.by.window(0, func() {
		var wg sync.WaitGroup
		for _, c := range g.conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := strings.Repeat("CHATHISTORY LATEST #c * 1000\r\n", reps)
				if _, err := c.conn.Write([]byte(req)); err != nil {
					return
				}
				// Each request ends in BATCH -<id> or a FAIL.
				for done := 0; done < reps; {
					_ = c.conn.SetReadDeadline(time.Now().Add(120 * time.Second))
					// ReadSlice: the generator reads 500,000 lines without
					// making garbage of them.
					line, err := c.r.ReadSlice('\n')
					if err == bufio.ErrBufferFull {
						continue
					}
					if err != nil {
						return
					}
					lines.Add(1)
					switch {
					case bytes.Contains(line, []byte("BATCH -")):
						done++
					case bytes.Contains(line, []byte("FAIL CHATHISTORY")):
						fails.Add(1)
						done++
					}
				}
			}()
		}
		wg.Wait()
	})
	p.took, p.lines, p.fails, p.load = time.Since(start), lines.Load(), fails.Load(), loadAvg()
	return p
}

// benchHistoryStorm measures a bystander's live latency idle and during
// history storms, pairs times. With compare, two servers run side by side,
// pairs alternating between them: "unmetered" (history_bytes_rate and
// socket_send_buffer off: chatd before history pacing) and "metered" (the
// defaults, or -history-rate).
func benchHistoryStorm(clients, reps int, dsn string, d time.Duration, concurrency, rate, sndbuf, pairs int, compare bool) error {
	cfg := benchConfig("hist")
	cfg.DSN = dsn
	cfg.Limits.HistoryConcurrency = concurrency
	cfg.Limits.HistoryBytesRate = rate
	cfg.Limits.SocketSendBuffer = sndbuf
	type arm struct {
		rig   *stormRig
		pairs []stormPair
	}
	var arms []*arm
	if compare {
		old := cfg
		old.Node = "unmetered"
		old.Limits.HistoryBytesRate, old.Limits.SocketSendBuffer = -1, -1
		rig, err := newStormRig("unmetered", old, clients)
		if err != nil {
			return err
		}
		defer rig.close()
		arms = append(arms, &arm{rig: rig})
		cfg.Node = "metered"
	}
	rig, err := newStormRig(cfg.Node, cfg, clients)
	if err != nil {
		return err
	}
	defer rig.close()
	arms = append(arms, &arm{rig: rig})
	eff := cfg
	if eff.DSN == "" {
		eff.DSN = "sqlite:FILE" // newStormRig's packaged default
	}
	_ = eff.Validate()
	fmt.Printf("%d clients x %d x LATEST 1000; history_concurrency %d, history_bytes_rate %d, socket_send_buffer %d (metered server); store %s; idle windows %v; load average %s\n",
		clients, reps, eff.Limits.HistoryConcurrency, eff.Limits.HistoryBytesRate, eff.Limits.SocketSendBuffer, storeKind(eff.DSN), d, loadAvg())
	time.Sleep(time.Second)
	for i := 0; i < pairs; i++ {
		for _, a := range arms {
			p := a.rig.pair(d, reps)
			a.pairs = append(a.pairs, p)
			fmt.Printf("%s pair %d: idle %s | storm %s | p99 storm/idle %.2fx | storm took %v, %d lines, %d told to try again | load %s\n",
				a.rig.name, i+1, pct(p.idle), pct(p.storm), p.ratio(), p.took.Round(time.Millisecond), p.lines, p.fails, p.load)
		}
	}
	for _, a := range arms {
		var rs, idle, storm, took, idle50, storm50 []float64
		for _, p := range a.pairs {
			rs = append(rs, p.ratio())
			idle50 = append(idle50, float64(p.idle.ValueAtQuantile(50))/1000)
			storm50 = append(storm50, float64(p.storm.ValueAtQuantile(50))/1000)
			idle = append(idle, float64(p.idle.ValueAtQuantile(99))/1000)
			storm = append(storm, float64(p.storm.ValueAtQuantile(99))/1000)
			took = append(took, p.took.Seconds())
		}
		fmt.Printf("%s: p99 storm/idle median %.2fx (%s); idle p99 median %.1f ms (%s); storm p99 median %.1f ms (%s); storm took median %.1f s (%s)\n",
			a.rig.name, median(rs), spread(rs, "%.2f"), median(idle), spread(idle, "%.1f"), median(storm), spread(storm, "%.1f"), median(took), spread(took, "%.1f"))
		fmt.Printf("%s: p50 idle median %.2f ms (%s), storm median %.2f ms (%s)\n", a.rig.name, median(idle50), spread(idle50, "%.2f"), median(storm50), spread(storm50, "%.2f"))
		for _, l := range append(metricLines(a.rig.srv.http, "chatd_history_rejected_total"), append(metricLines(a.rig.srv.http, "chatd_tail_errors_total"), metricLines(a.rig.srv.http, "chatd_history_paced_seconds_total")...)...) {
			fmt.Printf("%s server: %s\n", a.rig.name, l)
		}
	}
	fmt.Println("load average at the end:", loadAvg())
	return nil
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

// spread is "min-max" of xs.
func spread(xs []float64, f string) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf(f+"-"+f, slices.Min(xs), slices.Max(xs))
}

func storeKind(dsn string) string {
	if strings.HasPrefix(dsn, "sqlite:") {
		return dsn
	}
	if dsn == "" {
		return "in-memory sqlite"
	}
	return "mysql"
}

// benchNonReading: clients ask for history and never read; the server's RSS
// and the bytes its sockets hold in the kernel are sampled for d. memory is
// limits.memory (0: the default for this machine, -1: no budget), capBytes
// max_queued_bytes (0: derived from memory, -1: unbounded), sndbuf
// socket_send_buffer (0: default, -1: kernel autotuning).
func benchNonReading(clients, reps, memory, capBytes, sndbuf int, d time.Duration) error {
	cfg := benchConfig("nonread")
	cfg.Limits.Memory, cfg.Limits.MaxQueuedBytes, cfg.Limits.SocketSendBuffer = memory, capBytes, sndbuf
	dir, err := os.MkdirTemp("", "chatd-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.DSN = "sqlite:" + filepath.Join(dir, "chatd.db")
	eff := cfg // what the server derives, for the report
	if err := eff.Validate(); err != nil {
		return err
	}
	srv, err := startServer(cfg)
	if err != nil {
		return err
	}
	defer srv.stop()
	seeder, err := seedHistory(srv.addr, "#c", 1000, 400)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	defer seeder.conn.Close()
	time.Sleep(time.Second)
	base := rssBytes(srv.cmd.Process.Pid)
	conns := make([]*ircConn, clients)
	for i := range conns {
		if conns[i], err = dialIRC(srv.addr, 10+i, fmt.Sprintf("n%d", i), "draft/chathistory batch"); err != nil {
			return err
		}
	}
	req := []byte(strings.Repeat("CHATHISTORY LATEST #c * 1000\r\n", reps))
	for _, c := range conns {
		// A small receive window, like a slow link: what the server sends
		// then stays in its memory rather than in this process's socket.
		_ = c.conn.(*net.TCPConn).SetReadBuffer(4096)
		_, _ = c.conn.Write(req) // and never read again
	}
	_, port, _ := net.SplitHostPort(srv.addr)
	var peak, peakQueued, peakKernel float64
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		peak = max(peak, float64(rssBytes(srv.cmd.Process.Pid)))
		peakQueued = max(peakQueued, metric(srv.http, "chatd_queued_bytes"))
		peakKernel = max(peakKernel, float64(kernelSendQueued(port)))
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("%d non-reading clients x %d x LATEST 1000 (~450 KB each) for %v; memory %s, max_queued_bytes %s, socket_send_buffer %d\n",
		clients, reps, d, mib(eff.Limits.Memory), mib(eff.Limits.MaxQueuedBytes), eff.Limits.SocketSendBuffer)
	fmt.Printf("RSS %.0f -> peak %.0f MiB; peak queued %.1f MiB; peak in the kernel's send queues %.1f MiB; load average %s\n",
		float64(base)/(1<<20), peak/(1<<20), peakQueued/(1<<20), peakKernel/(1<<20), loadAvg())
	for _, l := range metricLines(srv.http, "chatd_disconnects_total") {
		fmt.Println("server:", l)
	}
	for _, c := range conns {
		c.conn.Close()
	}
	return nil
}

func mib(n int) string {
	if n < 0 {
		return "unbounded"
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// kernelSendQueued sums the send queues (tx_queue: bytes written and not yet
// acknowledged) of the TCP sockets on local port, from /proc/net/tcp.
func kernelSendQueued(port string) int64 {
	p, err := strconv.Atoi(port)
	if err != nil {
		return 0
	}
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0
	}
	want := fmt.Sprintf(":%04X", p)
	var sum int64
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		// sl local_address rem_address st tx_queue:rx_queue ...
		if len(f) < 5 || !strings.HasSuffix(f[1], want) {
			continue
		}
		tx, _, _ := strings.Cut(f[4], ":")
		n, _ := strconv.ParseInt(tx, 16, 64)
		sum += n
	}
	return sum
}

// saslLogin connects from src and logs in with SASL PLAIN; it returns the
// numeric that ended the exchange (903 success, 904 wrong, 906 try again)
// and how long the server took from the credentials to it.
func saslLogin(addr string, src net.IP, account, pw string) (string, time.Duration, error) {
	dl := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}
	conn, err := dl.Dial("tcp", addr)
	if err != nil {
		return "", 0, err
	}
	defer conn.Close()
	c := &ircConn{conn: conn, r: bufio.NewReader(conn)}
	if _, err := conn.Write([]byte("CAP REQ :sasl\r\nAUTHENTICATE PLAIN\r\n")); err != nil {
		return "", 0, err
	}
	if err := c.waitFor("AUTHENTICATE +"); err != nil {
		return "", 0, err
	}
	start := time.Now()
	payload := base64.StdEncoding.EncodeToString([]byte("\x00" + account + "\x00" + pw))
	if _, err := conn.Write([]byte("AUTHENTICATE " + payload + "\r\n")); err != nil {
		return "", 0, err
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return "", time.Since(start), err
		}
		for _, code := range []string{" 903 ", " 904 ", " 906 "} {
			if strings.Contains(line, code) {
				return strings.TrimSpace(code), time.Since(start), nil
			}
		}
	}
}

// benchLoginStorm: attackers (from attackerIPs addresses) guess passwords in
// a loop while a user logs in with the right one every second.
func benchLoginStorm(attackers, attackerIPs int, d time.Duration) error {
	cfg := benchConfig("login")
	srv, err := startServer(cfg)
	if err != nil {
		return err
	}
	defer srv.stop()
	user := net.IPv4(127, 0, 200, 1)
	// The account: registered by the user itself.
	if c, err := dialIRC(srv.addr, 0, "alice", "draft/account-registration"); err != nil {
		return err
	} else {
		_, _ = c.conn.Write([]byte("REGISTER alice * :correct horse battery\r\n"))
		if err := c.waitFor("REGISTER SUCCESS"); err != nil {
			return fmt.Errorf("register: %w", err)
		}
		c.conn.Close()
	}
	probe, err := startRemoteLogin(srv.addr, user) // probe.go
	if err != nil {
		return err
	}
	defer probe.close()
	code, t := probe.login()
	if code != "903" {
		return fmt.Errorf("idle login: %s", code)
	}
	fmt.Printf("idle login: %s in %v; load average %s\n", code, t.Round(time.Millisecond), loadAvg())
	var stop atomic.Bool
	var tries atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < attackers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := net.IPv4(127, 0, 100, byte(1+i%attackerIPs))
			for n := 0; !stop.Load(); n++ {
				if _, _, err := saslLogin(srv.addr, src, "alice", fmt.Sprintf("guess %d-%d", i, n)); err == nil {
					tries.Add(1)
				}
			}
		}()
	}
	time.Sleep(2 * time.Second) // the storm builds up
	h := hdrhistogram.New(1, 60_000_000, 3)
	results := map[string]int{}
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		code, t := probe.login()
		results[code]++
		if code == "903" {
			_ = h.RecordValue(t.Microseconds())
		}
		time.Sleep(time.Second)
	}
	stop.Store(true)
	wg.Wait()
	fmt.Printf("%d attackers from %d addresses, %d attempts answered in %v; load average %s\n", attackers, attackerIPs, tries.Load(), d, loadAvg())
	fmt.Printf("legitimate logins: %v; successful ones took %s\n", results, pct(h))
	for _, l := range append(metricLines(srv.http, "chatd_logins_total"), metricLines(srv.http, "chatd_argon2_runs_total")...) {
		fmt.Println("server:", l)
	}
	return nil
}
