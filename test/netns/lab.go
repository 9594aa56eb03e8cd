package netns

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Errors a caller can act on.
var (
	// ErrClosed is returned by every operation on a Lab after Close.
	ErrClosed = errors.New("netns: lab is closed")
	// ErrBadName is returned for a host, switch or interface name that is
	// not 1-15 characters of [a-z0-9-] (the kernel's IFNAMSIZ is 16).
	ErrBadName = errors.New("netns: bad name")
	// ErrAddrRange is returned for an address outside 198.18.0.0/15 and 2001:2::/48.
	ErrAddrRange = errors.New("netns: address outside the benchmarking ranges 198.18.0.0/15 and 2001:2::/48")
	// ErrExists is returned when a name is used twice in one lab.
	ErrExists = errors.New("netns: name already used in this lab")
)

// Allowed address ranges: RFC 2544/6890 benchmarking, and RFC 5180 for IPv6.
var (
	benchV4 = netip.MustParsePrefix("198.18.0.0/15")
	benchV6 = netip.MustParsePrefix("2001:2::/48")
)

// cmdTimeout bounds every ip(8) invocation: they take milliseconds, but a
// wedged one must not hang a test forever.
const cmdTimeout = 30 * time.Second

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,14}$`)

// Lab is one run's set of namespaces, links and processes.
type Lab struct {
	run    string // "<prefix>-<pid>-<rand>", the namespace name prefix of this run
	dir    string // per-run directory for process logs and generated files
	ownDir bool

	mu       sync.Mutex
	closed   bool
	closeErr error
	nsOrder  []string // namespaces in creation order
	hosts    map[string]*Host
	switches map[string]*Switch
	procs    []*Proc

	tb testing.TB // non-nil for labs made by NewT: Must* helpers call Fatalf on it
}

// Option configures New.
type Option func(*Lab)

// WithDir makes the lab write process logs and files under dir (created if
// missing, never removed). By default New makes a temporary directory and
// Close removes it.
func WithDir(dir string) Option {
	return func(l *Lab) { l.dir = dir; l.ownDir = false }
}

// New starts an empty lab. prefix is a short tag such as "vrrp" or "lb"; the
// run name adds the PID and a random suffix. ctx only bounds New itself.
func New(ctx context.Context, prefix string, opts ...Option) (*Lab, error) {
	if !nameRE.MatchString(prefix) || len(prefix) > 8 {
		return nil, fmt.Errorf("netns: new lab %q: %w (prefix: up to 8 of [a-z0-9-])", prefix, ErrBadName)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("netns: new lab: %w", err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("netns: new lab: ip(8) from iproute2 is needed: %w", err)
	}
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("netns: new lab: %w", err)
	}
	l := &Lab{
		run:      fmt.Sprintf("%s-%d-%s", prefix, os.Getpid(), hex.EncodeToString(rnd[:])),
		hosts:    map[string]*Host{},
		switches: map[string]*Switch{},
		ownDir:   true,
	}
	for _, o := range opts {
		o(l)
	}
	if l.dir == "" {
		d, err := os.MkdirTemp("", l.run+"-")
		if err != nil {
			return nil, fmt.Errorf("netns: new lab: %w", err)
		}
		l.dir = d
	} else if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, fmt.Errorf("netns: new lab: %w", err)
	}
	return l, nil
}

// Name is the run name, the prefix of every namespace of this lab.
func (l *Lab) Name() string { return l.run }

// Dir is the directory holding process logs and generated files.
func (l *Lab) Dir() string { return l.dir }

// nsName is the full namespace name of a lab-local name.
func (l *Lab) nsName(name string) string { return l.run + "-" + name }

// addNS creates a namespace with lo up and records it for Close.
func (l *Lab) addNS(name string) (string, error) {
	if !nameRE.MatchString(name) {
		return "", fmt.Errorf("netns: %q: %w", name, ErrBadName)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return "", ErrClosed
	}
	if l.hosts[name] != nil || l.switches[name] != nil {
		return "", fmt.Errorf("netns: %q: %w", name, ErrExists)
	}
	ns := l.nsName(name)
	if err := ipCmd("netns", "add", ns); err != nil {
		return "", err
	}
	l.nsOrder = append(l.nsOrder, ns)
	if err := ipCmd("-n", ns, "link", "set", "lo", "up"); err != nil {
		return "", err
	}
	return ns, nil
}

// Close stops every process the lab started (SIGTERM, then SIGKILL after a
// grace period), kills whatever else still runs inside the lab's namespaces,
// and deletes the namespaces, which removes their veths and bridges. It
// touches nothing it did not create. Close is idempotent: later calls return
// the first call's result.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		err := l.closeErr
		l.mu.Unlock()
		return err
	}
	l.closed = true
	procs := append([]*Proc(nil), l.procs...)
	order := append([]string(nil), l.nsOrder...)
	l.mu.Unlock()

	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop(2 * time.Second)
	}
	l.mu.Lock()
	for _, h := range l.hosts {
		h.closeHandle()
	}
	for _, sw := range l.switches {
		sw.closeHandle()
	}
	l.mu.Unlock()
	for i := len(order) - 1; i >= 0; i-- {
		ns := order[i]
		// Anything started with Command (not Start), or forked by a daemon,
		// is found by namespace, never by name.
		killNamespacePIDs(ns)
		if err := ipCmd("netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if l.ownDir {
		if err := os.RemoveAll(l.dir); err != nil {
			errs = append(errs, fmt.Errorf("netns: close: %w", err))
		}
	}
	err := errors.Join(errs...)
	l.mu.Lock()
	l.closeErr = err
	l.mu.Unlock()
	return err
}

// KeepDir stops Close from removing the lab directory, so logs survive a
// failed test. It is a no-op for WithDir labs, whose directory is never removed.
func (l *Lab) KeepDir() {
	l.mu.Lock()
	l.ownDir = false
	l.mu.Unlock()
}

// killNamespacePIDs SIGKILLs every process inside namespace ns.
func killNamespacePIDs(ns string) {
	out, err := ipOut("netns", "pids", ns)
	if err != nil {
		return
	}
	for _, f := range strings.Fields(out) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 1 || pid == os.Getpid() {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// SweepStale deletes namespaces named "<prefix>-<pid>-<hex>-*" whose creating
// process <pid> is gone: the leftovers of a run that was killed before its
// Close ran. Namespaces of live runs are left alone. It returns the names it
// removed.
func SweepStale(prefix string) ([]string, error) {
	out, err := ipOut("netns", "list")
	if err != nil {
		return nil, err
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `-(\d+)-[0-9a-f]{6}-[a-z0-9-]+$`)
	var removed []string
	var errs []error
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m := re.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || processAlive(pid) {
			continue
		}
		killNamespacePIDs(f[0])
		if err := ipCmd("netns", "del", f[0]); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, f[0])
	}
	return removed, errors.Join(errs...)
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ipCmd runs ip(8) with args and returns an error naming the command and
// carrying its output.
func ipCmd(args ...string) error {
	_, err := ipOut(args...)
	return err
}

func ipOut(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("netns: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// checkAddr enforces the benchmarking ranges.
func checkAddr(p netip.Prefix) error {
	a := p.Addr()
	if !p.IsValid() || !(benchV4.Contains(a) || benchV6.Contains(a)) {
		return fmt.Errorf("%v: %w", p, ErrAddrRange)
	}
	return nil
}

// path joins elements under the lab directory.
func (l *Lab) path(elem ...string) string {
	return filepath.Join(append([]string{l.dir}, elem...)...)
}
