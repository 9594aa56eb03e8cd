// Command bench measures a chatd node: memory per registered client,
// deliveries per second into one big channel, and cross-node delivery
// latency between two nodes on one MariaDB. Servers run as child processes
// (this binary re-executed), so their memory is measured alone.
//
//	go run ./cmd/chatbench -mode clients -n 50000
//	go run ./cmd/chatbench -mode fanout -members 500 -senders 4 -duration 10s
//	go run ./cmd/chatbench -mode fanout -members 500 -rate 200 -duration 10s
//	go run ./cmd/chatbench -mode crossnode -rate 1000 -duration 10s   (root, MariaDB)
//	go run ./cmd/chatbench -mode historystorm -n 100 -reps 5 -duration 5s -pairs 5 -compare
//	go run ./cmd/chatbench -mode nonreading -n 300 -memory 268435456 -duration 20s
//	go run ./cmd/chatbench -mode loginstorm -n 40 -attacker-ips 1 -duration 20s
//	go run ./cmd/chatbench -mode crossnode -db galera -rate 1000      (root, MariaDB and galera-4)
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hachat/hachat/chatd"
)

const serveEnv = "CHATD_BENCH_SERVE"

func main() {
	if js := os.Getenv(serveEnv); js != "" {
		serve(js)
		return
	}
	if addr := os.Getenv(probeEnv); addr != "" {
		probeChild(addr) // probe.go
		return
	}
	if spec := os.Getenv(loginProbeEnv); spec != "" {
		loginProbeChild(spec) // probe.go
		return
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	mode := fs.String("mode", "clients", "clients, fanout, crossnode, historystorm, nonreading or loginstorm")
	n := fs.Int("n", 50000, "clients: number of registered clients")
	parallel := fs.Int("parallel", 64, "clients: concurrent registrations")
	members := fs.Int("members", 500, "fanout: channel members (senders included)")
	senders := fs.Int("senders", 10, "fanout, crossnode: clients that send")
	rate := fs.Float64("rate", 0, "messages per second in total (fanout 0: closed loop, each sender waits for its echo)")
	duration := fs.Duration("duration", 10*time.Second, "measurement time")
	idlePark := fs.Duration("idle-park", time.Second, "clients: the server's timers.idle_park (negative: no parking)")
	dsn := fs.String("dsn", "", "store for fanout and clients (default in-memory SQLite)")
	nudge := fs.Bool("nudge", true, "crossnode: peers nudge each other over UDP")
	poll := fs.Duration("tail-poll", 5*time.Millisecond, "crossnode/fanout: log poll interval")
	dbArgs := fs.String("db-args", "", "crossnode: extra mariadbd arguments, comma-separated (e.g. --innodb-flush-log-at-trx-commit=2)")
	reps := fs.Int("reps", 5, "historystorm, nonreading: CHATHISTORY LATEST 1000 requests per client")
	queueCap := fs.Int("queue-cap", 0, "nonreading: max_queued_bytes (0: derived from -memory, -1 unbounded)")
	memory := fs.Int("memory", 0, "nonreading: the server's limits.memory in bytes (0: its default for this machine, -1 no budget)")
	sndbuf := fs.Int("sndbuf", 0, "nonreading, historystorm (metered server): the server's socket_send_buffer (0: default, -1 kernel autotuning)")
	attackerIPs := fs.Int("attacker-ips", 1, "loginstorm: addresses the attackers come from")
	histConc := fs.Int("history-concurrency", 0, "historystorm: the server's history_concurrency (0: default)")
	histRate := fs.Int("history-rate", 0, "historystorm: the server's history_bytes_rate (0: default, -1 unmetered)")
	pairs := fs.Int("pairs", 1, "historystorm: idle/storm pairs measured")
	compare := fs.Bool("compare", false, "historystorm: also run an unmetered server (history_bytes_rate and socket_send_buffer -1) side by side, pairs alternating")
	db := fs.String("db", "mariadb", "crossnode: mariadb (one server on loopback), or galera (one server and a three-node Galera cluster, "+
		"each in namespaces, measured in the same run)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	raiseNoFile()
	switch *mode {
	case "clients":
		return benchClients(*n, *parallel, *dsn, *idlePark)
	case "fanout":
		return benchFanout(*members, *senders, *rate, *duration, *dsn, *poll)
	case "crossnode":
		var extra []string
		if *dbArgs != "" {
			extra = strings.Split(*dbArgs, ",")
		}
		if *db == "galera" {
			return benchCrossNodeGalera(*rate, *senders, *duration, *nudge, *poll)
		}
		return benchCrossNode(*rate, *senders, *duration, *nudge, *poll, extra)
	case "historystorm":
		return benchHistoryStorm(*n, *reps, *dsn, *duration, *histConc, *histRate, *sndbuf, *pairs, *compare)
	case "nonreading":
		return benchNonReading(*n, *reps, *memory, *queueCap, *sndbuf, *duration)
	case "loginstorm":
		return benchLoginStorm(*n, *attackerIPs, *duration)
	}
	return fmt.Errorf("unknown -mode %q", *mode)
}

// raiseNoFile lifts the descriptor limit: 50,000 clients need 50,000 fds in
// each process.
func raiseNoFile() {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return
	}
	want := uint64(400000)
	if l.Max < want {
		l.Max = want // root may raise the hard limit up to fs.nr_open
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// serve is the child: one chatd node with the JSON config from the parent.
func serve(js string) {
	raiseNoFile()
	var cfg chatd.Config
	if err := json.Unmarshal([]byte(js), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(2)
	}
	registerNetns() // galera.go
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(2)
	}
	chatd.ApplyMemoryLimit(cfg.Limits) // as cmd/chatd does
	srv, err := chatd.New(cfg, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
	fmt.Printf("ADDR %s %s\n", srv.Addr(), srv.HTTPAddr())
	fmt.Fprintf(os.Stderr, "bench server %s: http://%s/\n", cfg.Node, srv.HTTPAddr())
	if err := srv.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}

type child struct {
	cmd        *exec.Cmd
	addr, http string
}

func benchConfig(node string) chatd.Config {
	return chatd.Config{
		Node: node, Listen: []string{"127.0.0.1:0"}, HTTPListen: "127.0.0.1:0", Pprof: os.Getenv("BENCH_PPROF") != "",
		// The load generator is one tenant on loopback: exempt from the
		// per-IP limits (connections, connection rate, queued bytes).
		Limits: chatd.Limits{MaxClients: -1, FloodRate: -1, SendQBytes: 1 << 20, ExemptNetworks: []string{"127.0.0.0/8"}},
		Timers: chatd.Timers{PingInterval: time.Hour, RegistrationTimeout: time.Hour},
	}
}

func startServer(cfg chatd.Config) (*child, error) {
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), serveEnv+"="+string(js))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "ADDR" {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			c := &child{cmd: cmd, addr: f[1], http: f[2]}
			if err := c.waitReady(); err != nil {
				c.stop()
				return nil, err
			}
			return c, nil
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, errors.New("server child exited before listening")
}

func (c *child) waitReady() error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + c.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("server not ready after 30s")
}

func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
}

