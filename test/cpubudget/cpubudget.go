// Package cpubudget gives groups of processes their own CPU budget with the
// cgroup v1 "cpu" controller's CFS bandwidth limits (the kernel's
// Documentation/scheduler/sched-bwc.rst): a group may run cpu.cfs_quota_us
// of CPU time in every cpu.cfs_period_us, so a budget of 0.4 is 40 ms of
// every 100 ms, on any mix of cores. The lab uses one group per machine, so
// that a chat server saturates at its own budget instead of at the whole
// shared box.
//
// A group is a directory under the controller's mount, named
// "<prefix>-<pid>-<rest>"; a process joins it when its PID is written to
// cgroup.procs (all its threads move, and its children are born inside).
// Close moves what is left back to the controller's root and removes the
// directories; Sweep removes the groups of dead runs.
package cpubudget

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultPeriod is the CFS period: the kernel's default, 100 ms. A budget
// is enforced over each period, so a shorter one throttles in finer slices.
const DefaultPeriod = 100 * time.Millisecond

// ErrNoController means there is no cgroup v1 cpu controller mounted.
var ErrNoController = errors.New("cpubudget: no cgroup v1 cpu controller mounted (want a cgroup mount with option cpu)")

// FindController returns the mount point of the cgroup v1 cpu controller,
// read from mountinfo (the format of /proc/self/mountinfo).
func FindController(mountinfo io.Reader) (string, error) {
	sc := bufio.NewScanner(mountinfo)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 || g[0] != "cgroup" {
			continue
		}
		for _, o := range strings.Split(g[2], ",") {
			if o == "cpu" {
				return f[4], nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("cpubudget: read mountinfo: %w", err)
	}
	return "", ErrNoController
}

// Set is the groups of one run.
type Set struct {
	root, prefix string
	period       time.Duration
	groups       map[string]string // name → directory, in creation order below
	order        []string
}

// New returns an empty set whose groups live under root (the controller's
// mount) and are named prefix-<this PID>-<unique>-<name>. unique tells
// concurrent sets of one process apart (the lab passes its run name).
func New(root, prefix, unique string) *Set {
	return &Set{root: root, prefix: fmt.Sprintf("%s-%d-%s", prefix, os.Getpid(), unique),
		period: DefaultPeriod, groups: map[string]string{}}
}

// Budget creates the group name, allowed cpus CPUs (0.4: 40 % of one core;
// 2: two full cores), or unlimited when cpus <= 0.
func (s *Set) Budget(name string, cpus float64) error {
	if _, ok := s.groups[name]; ok {
		return fmt.Errorf("cpubudget: group %s exists", name)
	}
	dir := filepath.Join(s.root, s.prefix+"-"+name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("cpubudget: create group: %w", err)
	}
	s.groups[name] = dir
	s.order = append(s.order, name)
	quota := int64(-1)
	if cpus > 0 {
		// The kernel's minimum quota is 1 ms.
		quota = max(int64(cpus*float64(s.period/time.Microsecond)), 1000)
	}
	if err := write(dir, "cpu.cfs_period_us", strconv.FormatInt(int64(s.period/time.Microsecond), 10)); err != nil {
		return err
	}
	return write(dir, "cpu.cfs_quota_us", strconv.FormatInt(quota, 10))
}

// Realtime lets group name's realtime (SCHED_FIFO/RR) threads run cpus of
// each CPU's time per rt period (1 s; cpu.rt_runtime_us). A new group has
// none, and the kernel refuses to move a realtime process into a group
// without it (EINVAL), or to make a thread realtime there. The groups of
// the whole controller share the root's 0.95, so keep this small. Kernels
// without realtime group scheduling have no such file and need nothing.
func (s *Set) Realtime(name string, cpus float64) error {
	dir, ok := s.groups[name]
	if !ok {
		return fmt.Errorf("cpubudget: no group %s", name)
	}
	if _, err := os.Stat(filepath.Join(dir, "cpu.rt_period_us")); errors.Is(err, os.ErrNotExist) && onCgroupFS(dir) {
		return nil
	}
	return write(dir, "cpu.rt_runtime_us", strconv.FormatInt(int64(cpus*1e6), 10))
}

// onCgroupFS tells the real controller from the unit test's plain directory.
func onCgroupFS(dir string) bool {
	var st syscall.Statfs_t
	return syscall.Statfs(dir, &st) == nil && st.Type == cgroupSuperMagic
}

const cgroupSuperMagic = 0x27e0eb

// Move puts process pid (with all its threads) into group name.
func (s *Set) Move(name string, pid int) error {
	dir, ok := s.groups[name]
	if !ok {
		return fmt.Errorf("cpubudget: no group %s", name)
	}
	return write(dir, "cgroup.procs", strconv.Itoa(pid))
}

// Dir is group name's directory ("" when there is none).
func (s *Set) Dir(name string) string { return s.groups[name] }

// Stat is a group's cpu.stat: how often the budget ran out.
type Stat struct {
	Periods, Throttled int64         // nr_periods, nr_throttled
	ThrottledTime      time.Duration // throttled_time
}

// Stat reads group name's cpu.stat.
func (s *Set) Stat(name string) (Stat, error) {
	dir, ok := s.groups[name]
	if !ok {
		return Stat{}, fmt.Errorf("cpubudget: no group %s", name)
	}
	b, err := os.ReadFile(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return Stat{}, fmt.Errorf("cpubudget: %w", err)
	}
	return parseStat(string(b))
}

func parseStat(s string) (Stat, error) {
	var st Stat
	for _, l := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Stat{}, fmt.Errorf("cpubudget: cpu.stat %q: %w", l, err)
		}
		switch k {
		case "nr_periods":
			st.Periods = n
		case "nr_throttled":
			st.Throttled = n
		case "throttled_time":
			st.ThrottledTime = time.Duration(n)
		}
	}
	return st, nil
}

