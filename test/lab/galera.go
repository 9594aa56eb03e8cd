package main

// The database tier past the paper: three MariaDB Galera nodes (-db galera) instead of the paper's one
// MySQL server (-db mariadb), and a §3.2-style trial that kills the database writer.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/hachat/hachat/chatd/store"
	"github.com/hachat/hachat/internal/mariadbtest"
)

// Database tiers (-db).
const (
	dbMariaDB = "mariadb"
	dbGalera  = "galera"
)

// galeraNodes are the tier's nodes on the back subnet, in the writer preference order every chatd uses.
var galeraNodes = []struct {
	name string
	addr netip.Prefix
}{
	{"db1", netip.MustParsePrefix("198.18.2.31/24")},
	{"db2", netip.MustParsePrefix("198.18.2.32/24")},
	{"db3", netip.MustParsePrefix("198.18.2.33/24")},
}

// defaultDB is galera when galera-4 (and what the cluster needs) is installed, else the paper's setup.
func defaultDB() string {
	if mariadbtest.GaleraBinaries() == nil {
		return dbGalera
	}
	return dbMariaDB
}

// startGalera bootstraps the three-node cluster on the lab's switch.
func (t *Topology) startGalera(ctx context.Context) error {
	o := mariadbtest.ClusterOptions{Lab: t.Lab, Switch: t.Switch, Database: "chat",
		// Two chat servers with up to two connections per storm connection, as for the single server.
		ExtraArgs: []string{"--max-connections=1000"}}
	for _, n := range galeraNodes {
		o.Names = append(o.Names, n.name)
		o.Addrs = append(o.Addrs, n.addr)
	}
	fmt.Fprintf(t.log, "lab: MariaDB Galera cluster db1..db3 at %s .. %s (bootstrap db1, join db2 and db3 by SST)\n",
		galeraNodes[0].addr.Addr(), galeraNodes[2].addr.Addr())
	c, err := mariadbtest.StartCluster(ctx, o)
	if err != nil {
		return fmt.Errorf("galera: %w", err)
	}
	t.Galera = c
	if _, err := c.Nodes[0].Query(ctx, "", "CREATE DATABASE IF NOT EXISTS labprobe"); err != nil {
		return fmt.Errorf("galera: %w", err)
	}
	return nil
}

// dsn is what the chat servers get: the single server's, or every Galera node in preference order.
func (t *Topology) dsn() string {
	if t.Galera != nil {
		return "galera://" + t.Galera.TCPDSN("chat")
	}
	return t.DB.DSN("chat")
}

// failoverScenarios is scenarioOrder, plus the database trial before "both stopped" on a Galera tier.
func (t *Topology) failoverScenarios() []string {
	if t.Galera == nil {
		return scenarioOrder
	}
	var out []string
	for _, s := range scenarioOrder {
		if s == scenBothOff {
			out = append(out, scenDBWriterKilled)
		}
		out = append(out, s)
	}
	return out
}

const scenDBWriterKilled = "database writer killed"

// DBTrial is what the database trial measures beyond the balancer trials' figures.
type DBTrial struct {
	Killed string `json:"killed"` // the node killed with -9 (the writer)
	// WritesBackS is the time from the kill to the first append that commits, by a store probing
	// from app1 every 20 ms as chatd would (its own database, so the chat log is untouched); -1: never.
	WritesBackS float64 `json:"writes_back_s"`
	ProbeFails  int     `json:"probe_failures"`
	// MessageGapMs is the longest pause between live channel messages any client saw (chatload's
	// max gap): the outage for new messages.
	MessageGapMs float64 `json:"message_gap_ms"`
	Error        string  `json:"error,omitempty"`
}

func init() {
	scenarioSpecs[scenDBWriterKilled] = scenarioSpec{
		hook: func(t *Topology) error { return t.killDBWriter() }, before: "lb1", checkMissed: true,
		restore: func(ctx context.Context, t *Topology) error { return t.restoreDBWriter(ctx) },
	}
	hookText[scenDBWriterKilled] = "kill -9 of the Galera writer db1 (mariadbd), under load"
}

