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
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
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
