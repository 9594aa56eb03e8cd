package cpusoak

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	Main()
	os.Exit(m.Run())
}

// TestSoakerCountsAndStops: the child runs at SCHED_IDLE on the CPU it was
// given, counts, and leaves nothing behind.
func TestSoakerCountsAndStops(t *testing.T) {
	for _, tool := range []string{"chrt", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (util-linux)", tool)
		}
	}
	s, err := Start(0)
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.PID()))
	if err != nil || !strings.Contains(string(status), "Cpus_allowed_list:\t0\n") {
		t.Errorf("soaker's CPUs: %v\n%s, want CPU 0 only", err, status)
	}
	if policy, err := unix.SchedGetAttr(s.PID(), 0); err != nil || policy.Policy != unix.SCHED_IDLE {
		t.Errorf("soaker's policy: %+v %v, want SCHED_IDLE", policy, err)
	}
	a := s.Read()
	for s.Read().N == a.N {
		time.Sleep(time.Millisecond)
	}
	if r := Rate(a, s.Read()); r <= 0 {
		t.Errorf("rate %v, want > 0", r)
	}
	path := s.path
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("counter file %s left behind: %v", path, err)
	}
}
