package netns

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// Renice sets the nice value of every thread of this process (setpriority(2)).
// On Linux nice is per thread and inherited by threads and children created
// later, so calling it early covers in-process probes and responders and the
// daemons started afterwards alike: on a shared machine this keeps other
// users' load from starving timers of a few tens of milliseconds, without
// favouring any one daemon.
func Renice(n int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("netns: renice: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil {
			return fmt.Errorf("netns: renice thread %d to %d: %w", tid, n, err)
		}
	}
	return nil
}
