package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/internal/mariadbtest"
)

// mdb is the MariaDB server shared by the package's tests (nil when it cannot run here: see mdbSkip).
var (
	mdb     *mariadbtest.Server
	mdbSkip string
)

func TestMain(m *testing.M) {
	mdbSkip = mariadbtest.SkipReason()
	if mdbSkip == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		// Extra mariadbd flags for experiments, e.g. "--innodb-flush-log-at-trx-commit=2" to see how
		// much of the commit time is the log flush.
		s, err := mariadbtest.Launch(ctx, mariadbtest.Options{ExtraArgs: strings.Fields(os.Getenv("STORE_TEST_MARIADB_ARGS"))})
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, "store tests: cannot start MariaDB:", err)
			os.Exit(1)
		}
		mdb = s
	}
	code := m.Run()
	if mdb != nil {
		if err := mdb.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "store tests:", err)
		}
	}
	os.Exit(code)
}

// backend names a database the shared test suite runs against.
type backend struct {
	name string
	// newDSN returns the DSN of a new, empty database; several Opens of it share the data.
	newDSN func(t testing.TB) string
}

var backends = []backend{
	{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "chatd.db") }},
	{"mariadb", func(t testing.TB) string {
		if mdb == nil {
			t.Skip(mdbSkip)
		}
		return "mysql://" + mdb.DSN(mdb.NewDatabase(t))
	}},
}

// forEachBackend runs f as a subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// open opens dsn and closes the store on cleanup.
func open(t testing.TB, dsn string) *sqlStore {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s.(*sqlStore)
}

// testCtx is a context bounded so a hung database fails the test instead of hanging it.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
