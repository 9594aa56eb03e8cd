package mariadbtest

import (
	"context"
	"database/sql"
	"strconv"
	"testing"
	"time"
)

// TestGaleraBootstrapJoinPartition checks the harness against the Galera documentation's cluster
// lifecycle: a bootstrapped node and two joiners form one primary component of three; a write on one
// node is read on another; a node cut off by nftables drops to non-Primary while the other two stay
// Primary; healed, it rejoins (IST) and sees the write made meanwhile.
func TestGaleraBootstrapJoinPartition(t *testing.T) {
	c := StartClusterT(t, ClusterOptions{Database: "g"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.WaitSize(ctx, 3); err != nil {
		t.Fatal(err)
	}
	db1, err := sql.Open("mysql", c.Nodes[0].RootDSN("g"))
	if err != nil {
		t.Fatal(err)
	}
	defer db1.Close()
	for _, q := range []string{"CREATE TABLE k (v INT PRIMARY KEY) ENGINE=InnoDB", "INSERT INTO k VALUES (1)"} {
		if _, err := db1.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if n := causalCount(ctx, t, c.Nodes[2]); n != 1 {
		t.Fatalf("db3 reads %d rows, want 1", n)
	}

	db3 := c.Nodes[2]
	if err := db3.Partition(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db3.WaitStatus(ctx, "non-Primary", func(s Status) bool { return s.ClusterStatus != "Primary" }); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSize(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := db1.ExecContext(ctx, "INSERT INTO k VALUES (2)"); err != nil {
		t.Fatalf("majority refused a write: %v", err)
	}
	if err := db3.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSize(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if n := causalCount(ctx, t, db3); n != 2 {
		t.Fatalf("healed db3 has %d rows, want 2", n)
	}
}

// causalCount counts the rows of k on node n with a causal read (wsrep_sync_wait): applying on the
// other nodes lags commit, so a plain read may not see a write acknowledged elsewhere yet.
func causalCount(ctx context.Context, t *testing.T, n *Node) int {
	t.Helper()
	got, err := n.Query(ctx, "g", "SELECT COUNT(*) FROM k")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := strconv.Atoi(got[0])
	return v
}
