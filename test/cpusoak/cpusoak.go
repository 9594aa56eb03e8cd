// Package cpusoak measures how much of one CPU other work takes, the way
// cyclesoak does: a process at the lowest priority (SCHED_IDLE), pinned to
// the CPU, spins and counts, so it runs exactly when nothing else wants the
// CPU. The fraction of its rate on a quiet CPU that it loses during a run is
// the fraction the run took.
//
// Neither of the kernel's own figures can be used for a kernel data plane:
// without IRQ time accounting, /proc/stat charges a whole tick to whatever
// runs when the tick fires, and cpuidle's residency includes the interrupts
// (and the softirqs they raise) that a halted CPU serves before it leaves
// the idle state. A soaker sees softirq work and processes alike, because
// both take the CPU from it.
//
// The soaker runs in a child process (the test binary re-executed: call
// Main first thing in TestMain), so that its spinning thread can never
// stall the test's own runtime.
package cpusoak

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// envFile names, in the child, the file shared with the parent.
const envFile = "HACHAT_CPUSOAK_FILE"

// Main spins forever when this process is a soaker child, and returns
// otherwise.
func Main() {
	path := os.Getenv(envFile)
	if path == "" {
		return
	}
	counter, _, err := mapCounter(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpusoak:", err)
		os.Exit(1)
	}
	// Any loop of constant cost will do: the count only has to be
	// proportional to the CPU time the soaker got.
	for n := uint64(1); ; n++ {
		counter.Store(n)
	}
}

// mapCounter maps the shared file; the counter lives in the returned memory.
func mapCounter(path string) (*atomic.Uint64, []byte, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	mem, err := unix.Mmap(int(f.Fd()), 0, 8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mmap %s: %w", path, err)
	}
	return (*atomic.Uint64)(unsafe.Pointer(&mem[0])), mem, nil
}

// Soaker is a running soaker child.
type Soaker struct {
	cmd     *exec.Cmd
	counter *atomic.Uint64
	mem     []byte
	path    string
}

// Start starts a soaker on cpu, at SCHED_IDLE, with chrt and taskset
// (util-linux).
func Start(cpu int) (*Soaker, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cpusoak: %w", err)
	}
	f, err := os.CreateTemp("", "cpusoak-*")
	if err != nil {
		return nil, fmt.Errorf("cpusoak: %w", err)
	}
	path := f.Name()
	err = f.Truncate(8)
	f.Close()
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("cpusoak: %w", err)
	}
	counter, mem, err := mapCounter(path)
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("cpusoak: %w", err)
	}
	cmd := exec.Command("chrt", "--idle", "0", "taskset", "-c", fmt.Sprint(cpu), self)
	cmd.Env = append(os.Environ(), envFile+"="+path)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGKILL}
	if err := cmd.Start(); err != nil {
		unix.Munmap(mem)
		os.Remove(path)
		return nil, fmt.Errorf("cpusoak: %w", err)
	}
	s := &Soaker{cmd: cmd, counter: counter, mem: mem, path: path}
	// Wait until it counts: the first reading must not catch it starting.
	for deadline := time.Now().Add(5 * time.Second); counter.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			s.Stop()
			return nil, errors.New("cpusoak: the soaker did not start counting within 5 s")
		}
	}
	return s, nil
}

// Reading is the soaker's count at a moment.
type Reading struct {
	At time.Time
	N  uint64
}

// Read takes a reading.
func (s *Soaker) Read() Reading { return Reading{At: time.Now(), N: s.counter.Load()} }

// Rate is the soaker's count per second between a and b.
func Rate(a, b Reading) float64 {
	dt := b.At.Sub(a.At).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(b.N-a.N) / dt
}

// PID is the soaker's process ID (chrt and taskset exec it in place).
func (s *Soaker) PID() int { return s.cmd.Process.Pid }

// Stop kills the soaker, unmaps its counter and removes its file.
func (s *Soaker) Stop() error {
	s.cmd.Process.Kill()
	s.cmd.Wait()
	return errors.Join(unix.Munmap(s.mem), os.Remove(s.path))
}
