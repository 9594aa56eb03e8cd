package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hachat/hachat/chatload"
)

// The path comparison (-compare-paths) asks why the VIP is slower than one
// server at the same load (issue #17). It runs one Table 1 point against
// three setups, interleaved within each repetition (the order rotates) so
// that the shared machine's drift hits all three alike:
//
//   - direct: every session on app1, the balancer unused (Table 1's
//     "without load balancing");
//   - split: sessions alternate between app1 and app2, dialled directly:
//     two nodes, no balancer;
//   - vip: through the VIP, the balancer spreading them (Table 1's "with").
//
// direct → split is the cost of a second node (appends from two nodes
// contending for the log's counter, nudges, both nodes applying both
// nodes' events); split → vip is the cost of the balancer path. For each
// run it records the reply times by request kind, and the CPU time each
// daemon used (utime+stime from /proc/<pid>/stat) and chatd's append and
// nudge counters, so the difference can be put where it is spent.

// pathSetups are the compared setups, in their first order.
var pathSetups = []struct{ name, desc string }{
	{"direct", "app1 directly"},
	{"split", "app1 and app2 alternately, directly (two nodes, no balancer)"},
	{"vip", "the VIP (two nodes behind the balancer)"},
}

func (t *Topology) pathServers(setup string) []string {
	switch setup {
	case "split":
		return []string{app1Chat, app2Chat}
	case "vip":
		return []string{vipChat}
	}
	return []string{app1Chat}
}

// PathRun is one storm of the comparison.
type PathRun struct {
	Setup   string           `json:"setup"`
	Rep     int              `json:"rep"`
	Figures chatload.Figures `json:"figures"`
	// Average reply times (ms) by kind, and TCP connect time.
	ConnectMs, RegisterMs, JoinMs, MessageMs float64
	// CPU seconds per process during the storm, and per 1000 sessions.
	CPU map[string]float64 `json:"cpu_s"`
	// chatd counters during the storm, summed over both nodes.
	Appends, AppendMsSum, Nudges float64
	// MariaDB's global status counters during the storm.
	DB map[string]float64 `json:"db"`
	// LockWaits counts, per table and index, the lock requests found
	// waiting in samples every 250 ms (information_schema.INNODB_LOCK_WAITS).
	LockWaits map[string]int `json:"lock_waits"`
	LoadAvg   string         `json:"loadavg"`
}

// ComparePaths runs the comparison and writes compare.md and compare.json
// into dir.
func ComparePaths(ctx context.Context, t *Topology, pt chatload.LoadPoint, reps int, pause time.Duration, dir string, progress func(string)) ([]PathRun, error) {
	if t.DB == nil {
		return nil, fmt.Errorf("-compare-paths reads the single database server's counters: run it with -db %s", dbMariaDB)
	}
	var runs []PathRun
	for rep := range reps {
		for i := range pathSetups {
			setup := pathSetups[(i+rep)%len(pathSetups)].name
			if err := sleepCtx(ctx, pause); err != nil {
				return runs, err
			}
			cfg := t.storm(app1Chat)
			cfg.Servers = t.pathServers(setup)
			cfg.Conns, cfg.Rate = pt.Conns, pt.Rate
			cpu0 := t.processCPU()
			m0 := t.chatdCounters(ctx)
			d0 := t.dbStatus(ctx)
			waits := t.sampleLockWaits(ctx, time.Duration(float64(pt.Conns)/pt.Rate*float64(time.Second))+10*time.Second)
			r, err := chatload.RunStorm(ctx, cfg)
			lockWaits := waits()
			if err != nil {
				return runs, fmt.Errorf("compare %s: %w", setup, err)
			}
			cpu1 := t.processCPU()
			m1 := t.chatdCounters(ctx)
			d1 := t.dbStatus(ctx)
			pr := PathRun{Setup: setup, Rep: rep, Figures: chatload.FiguresOf(r),
				ConnectMs: r.ConnectTime.Avg, RegisterMs: r.Reply.Register.Avg, JoinMs: r.Reply.Join.Avg, MessageMs: r.Reply.Message.Avg,
				CPU: map[string]float64{}, LoadAvg: loadAvg(),
				Appends: m1["chatd_append_seconds_count"] - m0["chatd_append_seconds_count"],
				Nudges:  m1["chatd_nudges_sent_total"] - m0["chatd_nudges_sent_total"]}
			pr.AppendMsSum = 1000 * (m1["chatd_append_seconds_sum"] - m0["chatd_append_seconds_sum"])
			pr.LockWaits = lockWaits
			pr.DB = map[string]float64{}
			for k, v := range d1 {
				pr.DB[k] = v - d0[k]
			}
			for k, v := range cpu1 {
				pr.CPU[k] = v - cpu0[k]
			}
			runs = append(runs, pr)
			progress(fmt.Sprintf("compare %-6s rep %d/%d: response %.2f ms (connect %.2f, register %.2f, join %.2f, message %.2f), %d errors, CPU s: %s",
				setup, rep+1, reps, pr.Figures.ResponseMs, pr.ConnectMs, pr.RegisterMs, pr.JoinMs, pr.MessageMs, r.Errors.Total, fmtCPU(pr.CPU)))
		}
	}
	f, err := os.Create(filepath.Join(dir, "compare.md"))
	if err != nil {
		return runs, err
	}
	defer f.Close()
	writeCompare(f, pt, runs)
	return runs, chatload.WriteFile(filepath.Join(dir, "compare.json"), func(w io.Writer) error { return chatload.WriteJSON(w, runs) })
}