// killDBWriter kills db1, the node every chatd writes through, and starts measuring how long writes
// take to succeed again.
func (t *Topology) killDBWriter() error {
	n := t.Galera.Node("db1")
	if n.Server() == nil {
		return errors.New("db1 is not running")
	}
	tr := &DBTrial{Killed: "db1", WritesBackS: -1}
	t.dbTrial = tr
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	// Opened before the kill so the probe starts with db1 as its writer, like the chat servers.
	st, err := store.Open(ctx, "galera://"+t.Galera.ClientDSN(t.Hosts["app1"], "labprobe")+"?galera_probe=100ms&galera_wait=1s")
	if err != nil {
		cancel()
		return fmt.Errorf("write probe: %w", err)
	}
	// The premise of the trial: with the chat servers' DSN order, db1 is the writer.
	if gs, _ := store.GaleraStatsOf(st); gs.Writer != n.Addr {
		st.Close()
		cancel()
		return fmt.Errorf("the writer is %q, not db1 (%s): the trial would kill a reader", gs.Writer, n.Addr)
	}
	killed := time.Now()
	n.Kill()
	t.dbProbe.Add(1)
	go func() {
		defer t.dbProbe.Done()
		defer cancel()
		defer st.Close()
		for i := 0; ctx.Err() == nil; i++ {
			actx, acancel := context.WithTimeout(ctx, 10*time.Second)
			err := st.Append(actx, &store.Event{MsgID: fmt.Sprintf("probe-%d-%d", killed.UnixNano(), i), Kind: store.KindPrivmsg,
				Target: "#probe", Node: "lab", Sender: "lab!lab@lab", Time: time.Now().UTC()})
			acancel()
			if err == nil {
				tr.WritesBackS = time.Since(killed).Seconds()
				return
			}
			tr.ProbeFails++
			tr.Error = err.Error()
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return nil
}

// restoreDBWriter waits for the write probe, then starts db1 again (it rejoins by IST) so the next
// trial has three nodes and db1 as the writer.
func (t *Topology) restoreDBWriter(ctx context.Context) error {
	t.dbProbe.Wait()
	n := t.Galera.Node("db1")
	if err := n.Start(ctx); err != nil {
		return err
	}
	if err := t.budgetDB(); err != nil { // a new PID
		return err
	}
	return t.Galera.WaitSize(ctx, 3)
}

// noteDBTrial attaches the database figures to the trial's run.
func (t *Topology) noteDBTrial(r *ScenarioRun) {
	if r.Scenario != scenDBWriterKilled || t.dbTrial == nil {
		return
	}
	t.dbProbe.Wait()
	tr := t.dbTrial
	t.dbTrial = nil
	if r.Chat != nil {
		tr.MessageGapMs = r.Chat.MaxGap.Max
	}
	if tr.WritesBackS < 0 {
		r.Problems = append(r.Problems, "writes never succeeded again after the writer was killed: "+tr.Error)
	}
	r.DB = tr
}

// writeDBTrials is the report's section on the database trial.
func (r *Report) writeDBTrials(w io.Writer) {
	var runs []*ScenarioRun
	for _, s := range r.Failovers {
		if s.DB != nil {
			runs = append(runs, s)
		}
	}
	f := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	f("## Past the paper: the database tier\n\n")
	if r.DB != dbGalera {
		f("The database is one MariaDB server (-db %s), the paper's setup: it is the single point of failure, "+
			"and no database trial ran. Run with -db galera for the replicated tier.\n\n", r.DB)
		return
	}
	f("The chat servers write through a three-node MariaDB Galera cluster (db1..db3 on the back subnet, " +
		"synchronous replication, one writer at a time chosen by health checks on wsrep_local_state; see " +
		"chatd/store/doc.go). The trial \"database writer killed\" kills db1's mariadbd with -9 under the same " +
		"chat load as the balancer trials; the chat servers must move their writes to db2 without losing an " +
		"accepted message.\n\n")
	if len(runs) == 0 {
		f("Not run.\n\n")
		return
	}
	f("| trial | outage for new messages (longest pause between live messages) [s] | writes succeed again after [s] | sessions kept | messages accepted / missing |\n")
	f("|---|---:|---:|---:|---:|\n")
	for _, s := range runs {
		back := "never"
		if s.DB.WritesBackS >= 0 {
			back = fmt.Sprintf("%.2f", s.DB.WritesBackS)
		}
		f("| %s #%d | %.2f | %s | %d / %d | %d / %d |\n", s.Scenario, s.Rep, s.DB.MessageGapMs/1000, back,
			s.Kept, s.Sessions, s.Chat.Accepted, s.Chat.Missing)
	}
	f("\nThe write probe is a chatd store opened from app1 with the chat servers' DSN order, appending to a " +
		"database of its own every 20 ms from the kill on. Galera evicts the dead node after evs.suspect_timeout " +
		"(3 s in the lab); until then the survivors hold commits back, which is most of the outage.\n\n")
}

// galeraState keeps the database trial's bookkeeping on the Topology.
type galeraState struct {
	Galera  *mariadbtest.Cluster
	dbTrial *DBTrial
	dbProbe sync.WaitGroup
}

func dbKindOK(kind string) error {
	switch kind {
	case dbMariaDB:
		return nil
	case dbGalera:
		if err := mariadbtest.GaleraBinaries(); err != nil {
			return fmt.Errorf("-db galera: %w", err)
		}
		return nil
	}
	return fmt.Errorf("-db %q: want %s", kind, strings.Join([]string{dbGalera, dbMariaDB}, " or "))
}
