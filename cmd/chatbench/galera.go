package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/hachat/hachat/chatd"
	"github.com/hachat/hachat/internal/mariadbtest"
)

// netnsEnv names, for a child server, the network namespace its database connections are made from.
const netnsEnv = "CHATD_BENCH_DB_NETNS"

// registerNetns makes the child's MySQL driver able to dial from the namespace its parent named.
func registerNetns() {
	if ns := os.Getenv(netnsEnv); ns != "" {
		mariadbtest.DialNetNamed(ns)
	}
}

var childEnvMu sync.Mutex

// startServerIn starts a child server whose database connections come from namespace ns ("" for none).
func startServerIn(cfg chatd.Config, ns string) (*child, error) {
	childEnvMu.Lock()
	defer childEnvMu.Unlock()
	if ns == "" {
		os.Unsetenv(netnsEnv)
	} else {
		os.Setenv(netnsEnv, ns)
		defer os.Unsetenv(netnsEnv)
	}
	return startServer(cfg)
}

// benchCrossNodeGalera measures cross-node latency on one MariaDB server and on a three-node Galera
// cluster in the same run, over the same kind of path: every server in a namespace of its own on one
// switch, node-a connecting from db1's namespace and node-b from db2's (the single server's clients too).
// The single server keeps the lab's innodb_flush_log_at_trx_commit=1; the Galera nodes run with 2.
func benchCrossNodeGalera(rate float64, senders int, d time.Duration, nudge bool, poll time.Duration) error {
	if reason := mariadbtest.GaleraSkipReason(); reason != "" {
		return fmt.Errorf("crossnode -db galera: %s", reason)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := mariadbtest.StartCluster(ctx, mariadbtest.ClusterOptions{Database: "bench"})
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := c.Lab().Host("single")
	if err != nil {
		return err
	}
	addr := netip.MustParsePrefix("198.18.6.9/24")
	if _, err := c.Lab().Link(h, c.Switch(), "eth0", addr); err != nil {
		return err
	}
	srv, err := mariadbtest.Launch(ctx, mariadbtest.Options{Addr: addr.Addr().String() + ":3306",
		Command: []string{"ip", "netns", "exec", h.Namespace()}, Database: "bench",
		ExtraArgs: []string{"--innodb-buffer-pool-size=32M", "--max-connections=1000"}})
	if err != nil {
		return err
	}
	defer srv.Stop()
	nsA, nsB := c.Nodes[0].Host.Namespace(), c.Nodes[1].Host.Namespace()
	single := func(ns string) string {
		return fmt.Sprintf("chatd:chatd-pass@%s(%s)/bench", mariadbtest.DialNetNamed(ns), srv.Addr)
	}
	if err := crossNode("two nodes on one MariaDB (namespace, flush=1)", single(nsA), nsA, single(nsB), nsB,
		rate, senders, d, nudge, poll); err != nil {
		return err
	}
	mariadbtest.DialNetNamed(nsA)
	mariadbtest.DialNetNamed(nsB)
	return crossNode("two nodes on a three-node Galera cluster (flush=2)",
		"galera://"+c.ClientDSN(c.Nodes[0].Host, "bench"), nsA, "galera://"+c.ClientDSN(c.Nodes[1].Host, "bench"), nsB,
		rate, senders, d, nudge, poll)
}
