package store

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func cached(s *sqlStore, db *sql.DB, q string) bool {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	return s.stmts.m[stmtKey{db, q}] != nil
}

// TestStmtCache: a statement used outside a transaction is prepared at once; one first used inside a
// transaction on SQLite's single writer connection runs unprepared without deadlocking and is prepared
// once the connection is free; the cache stays bounded; results are the same either way.
func TestStmtCache(t *testing.T) {
	for _, dsn := range []string{"sqlite::memory:", "sqlite:" + filepath.Join(t.TempDir(), "c.db")} {
		t.Run(dsn, func(t *testing.T) {
			s, ctx := open(t, dsn), testCtx(t)
			const q = `SELECT ? + 1`
			for i := 0; i < 2; i++ {
				var n int
				if err := s.prepW().QueryRowContext(ctx, q, 41).Scan(&n); err != nil || n != 42 {
					t.Fatalf("run %d: %d, %v", i, n, err)
				}
			}
			if !cached(s, s.w, q) {
				t.Errorf("%q not prepared after use outside a transaction", q)
			}

			const qtx = `SELECT ? + 2`
			err := s.inTx(ctx, func(tx *sql.Tx) error {
				var n int
				if err := s.prepTx(tx).QueryRowContext(ctx, qtx, 40).Scan(&n); err != nil || n != 42 {
					return fmt.Errorf("in tx: %d, %v", n, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for !cached(s, s.w, qtx) {
				if time.Now().After(deadline) {
					t.Fatalf("%q was never prepared after its transaction", qtx)
				}
				time.Sleep(time.Millisecond)
			}
			err = s.inTx(ctx, func(tx *sql.Tx) error {
				var n int
				if err := s.prepTx(tx).QueryRowContext(ctx, qtx, 40).Scan(&n); err != nil || n != 42 {
					return fmt.Errorf("in tx, prepared: %d, %v", n, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}

			for i := 0; i < 2*maxStmts; i++ {
				var n int
				if err := s.prepR().QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(&n); err != nil || n != i {
					t.Fatalf("SELECT %d: %d, %v", i, n, err)
				}
			}
			s.stmts.mu.Lock()
			size := len(s.stmts.m)
			s.stmts.mu.Unlock()
			if size > maxStmts {
				t.Errorf("cache holds %d statements, bound is %d", size, maxStmts)
			}
		})
	}
}
