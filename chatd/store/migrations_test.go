package store

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func versions(t *testing.T, s *sqlStore) []int {
	t.Helper()
	rows, err := s.r.QueryContext(testCtx(t), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func TestMigrations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dsn := b.newDSN(t)
		s, ctx := open(t, dsn), testCtx(t)
		var all []int
		for _, m := range migrations {
			all = append(all, m.version)
		}
		if d := cmp.Diff(all, versions(t, s)); d != "" {
			t.Fatalf("versions after first Open (-want +got):\n%s", d)
		}

		// Reopening applies nothing and fails nothing.
		s2 := open(t, dsn)
		if d := cmp.Diff(all, versions(t, s2)); d != "" {
			t.Errorf("versions after reopen (-want +got):\n%s", d)
		}

		// A new version is applied once, after the existing ones, and is recorded.
		next := latestVersion() + 1
		extra := append(append([]migration{}, migrations...), migration{next, []string{
			`CREATE TABLE IF NOT EXISTS extra (k VARCHAR(16) NOT NULL PRIMARY KEY) {{table}}`,
			`{{insert_ignore}} INTO extra (k) VALUES ('seed')`,
		}})
		for i := 0; i < 2; i++ {
			if err := migrate(ctx, s.w, s.d, extra); err != nil {
				t.Fatalf("migrate with version %d (run %d): %v", next, i, err)
			}
		}
		if d := cmp.Diff(append(all, next), versions(t, s)); d != "" {
			t.Errorf("versions after upgrade (-want +got):\n%s", d)
		}
		var n int
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM extra`).Scan(&n); err != nil || n != 1 {
			t.Errorf("extra has %d rows, %v", n, err)
		}

		// Every statement is idempotent: re-running a whole version (as after a crash between its DDL and
		// its version row on MySQL) succeeds.
		for _, m := range extra {
			conn, err := s.w.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := applyMigration(ctx, conn, s.d, m); err != nil {
				t.Errorf("re-applying version %d: %v", m.version, err)
			}
			conn.Close()
		}

		// This binary now is older than the database: it must refuse to open it.
		s.Close()
		s2.Close()
		ctx2, cancel := context.WithTimeout(context.Background(), 30e9)
		defer cancel()
		_, err := Open(ctx2, dsn)
		if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
			t.Errorf("Open of a newer schema: %v, want a refusal", err)
		}
	})
}

func TestOpenDSNForms(t *testing.T) {
	for _, dsn := range []string{"", "sqlite::memory:"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30e9)
		s, err := Open(ctx, dsn)
		cancel()
		if err != nil {
			t.Errorf("Open(%q): %v", dsn, err)
			continue
		}
		s.Close()
	}
	if _, err := Open(context.Background(), "mysql://not a dsn"); err == nil {
		t.Error("Open accepted a malformed MySQL DSN")
	}
}
