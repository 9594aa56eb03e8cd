package mariadbtest

import (
	"context"
	"database/sql"
	"errors"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

func TestStartConnectStop(t *testing.T) {
	s := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	db1, db2 := s.NewDatabase(t), s.NewDatabase(t)
	if db1 == db2 {
		t.Fatalf("NewDatabase returned %q twice", db1)
	}
	a, err := sql.Open("mysql", s.DSN(db1))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.ExecContext(ctx, "CREATE TABLE x (v VARCHAR(16))"); err != nil {
		t.Fatal(err)
	}
	// utf8mb4 end to end: --no-defaults would otherwise give latin1 tables.
	if _, err := a.ExecContext(ctx, "INSERT INTO x VALUES (?)", "rocket \U0001F680"); err != nil {
		t.Fatalf("insert utf8mb4: %v", err)
	}
	var v string
	if err := a.QueryRowContext(ctx, "SELECT v FROM x").Scan(&v); err != nil || v != "rocket \U0001F680" {
		t.Fatalf("read back %q, %v", v, err)
	}
	// Databases are isolated.
	b, err := sql.Open("mysql", s.DSN(db2))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.ExecContext(ctx, "SELECT * FROM x"); err == nil {
		t.Fatalf("table of %s visible in %s", db1, db2)
	}

	a.Close()
	b.Close()
	pid := s.PID
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	// The process is gone (it was our child and has been reaped, so the PID no longer exists).
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("mariadbd pid %d still exists after Stop: kill(0) = %v", pid, err)
	}
}

func TestLaunchFixedAddrAndCommandPrefix(t *testing.T) {
	if r := SkipReason(); r != "" {
		t.Skip(r)
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// "env" stands in for "ip netns exec NS": a prefix that execs the server in place.
	s, err := Launch(ctx, Options{Addr: addr, Command: []string{"env"}, User: "u1", Password: "p'w", Database: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if s.Addr != addr {
		t.Errorf("Addr = %s, want %s", s.Addr, addr)
	}
	db, err := sql.Open("mysql", s.DSN("d1"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var user string
	if err := db.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&user); err != nil {
		t.Fatal(err)
	}
	if user != "u1@%" {
		t.Errorf("CURRENT_USER() = %q, want u1@%%", user)
	}
}

// TestRestartKeepsData kills a server (as a crash would) and launches it again on the same Dir: the
// data committed before the crash is there.
func TestRestartKeepsData(t *testing.T) {
	if r := SkipReason(); r != "" {
		t.Skip(r)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Launch(ctx, Options{Dir: dir, Database: "keep"})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", s.DSN("keep"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"CREATE TABLE k (v INT) ENGINE=InnoDB", "INSERT INTO k VALUES (42)"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s.Kill()

	s2, err := Launch(ctx, Options{Dir: dir, Database: "keep"})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Stop()
	db, err = sql.Open("mysql", s2.DSN("keep"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRowContext(ctx, "SELECT v FROM k").Scan(&v); err != nil || v != 42 {
		t.Fatalf("after crash and restart: v = %d, %v; want 42", v, err)
	}
}
