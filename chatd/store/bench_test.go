package store

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// Commit-rate benchmarks: each iteration is one Append (one committed transaction). Run with
//
//	go test -run '^$' -bench Append ./chatd/store/
//
// msgs/s is b.N over the wall time; "parallelN" runs N appenders on one handle, "3nodes" spreads
// 16*GOMAXPROCS appenders over three handles as three chatd nodes would; msgs/tx is the mean group-commit
// batch.

func BenchmarkAppendMariaDB(b *testing.B) {
	if mdb == nil {
		b.Skip(mdbSkip)
	}
	benchAppend(b, func(b *testing.B) string { return "mysql://" + mdb.DSN(mdb.NewDatabase(b)) })
}

func BenchmarkAppendSQLite(b *testing.B) {
	benchAppend(b, func(b *testing.B) string { return "sqlite:" + filepath.Join(b.TempDir(), "bench.db") })
}

var benchSeq atomic.Int64

func benchEvent(node string) *Event {
	n := benchSeq.Add(1)
	return &Event{MsgID: fmt.Sprintf("b%d", n), Time: time.Now(), Node: node, Kind: KindPrivmsg,
		Sender: "bench!b@198.18.0.1", Target: fmt.Sprintf("#bench%d", n%8),
		Text: "the quick brown fox jumps over the lazy dog, a typical short chat line"}
}

// report adds msgs/s and the mean number of events per committed transaction.
func report(b *testing.B, hs ...*sqlStore) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	var tx, evs int64
	for _, h := range hs {
		tx += h.batches.Load()
		evs += h.batched.Load()
	}
	if tx > 0 {
		b.ReportMetric(float64(evs)/float64(tx), "msgs/tx")
	}
}

func benchAppend(b *testing.B, newDSN func(b *testing.B) string) {
	b.Run("sequential", func(b *testing.B) {
		s := open(b, newDSN(b))
		ctx := testCtx(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := s.Append(ctx, benchEvent("n0")); err != nil {
				b.Fatal(err)
			}
		}
		report(b, s)
	})
	for _, par := range []int{4, 32} {
		b.Run(fmt.Sprintf("parallel%d", par*runtime.GOMAXPROCS(0)), func(b *testing.B) {
			s := open(b, newDSN(b))
			ctx := testCtx(b)
			b.SetParallelism(par)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.Append(ctx, benchEvent("n0")); err != nil {
						b.Error(err)
						return
					}
				}
			})
			report(b, s)
		})
	}
	b.Run("3nodes", func(b *testing.B) {
		dsn := newDSN(b)
		hs := []*sqlStore{open(b, dsn), open(b, dsn), open(b, dsn)}
		ctx := testCtx(b)
		var next atomic.Int64
		b.SetParallelism(16)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			n := int(next.Add(1)) % len(hs)
			node := fmt.Sprint("n", n)
			for pb.Next() {
				if err := hs[n].Append(ctx, benchEvent(node)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		report(b, hs...)
	})
}

// BenchmarkBaselineAutoIncMariaDB is the yardstick for the log protocol: one transaction per message
// inserting into an AUTO_INCREMENT table, with no counter lock and no group commit (the design whose
// tail can skip rows, doc.go). Compare with BenchmarkAppendMariaDB.
func BenchmarkBaselineAutoIncMariaDB(b *testing.B) {
	if mdb == nil {
		b.Skip(mdbSkip)
	}
	for _, par := range []int{0, 32} {
		name := "sequential"
		if par > 0 {
			name = fmt.Sprintf("parallel%d", par*runtime.GOMAXPROCS(0))
		}
		b.Run(name, func(b *testing.B) {
			s := open(b, "mysql://"+mdb.DSN(mdb.NewDatabase(b)))
			ctx := testCtx(b)
			if _, err := s.w.ExecContext(ctx, `CREATE TABLE baseline (id BIGINT AUTO_INCREMENT PRIMARY KEY,
				msgid VARCHAR(64) NOT NULL, t BIGINT NOT NULL, target VARCHAR(255) NOT NULL, body BLOB NOT NULL,
				UNIQUE KEY (msgid), KEY (target, id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`); err != nil {
				b.Fatal(err)
			}
			insert := func() error {
				e := benchEvent("n0")
				tx, err := s.w.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO baseline (msgid, t, target, body) VALUES (?, ?, ?, ?)`,
					e.MsgID, ms(e.Time), e.Target, e.Text); err != nil {
					tx.Rollback()
					return err
				}
				return tx.Commit()
			}
			b.ResetTimer()
			if par == 0 {
				for i := 0; i < b.N; i++ {
					if err := insert(); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.SetParallelism(par)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := insert(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkTail measures one Tail call returning 100 events (what a node's tailer does per poll under
// load) and an empty one (an idle poll), on a log of 5,000 events.
func BenchmarkTail(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := open(b, be.newDSN(b))
			ctx := testCtx(b)
			const n = 5000
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				go func() { errs <- s.Append(ctx, benchEvent("n0")) }()
			}
			for i := 0; i < n; i++ {
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
			b.Run("batch100", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					evs, _, err := s.Tail(ctx, Cursor(i*100%(n-100)), 100)
					if err != nil || len(evs) != 100 {
						b.Fatalf("Tail: %d events, %v", len(evs), err)
					}
				}
				b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "events/s")
			})
			b.Run("idle", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if evs, _, err := s.Tail(ctx, n, 100); err != nil || len(evs) != 0 {
						b.Fatalf("Tail: %d events, %v", len(evs), err)
					}
				}
			})
		})
	}
}

// BenchmarkHistoryAfterTime measures CHATHISTORY AFTER <timestamp> LIMIT 100 on a channel of 20,000
// events (among 40,000), from a timestamp near the start and one near the end of its history: the query
// counts in Seq order and filters by time (rangeQuery), which must not scan the whole history.
func BenchmarkHistoryAfterTime(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := open(b, be.newDSN(b))
			ctx := testCtx(b)
			const n = 40000
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			errs := make(chan error, 256)
			for i := 0; i < n; i += 256 {
				for j := i; j < i+256; j++ {
					go func() {
						errs <- s.Append(ctx, &Event{MsgID: fmt.Sprintf("h%d", j), Time: t0.Add(time.Duration(j) * time.Second),
							Node: "n0", Kind: KindPrivmsg, Sender: "a!a@h", Target: fmt.Sprintf("#h%d", j%2), Text: "x"})
					}()
				}
				for j := 0; j < 256; j++ {
					if err := <-errs; err != nil {
						b.Fatal(err)
					}
				}
			}
			for _, at := range []struct {
				name string
				sec  int
			}{{"near-start", 100}, {"near-end", n - 300}} {
				b.Run(at.name, func(b *testing.B) {
					q := HistoryQuery{Target: "#h0", Mode: ModeAfter, Ref: Ref{Time: t0.Add(time.Duration(at.sec) * time.Second)}, Limit: 100}
					for i := 0; i < b.N; i++ {
						if evs, err := s.History(ctx, q); err != nil || len(evs) == 0 {
							b.Fatalf("History: %d events, %v", len(evs), err)
						}
					}
				})
			}
		})
	}
}