// Close moves the processes still in the groups back to the controller's
// root group and removes the groups.
func (s *Set) Close() error {
	var errs []error
	for i := len(s.order) - 1; i >= 0; i-- {
		if err := remove(s.root, s.groups[s.order[i]]); err != nil {
			errs = append(errs, err)
		}
	}
	s.groups, s.order = map[string]string{}, nil
	return errors.Join(errs...)
}

// remove empties group dir into root and removes it. A process may exit or
// fork while it is moved, so the emptying is retried a few times.
func remove(root, dir string) error {
	var err error
	for range 5 {
		b, rerr := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return fmt.Errorf("cpubudget: %w", rerr)
		}
		for _, pid := range strings.Fields(string(b)) {
			// ESRCH: it exited meanwhile, which empties the group too.
			if werr := write(root, "cgroup.procs", pid); werr != nil && !errors.Is(werr, syscall.ESRCH) {
				return werr
			}
		}
		if err = rmdir(dir); err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) && !errors.Is(err, syscall.ENOTEMPTY) {
			break
		}
	}
	return fmt.Errorf("cpubudget: remove group %s: %w", dir, err)
}

// Sweep removes the groups under root named prefix-<pid>-... whose pid is
// no longer running (a run that was killed before its Close), and returns
// their names.
func Sweep(root, prefix string) ([]string, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("cpubudget: %w", err)
	}
	re := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + `-(\d+)-`)
	var removed []string
	var errs []error
	for _, e := range ents {
		m := re.FindStringSubmatch(e.Name())
		if !e.IsDir() || m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue // ours, or alive (EPERM: alive, someone else's)
		}
		if err := remove(root, filepath.Join(root, e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, e.Name())
	}
	return removed, errors.Join(errs...)
}

// rmdir is what removes a cgroup: its control files cannot be unlinked,
// and go with the directory. (The unit test's plain directory needs
// os.RemoveAll.)
var rmdir = syscall.Rmdir

func write(dir, file, value string) error {
	// One write of the whole value. O_CREATE lets the unit test's plain
	// directory stand in for the cgroup file system, where the files exist.
	f, err := os.OpenFile(filepath.Join(dir, file), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("cpubudget: %w", err)
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cpubudget: write %s to %s: %w", value, filepath.Join(dir, file), err)
	}
	return nil
}
