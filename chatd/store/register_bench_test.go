package store

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRegister is what a chatd node asks of the store for one client registration: claim the nick
// and commit the NICK event in one group-committed transaction (Commit), and the tailer's read of it
// (Tail). Run with
//
//	go test -run '^$' -bench Register -cpuprofile /tmp/reg.prof ./chatd/store/
//
// "memory" is the in-memory SQLite database cmd/chatbench -mode clients uses, "file" a WAL file database.
func BenchmarkRegister(b *testing.B) {
	dsns := []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite-memory", func(*testing.B) string { return "sqlite::memory:" }},
		{"sqlite-file", func(b *testing.B) string { return "sqlite:" + filepath.Join(b.TempDir(), "reg.db") }},
		{"mariadb", func(b *testing.B) string {
			if mdb == nil {
				b.Skip(mdbSkip)
			}
			return "mysql://" + mdb.DSN(mdb.NewDatabase(b))
		}},
	}
	for _, d := range dsns {
		for _, par := range []int{1, 8} {
			for _, prepared := range []bool{true, false} {
				name := fmt.Sprintf("%s/parallel%d/prepared=%v", d.name, par*runtime.GOMAXPROCS(0), prepared)
				b.Run(name, func(b *testing.B) { benchRegister(b, open(b, d.dsn(b)), par, prepared) })
			}
		}
	}
}

// benchRegister runs registrations on s; prepared false turns the statement cache off (stmtcache.go),
// and true turns it on even for a dialect that does not use it by default.
func benchRegister(b *testing.B, s *sqlStore, par int, prepared bool) {
	d := *s.d
	d.prepare = prepared
	s.d = &d
	ctx := testCtx(b)
	if err := s.Heartbeat(ctx, "n0"); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	b0, n0 := s.batches.Load(), s.batched.Load()
	b.SetParallelism(par)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			id, nick := fmt.Sprintf("sid-%d", n), fmt.Sprintf("nick%d", n)
			ss := Session{ID: id, Node: "n0", Nick: nick, User: "~u", Host: "198.18.0.1",
				Realname: "Real Name", Since: time.Now()}
			ev := &Event{MsgID: "m-" + id, Time: time.Now(), Node: "n0", Kind: KindNick,
				Sender: nick + "!~u@198.18.0.1", Text: nick, Params: []string{"register", id, "Real Name", ""}}
			if err := s.Commit(ctx, ev, func(tx Tx) error { return tx.ClaimNick(ss) }); err != nil {
				b.Error(err)
				return
			}
			if _, _, err := s.Tail(ctx, Cursor(ev.Seq-1), 100); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "regs/s")
	if nb := s.batches.Load() - b0; nb > 0 {
		b.ReportMetric(float64(s.batched.Load()-n0)/float64(nb), "regs/tx")
	}
}

// BenchmarkLoneCommitCPU is the process CPU (user+system, getrusage) of one registration's commit and
// of one QUIT's, each committed alone as in a slow storm, on a SQLite file. CPU time moves less with
// the machine's load than wall time does. The tailer's read is served from recent commits (recent.go).
//
//	go test -run '^$' -bench LoneCommitCPU -benchtime 3000x ./chatd/store/
func BenchmarkLoneCommitCPU(b *testing.B) {
	s := open(b, "sqlite:"+filepath.Join(b.TempDir(), "cpu.db"))
	ctx := testCtx(b)
	if err := s.Heartbeat(ctx, "n0"); err != nil {
		b.Fatal(err)
	}
	var round atomic.Int64
	session := func(k int64) (Session, *Event) {
		id, nick := fmt.Sprintf("sid-%d", k), fmt.Sprintf("nick%d", k)
		return Session{ID: id, Node: "n0", Nick: nick, User: "~u", Host: "198.18.0.1", Realname: "Real Name", Since: time.Now()},
			&Event{MsgID: "m-" + id, Time: time.Now(), Node: "n0", Kind: KindNick,
				Sender: nick + "!~u@198.18.0.1", Text: nick, Params: []string{"register", id, "Real Name", ""}}
	}
	b.Run("register+quit", func(b *testing.B) {
		base := round.Add(1) << 32
		cpu0 := processCPU()
		for i := range b.N {
			ss, ev := session(base + int64(i))
			if err := s.Commit(ctx, ev, func(tx Tx) error { return tx.ClaimNick(ss) }); err != nil {
				b.Fatal(err)
			}
			quit := &Event{MsgID: "q-" + ss.ID, Time: time.Now(), Node: "n0", Kind: KindQuit, Sender: ev.Sender, Text: "bye", Params: []string{ss.ID, "Real Name"}}
			if err := s.Commit(ctx, quit, func(tx Tx) error { return tx.ReleaseSession(ss.ID) }); err != nil {
				b.Fatal(err)
			}
			if _, _, err := s.Tail(ctx, Cursor(ev.Seq-1), 100); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/conn")
	})
}

// processCPU is this process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