var cpuProcs = []string{"app1", "app2", "db", "lb1", "client"}

func fmtCPU(m map[string]float64) string {
	var p []string
	for _, k := range cpuProcs {
		p = append(p, fmt.Sprintf("%s %.2f", k, m[k]))
	}
	return strings.Join(p, ", ")
}

// processCPU reads the CPU seconds each daemon (and this process, the
// client) has used so far.
func (t *Topology) processCPU() map[string]float64 {
	pids := map[string]int{"client": os.Getpid()}
	for _, a := range []string{"app1", "app2"} {
		if p := t.chatd[a]; p != nil {
			pids[a] = p.PID()
		}
	}
	if p := t.vrrpd["lb1"]; p != nil {
		pids["lb1"] = p.PID()
	}
	if t.DB != nil {
		pids["db"] = t.DB.PID
	}
	out := map[string]float64{}
	for k, pid := range pids {
		if s, err := procCPU(pid); err == nil {
			out[k] = s
		}
	}
	return out
}

// procCPU is utime+stime of pid, all threads, in seconds.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: fields count from after its ')'.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b)[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100, nil // USER_HZ is 100 on Linux
}

// chatdCounters sums a few of both nodes' unlabelled metrics.
func (t *Topology) chatdCounters(ctx context.Context) map[string]float64 {
	dial := nsDial(t.Client())
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) { return dial(ctx, nil, addr) },
	}}
	want := []string{"chatd_append_seconds_count", "chatd_append_seconds_sum", "chatd_nudges_sent_total"}
	out := map[string]float64{}
	for _, a := range []string{"app1", "app2"} {
		ip := strings.TrimSuffix(hostAddrs[a][0], "/24")
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+net.JoinHostPort(ip, httpPort)+"/metrics", nil)
		resp, err := hc.Do(req)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			name, val, ok := strings.Cut(sc.Text(), " ")
			if ok && slices.Contains(want, name) {
				v, _ := strconv.ParseFloat(val, 64)
				out[name] += v
			}
		}
		resp.Body.Close()
	}
	return out
}

// dbStatus reads MariaDB's row-lock and commit counters (with the mariadb
// client, in the db namespace).
func (t *Topology) dbStatus(ctx context.Context) map[string]float64 {
	out := map[string]float64{}
	if t.DB == nil {
		return out
	}
	s, err := t.Hosts["db"].Run(ctx, "mariadb", "--batch", "--skip-column-names", "-h", strings.Split(dbAddr, ":")[0],
		"-u", t.DB.User, "-p"+t.DB.Password, "-e",
		"SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_row_lock_waits','Innodb_row_lock_time','Handler_commit')")
	if err != nil {
		return out
	}
	for _, l := range strings.Split(s, "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			out[f[0]], _ = strconv.ParseFloat(f[1], 64)
		}
	}
	return out
}

// lockWaitQuery lists the waiting lock requests by table and index.
const lockWaitQuery = "SELECT l.lock_table, l.lock_index, COUNT(*) FROM information_schema.INNODB_LOCK_WAITS w " +
	"JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.requested_lock_id GROUP BY 1, 2;\n"

