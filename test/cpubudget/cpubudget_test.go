package cpubudget

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestFindControllerReadsMountinfo: the cpu controller is the cgroup (v1)
// mount whose super options name "cpu" (not cpuacct, cpuset, nor cgroup2).
func TestFindControllerReadsMountinfo(t *testing.T) {
	for _, tc := range []struct {
		name, mountinfo, want string
		err                   error
	}{
		{"split controllers", `30 24 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
32 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 30 0:29 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`, "/sys/fs/cgroup/cpu", nil},
		{"joint cpu,cpuacct", `32 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct
`, "/sys/fs/cgroup/cpu,cpuacct", nil},
		{"cgroup2 only", `33 30 0:29 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`, "", ErrNoController},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FindController(strings.NewReader(tc.mountinfo))
			if got != tc.want || err != tc.err {
				t.Errorf("got %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func fakeRoot(t *testing.T) string {
	t.Helper()
	old := rmdir
	rmdir = os.RemoveAll
	t.Cleanup(func() { rmdir = old })
	return t.TempDir()
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBudgetWritesQuotaAndPeriod checks the files of sched-bwc.rst: the
// quota is cpus × period in µs, -1 for no limit, at least the kernel's
// 1 ms minimum; Move writes the PID to cgroup.procs; Close empties each
// group into the root and removes it.
func TestBudgetWritesQuotaAndPeriod(t *testing.T) {
	root := fakeRoot(t)
	s := New(root, "hachat", "lab-1-ab")
	for name, cpus := range map[string]float64{"app1": 0.4, "db": 0, "tiny": 0.001, "big": 2} {
		if err := s.Budget(name, cpus); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Budget("app1", 1); err == nil {
		t.Error("a second group app1 was accepted")
	}
	got := map[string][2]string{}
	for _, n := range []string{"app1", "db", "tiny", "big"} {
		got[n] = [2]string{read(t, filepath.Join(s.Dir(n), "cpu.cfs_quota_us")), read(t, filepath.Join(s.Dir(n), "cpu.cfs_period_us"))}
	}
	want := map[string][2]string{"app1": {"40000", "100000"}, "db": {"-1", "100000"}, "tiny": {"1000", "100000"}, "big": {"200000", "100000"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("quota, period (-want +got):\n%s", d)
	}
	if want := filepath.Join(root, "hachat-"+strconv.Itoa(os.Getpid())+"-lab-1-ab-app1"); s.Dir("app1") != want {
		t.Errorf("dir %s, want %s", s.Dir("app1"), want)
	}
	if err := s.Realtime("app1", 0.1); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(s.Dir("app1"), "cpu.rt_runtime_us")); got != "100000" {
		t.Errorf("cpu.rt_runtime_us = %q, want 100000", got)
	}
	if err := s.Move("app1", 4242); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(s.Dir("app1"), "cgroup.procs")); got != "4242" {
		t.Errorf("cgroup.procs = %q", got)
	}
	if err := s.Move("nope", 1); err == nil {
		t.Error("Move to a missing group succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(root, "cgroup.procs")); got != "4242" {
		t.Errorf("root cgroup.procs after Close = %q, want the moved PID back", got)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 1 {
		t.Errorf("after Close the root holds %v, want only cgroup.procs", ents)
	}
}

// TestParseStat reads cpu.stat's counters.
func TestParseStat(t *testing.T) {
	got, err := parseStat("nr_periods 120\nnr_throttled 37\nthrottled_time 2500000000\nnr_bursts 0\nburst_time 0\n")
	want := Stat{Periods: 120, Throttled: 37, ThrottledTime: 2500 * time.Millisecond}
	if err != nil || got != want {
		t.Errorf("got %+v, %v; want %+v", got, err, want)
	}
	if _, err := parseStat("nr_periods x\n"); err == nil {
		t.Error("a bad number was accepted")
	}
}

// TestSweepRemovesOnlyDeadRuns: groups of a dead PID go, groups of a
// running process and unrelated directories stay.
func TestSweepRemovesOnlyDeadRuns(t *testing.T) {
	root := fakeRoot(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadName := "hachat-" + strconv.Itoa(dead.Process.Pid) + "-lab-x-app1"
	for _, d := range []string{deadName, "hachat-1-lab-y-app1", "other-7-app1"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Sweep(root, "hachat")
	if err != nil || len(got) != 1 || got[0] != deadName {
		t.Errorf("Sweep = %v, %v; want [%s]", got, err, deadName)
	}
	for _, d := range []string{"hachat-1-lab-y-app1", "other-7-app1"} {
		if _, err := os.Stat(filepath.Join(root, d)); err != nil {
			t.Errorf("%s removed: %v", d, err)
		}
	}
}

// TestQuotaThrottlesBusyLoop (root): a real group with a 0.05-CPU budget
// and a busy loop in it; the kernel reports throttled periods in cpu.stat.
// The check is the kernel's counter, not a timing.
func TestQuotaThrottlesBusyLoop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("cpubudget: skipped: needs root to create a cgroup")
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	root, err := FindController(f)
	f.Close()
	if err != nil {
		t.Skipf("cpubudget: skipped: %v", err)
	}
	s := New(root, "hachat-test", "busy")
	if err := s.Budget("busy", 0.05); err != nil {
		t.Fatal(err)
	}
	if err := s.Realtime("busy", 0.01); err != nil {
		t.Fatal(err)
	}
	dir := s.Dir("busy")
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("group %s left after Close", dir)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	busy := exec.CommandContext(ctx, "sh", "-c", "while :; do :; done")
	if err := busy.Start(); err != nil {
		t.Fatal(err)
	}
	defer busy.Wait()
	defer busy.Process.Kill()
	if err := s.Move("busy", busy.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(s.Dir("busy"), "cgroup.procs")); strings.TrimSpace(got) != strconv.Itoa(busy.Process.Pid) {
		t.Fatalf("cgroup.procs = %q, want the busy loop's PID %d", got, busy.Process.Pid)
	}
	for {
		st, err := s.Stat("busy")
		if err != nil {
			t.Fatal(err)
		}
		if st.Throttled > 0 {
			t.Logf("cpu.stat: %+v", st)
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the busy loop was never throttled: %+v", st)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