// rssBytes reads VmRSS of a process.
func rssBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// loadAvg is the 1-minute load average: on a shared machine it says how
// much of the CPU the benchmark really had.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// cpuSeconds is a process's user+system CPU time (/proc/PID/stat fields 14, 15).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100 // USER_HZ
}

// stages are the server's cumulative latency histograms (sums and counts).
type stages struct{ appendSum, appendN, lagSum, lagN float64 }

func stageTimes(httpAddr string) stages {
	return stages{
		appendSum: metric(httpAddr, "chatd_append_seconds_sum"), appendN: metric(httpAddr, "chatd_append_seconds_count"),
		lagSum: metric(httpAddr, "chatd_tail_lag_seconds_sum"), lagN: metric(httpAddr, "chatd_tail_lag_seconds_count"),
	}
}

func (a stages) minus(b stages) stages {
	return stages{a.appendSum - b.appendSum, a.appendN - b.appendN, a.lagSum - b.lagSum, a.lagN - b.lagN}
}

func (a stages) appendMean() string { return meanMS(a.appendSum, a.appendN) }
func (a stages) lagMean() string    { return meanMS(a.lagSum, a.lagN) }

func meanMS(sum, n float64) string {
	if n == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f ms", sum/n*1000)
}

// metric reads one unlabelled sample from a Prometheus text endpoint.
func metric(httpAddr, name string) float64 {
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// metricLines returns the sample lines of a metric family, e.g. to print
// disconnect reasons.
func metricLines(httpAddr, prefix string) []string {
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// sourceAddr spreads clients over 127.0.0.0/8 source addresses: one source
// address has only ~28,000 ephemeral ports towards one server port.
func sourceAddr(i int) *net.TCPAddr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+i/20000), byte(2+i%200))}
}

// ircConn is a load-generator connection.
type ircConn struct {
	conn net.Conn
	r    *bufio.Reader
	nick string
}

func dialIRC(addr string, i int, nick string, caps string) (*ircConn, error) {
	d := net.Dialer{LocalAddr: sourceAddr(i), Timeout: 30 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &ircConn{conn: conn, r: bufio.NewReaderSize(conn, 4096), nick: nick}
	reg := ""
	if caps != "" {
		reg = "CAP REQ :" + caps + "\r\nCAP END\r\n"
	}
	reg += "NICK " + nick + "\r\nUSER b 0 * :bench\r\n"
	if _, err := conn.Write([]byte(reg)); err != nil {
		conn.Close()
		return nil, err
	}
	if err := c.waitFor(" 376 ", " 422 "); err != nil {
		conn.Close()
		return nil, fmt.Errorf("register %s: %w", nick, err)
	}
	return c, nil
}

func (c *ircConn) waitFor(subs ...string) error {
	_ = c.conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	defer c.conn.SetReadDeadline(time.Time{})
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "ERROR") {
			return errors.New(strings.TrimSpace(line))
		}
		for _, s := range subs {
			if strings.Contains(line, s) {
				return nil
			}
		}
	}
}

func (c *ircConn) join(ch string) error {
	if _, err := c.conn.Write([]byte("JOIN " + ch + "\r\n")); err != nil {
		return err
	}
	return c.waitFor(" 366 ")
}
