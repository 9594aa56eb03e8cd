package netns

import (
	"os"
	"syscall"
	"testing"
)

func TestReniceReachesEveryThread(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("netns: skipped: restoring the nice value needs root")
	}
	t.Cleanup(func() { _ = Renice(0) })
	if err := Renice(3); err != nil {
		t.Fatal(err)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		var tid int
		for _, c := range task.Name() {
			tid = tid*10 + int(c-'0')
		}
		// getpriority(2) returns 20 - nice.
		p, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
		if err != nil {
			continue // the thread exited meanwhile
		}
		if p != 20-3 {
			t.Errorf("thread %d: nice %d, want 3", tid, 20-p)
		}
	}
}
