//go:build linux

package vrrp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// setRealtime puts the calling thread into SCHED_RR at prio.
func setRealtime(prio int) error {
	attr := &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: uint32(prio)}
	if err := unix.SchedSetAttr(0, attr, 0); err != nil {
		return fmt.Errorf("sched_setattr SCHED_RR %d: %w", prio, err)
	}
	return nil
}
