package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// renice sets the nice value of every thread of this process. On Linux nice
// is per thread and inherited by threads and children created later, so
// doing it early covers the prober, the responders and the daemons under
// test alike: on a shared machine this keeps other users' load out of the
// numbers without favouring either implementation.
func renice(n int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("renice: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil {
			return fmt.Errorf("renice thread %d to %d: %w", tid, n, err)
		}
	}
	return nil
}
