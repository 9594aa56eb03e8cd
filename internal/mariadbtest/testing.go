package mariadbtest

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hachat/hachat/test/netns"
)

// Start launches a server for the test and stops it on cleanup. It skips the test, with the reason,
// when not running as root or when MariaDB is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	if reason := SkipReason(); reason != "" {
		t.Skip(reason)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Launch(ctx, Options{Dir: t.TempDir(), Database: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// SkipReason returns why a MariaDB server cannot be started here, or "" if it can.
func SkipReason() string {
	if os.Geteuid() != 0 {
		return "mariadbtest: needs root (mariadbd runs as --user=root with a throwaway datadir)"
	}
	if err := Binaries(); err != nil {
		return "mariadbtest: " + err.Error()
	}
	return ""
}

var dbCounter atomic.Int64

// NewDatabase creates a fresh, uniquely named database for the test, drops it on cleanup and returns
// its name (pass it to DSN).
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbCounter.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.CreateDatabase(ctx, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.stopped.Load() {
			return // the whole server went away with its databases
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.DropDatabase(ctx, name); err != nil {
			t.Error(err)
		}
	})
	return name
}

// GaleraSkipReason returns why a Galera cluster cannot be started here, or "" if it can.
func GaleraSkipReason() string {
	if r := SkipReason(); r != "" {
		return r
	}
	if err := GaleraBinaries(); err != nil {
		return "mariadbtest: galera: " + err.Error()
	}
	return ""
}

// StartClusterT starts a three-node Galera cluster (db1..db3) in a lab of the test's own and removes
// everything on cleanup. It skips the test, with the reason, when the cluster cannot run here (not
// root, -short, mariadb-server, galera-4, rsync or nftables missing).
func StartClusterT(t testing.TB, o ClusterOptions) *Cluster {
	t.Helper()
	if reason := GaleraSkipReason(); reason != "" {
		t.Skip(reason)
	}
	o.Lab = netns.NewT(t, "gal")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := StartCluster(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range c.Nodes {
				if s := n.Server(); s != nil {
					t.Logf("--- %s error log (tail)\n%s", n.Name, s.logTail())
				}
			}
		}
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}
