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
	return eachThread(0, func(tid int) error {
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil {
			return fmt.Errorf("netns: renice thread %d to %d: %w", tid, n, err)
		}
		return nil
	})
}

// eachThread calls fn with the ID of every thread of process pid (0: this
// process).
func eachThread(pid int, fn func(tid int) error) error {
	dir := "/proc/self/task"
	if pid != 0 {
		dir = fmt.Sprintf("/proc/%d/task", pid)
	}
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("netns: threads: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := fn(tid); err != nil {
			return err
		}
	}
	return nil
}
