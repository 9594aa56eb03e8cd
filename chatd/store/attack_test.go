package store

import (
	"database/sql"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestTailHasItsOwnConnections: with every History connection busy (here
// pinned by open result sets, as a storm of CHATHISTORY holds them), Tail
// still runs. Before, Tail shared the read pool and waited behind them until
// its context expired.
func TestTailHasItsOwnConnections(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, ctx := open(t, b.newDSN(t)), testCtx(t)
			if err := s.Append(ctx, ev("n1", "m1", 1, KindPrivmsg, "a!u@h", "#c", "hi")); err != nil {
				t.Fatal(err)
			}
			if s.t == s.r {
				t.Fatal("Tail shares the History pool")
			}
			var pinned []*sql.Rows
			for i := 0; i < s.r.Stats().MaxOpenConnections; i++ {
				rows, err := s.r.QueryContext(ctx, `SELECT seq FROM events`)
				if err != nil {
					t.Fatal(err)
				}
				pinned = append(pinned, rows)
			}
			defer func() {
				for _, r := range pinned {
					r.Close()
				}
			}()
			if got := s.r.Stats().InUse; got != s.r.Stats().MaxOpenConnections {
				t.Fatalf("read pool: %d of %d connections in use, want all", got, s.r.Stats().MaxOpenConnections)
			}
			evs, _, err := s.Tail(ctx, 0, 10)
			if err != nil || len(evs) != 1 {
				t.Fatalf("Tail with the read pool exhausted: %d events, %v", len(evs), err)
			}
			if _, err := s.Head(ctx); err != nil {
				t.Fatalf("Head with the read pool exhausted: %v", err)
			}
		})
	}
}

// TestDatabaseFilesPrivate: the SQLite database and its -wal and -shm
// (password hashes inside) are created 0600 whatever the umask, and an
// existing file readable by others is made private.
func TestDatabaseFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "chatd.db")
	s := open(t, "sqlite:"+path)
	ctx := testCtx(t)
	if err := s.CreateAccount(ctx, "alice", "$argon2id$fake"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(p), perm)
		}
	}
	s.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	open(t, "sqlite:"+path)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("reopened 0644 database: mode %v (%v), want 600", fi.Mode().Perm(), err)
	}

}
