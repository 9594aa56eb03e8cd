package store

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// TestGaleraDSNNodeList checks the galera:// DSN form (chatd(8), GALERA): every node in the address
// part, ports defaulting to 3306, the rest of the DSN kept for each node, and the go-sql-driver parser
// never given the list (it would bracket it as one IPv6-looking host).
func TestGaleraDSNNodeList(t *testing.T) {
	for _, c := range []struct {
		dsn   string
		addrs []string
		user  string
		pass  string
		db    string
	}{
		{"chatd:pw@tcp(198.18.2.31:3306,198.18.2.32:3306,198.18.2.33:3306)/chat", []string{"198.18.2.31:3306", "198.18.2.32:3306", "198.18.2.33:3306"}, "chatd", "pw", "chat"},
		{"u:p@w@tcp(db1, db2:3307 ,db3)/x?galera_wait=1s", []string{"db1:3306", "db2:3307", "db3:3306"}, "u", "p@w", "x"},
		{"u@netns-a(10.0.0.1:3306)/y", []string{"10.0.0.1:3306"}, "u", "", "y"},
	} {
		cfg, addrs, err := parseGaleraDSN(c.dsn)
		if err != nil {
			t.Errorf("%q: %v", c.dsn, err)
			continue
		}
		if !slices.Equal(addrs, c.addrs) || cfg.User != c.user || cfg.Passwd != c.pass || cfg.DBName != c.db {
			t.Errorf("%q: addrs %q user %q pass %q db %q", c.dsn, addrs, cfg.User, cfg.Passwd, cfg.DBName)
		}
	}
	for _, bad := range []string{"u:p@tcp()/db", "u:p@tcp(a,b)", "u:p@a,b/db"} {
		if _, _, err := parseGaleraDSN(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestGaleraRetryClassification checks which failures runTx runs again (doc.go, "Galera": retries):
// certification failures and a node leaving the primary component always; a lost connection before
// COMMIT; at COMMIT the outcome is unknown; and the store's own answers never.
func TestGaleraRetryClassification(t *testing.T) {
	myErr := func(n uint16) error { return &mysql.MySQLError{Number: n} }
	atCommit := func(err error) error { return &commitError{err} }
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"certification failure", myErr(1213), txRetry},
		{"certification failure at commit", atCommit(myErr(1213)), txRetry},
		{"lock wait timeout", fmt.Errorf("x: %w", myErr(1205)), txRetry},
		{"non-Primary node", myErr(1047), txRetry},
		{"non-Primary at commit", atCommit(myErr(1047)), txUnknown},
		{"error during commit", atCommit(myErr(1180)), txUnknown},
		{"connection reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, txRetry},
		{"invalid connection at commit", atCommit(mysql.ErrInvalidConn), txUnknown},
		{"EOF at commit", atCommit(io.ErrUnexpectedEOF), txUnknown},
		{"duplicate key", myErr(1062), txFatal},
		{"nick in use, from a change", &changeError{err: fmt.Errorf("claim: %w", ErrNickInUse)}, txFatal},
		{"not found", fmt.Errorf("part: %w", ErrNotFound), txFatal},
		{"no writer", fmt.Errorf("%w: none", ErrNoWriter), txFatal},
		{"caller gave up", context.Canceled, txFatal},
	} {
		if got := classify(c.err); got != c.want {
			t.Errorf("%s: classify = %d, want %d", c.name, got, c.want)
		}
	}
}