// sampleLockWaits runs one mariadb client in the db namespace that samples
// the waiting lock requests every 250 ms for up to d; the returned function
// stops it and sums the samples by table and index.
func (t *Topology) sampleLockWaits(ctx context.Context, d time.Duration) func() map[string]int {
	out := map[string]int{}
	if t.DB == nil {
		return func() map[string]int { return out }
	}
	ctx, cancel := context.WithCancel(ctx)
	var script strings.Builder
	for range int(d / (250 * time.Millisecond)) {
		script.WriteString(lockWaitQuery + "DO SLEEP(0.25);\n")
	}
	cmd := t.Hosts["db"].Command(ctx, "mariadb", "--batch", "--unbuffered", "--skip-column-names", "-h", strings.Split(dbAddr, ":")[0],
		"-u", t.DB.User, "-p"+t.DB.Password)
	cmd.Stdin = strings.NewReader(script.String())
	var buf, errBuf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &errBuf
	if err := cmd.Start(); err != nil {
		cancel()
		return func() map[string]int { return out }
	}
	return func() map[string]int {
		cancel()
		cmd.Wait()
		if e := strings.TrimSpace(errBuf.String()); e != "" {
			out["sampler error: "+strings.SplitN(e, "\n", 2)[0]] = 0
		}
		for _, l := range strings.Split(buf.String(), "\n") {
			if f := strings.Split(l, "\t"); len(f) == 3 {
				n, _ := strconv.Atoi(f[2])
				out[f[0]+" "+f[1]] += n
			}
		}
		return out
	}
}

// writeCompare renders the medians, with min-max, per setup.
func writeCompare(w io.Writer, pt chatload.LoadPoint, runs []PathRun) {
	f := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	f("# Direct, split and VIP at %d connections, %g/s\n\n", pt.Conns, pt.Rate)
	for _, s := range pathSetups {
		f("- **%s**: %s\n", s.name, s.desc)
	}
	f("\nMedian (min–max) over the repetitions, interleaved. Reply times in ms; CPU in seconds per 1000 sessions; " +
		"append = chatd's mean log append (commit) time; nudges per 1000 sessions, both nodes; " +
		"MariaDB's Handler_commit, Innodb_row_lock_waits and Innodb_row_lock_time (ms) per 1000 sessions.\n\n")
	cols := []struct {
		name string
		get  func(PathRun) float64
	}{
		{"response", func(r PathRun) float64 { return r.Figures.ResponseMs }},
		{"p99", func(r PathRun) float64 { return r.Figures.ResponseP99Ms }},
		{"connect", func(r PathRun) float64 { return r.ConnectMs }},
		{"register", func(r PathRun) float64 { return r.RegisterMs }},
		{"join", func(r PathRun) float64 { return r.JoinMs }},
		{"message", func(r PathRun) float64 { return r.MessageMs }},
		{"append ms", func(r PathRun) float64 {
			if r.Appends == 0 {
				return 0
			}
			return r.AppendMsSum / r.Appends
		}},
		{"nudges/1k", func(r PathRun) float64 { return 1000 * r.Nudges / float64(pt.Conns) }},
		{"db commits/1k", func(r PathRun) float64 { return 1000 * r.DB["Handler_commit"] / float64(pt.Conns) }},
		{"row-lock waits/1k", func(r PathRun) float64 { return 1000 * r.DB["Innodb_row_lock_waits"] / float64(pt.Conns) }},
		{"row-lock ms/1k", func(r PathRun) float64 { return 1000 * r.DB["Innodb_row_lock_time"] / float64(pt.Conns) }},
	}
	for _, p := range cpuProcs {
		cols = append(cols, struct {
			name string
			get  func(PathRun) float64
		}{"CPU " + p, func(r PathRun) float64 { return 1000 * r.CPU[p] / float64(pt.Conns) }})
	}
	f("| setup |")
	for _, c := range cols {
		f(" %s |", c.name)
	}
	f("\n|---|")
	for range cols {
		f("---|")
	}
	f("\n")
	for _, s := range pathSetups {
		f("| %s |", s.name)
		for _, c := range cols {
			var xs []float64
			for _, r := range runs {
				if r.Setup == s.name {
					xs = append(xs, c.get(r))
				}
			}
			if len(xs) == 0 {
				f(" |")
				continue
			}
			slices.Sort(xs)
			f(" %.2f (%.2f–%.2f) |", median(xs), xs[0], xs[len(xs)-1])
		}
		f("\n")
	}
	f("\nWaiting lock requests seen in the 250 ms samples, summed over the repetitions, by table and index:\n\n")
	for _, s := range pathSetups {
		sum := map[string]int{}
		for _, r := range runs {
			if r.Setup == s.name {
				for k, v := range r.LockWaits {
					sum[k] += v
				}
			}
		}
		keys := slices.Sorted(maps.Keys(sum))
		slices.SortStableFunc(keys, func(a, b string) int { return sum[b] - sum[a] })
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, sum[k]))
		}
		f("- %s: %s\n", s.name, strings.Join(parts, ", "))
	}
	var la []string
	for _, r := range runs {
		la = append(la, r.LoadAvg)
	}
	f("\nLoad average after each run: %s\n", strings.Join(la, "; "))
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
