//go:build linux

package router

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// rtAttr is SCHED_RR at prio. Reset-on-fork keeps the realtime class from
// leaking into the scripts and hooks the daemon runs.
func rtAttr(prio int) *unix.SchedAttr {
	return &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: uint32(prio), Flags: unix.SCHED_FLAG_RESET_ON_FORK}
}

// setRealtime puts the calling thread into SCHED_RR at prio.
func setRealtime(prio int) error {
	if err := unix.SchedSetAttr(0, rtAttr(prio), 0); err != nil {
		return fmt.Errorf("sched_setattr SCHED_RR %d: %w", prio, err)
	}
	return nil
}

// SetProcessRealtime puts every thread of the process into SCHED_RR at
// prio and reports how many it changed. A VRRP daemon needs more than its
// timer thread at realtime priority: the Go runtime hands a woken goroutine
// to a thread through its scheduler, and the netpoller that delivers
// received adverts runs on any thread, so on a busy host a normal-priority
// runtime thread delays everything (keepalived's vrrp_rt_priority sets the
// whole VRRP process, too). Threads the runtime creates later start at
// normal priority (reset-on-fork), so call it again now and then.
func SetProcessRealtime(prio int) (int, error) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, fmt.Errorf("list threads: %w", err)
	}
	n := 0
	var errs []error
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var cur *unix.SchedAttr
		if cur, err = unix.SchedGetAttr(tid, 0); err == nil && cur.Policy == unix.SCHED_RR && cur.Priority == uint32(prio) {
			continue
		}
		if err := unix.SchedSetAttr(tid, rtAttr(prio), 0); err != nil {
			if errors.Is(err, unix.ESRCH) {
				continue // the thread exited meanwhile
			}
			errs = append(errs, fmt.Errorf("thread %d: %w", tid, err))
			continue
		}
		n++
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("sched_setattr SCHED_RR %d failed for %d of %d threads: %w", prio, len(errs), len(ents), errs[0])
	}
	return n, nil
}
