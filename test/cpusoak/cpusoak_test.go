package cpusoak

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	Main()
	os.Exit(m.Run())
}

// TestSoakerCountsAndStops: the child counts on the CPU it was given and
// leaves nothing behind.
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
