//go:build linux

package router

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// rtTimer is a timerfd whose expiries a dedicated SCHED_RR thread turns
// into channel sends.
type rtTimer struct {
	fd      int
	c       chan time.Time
	stopped atomic.Bool
}

func newRTTimer(prio int) (*rtTimer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	t := &rtTimer{fd: fd, c: make(chan time.Time, 1)}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the thread dies with the goroutine: never unlocked
		errc <- setRealtime(prio)
		var buf [8]byte
		for {
			_, err := unix.Read(fd, buf[:])
			if t.stopped.Load() {
				unix.Close(fd)
				return
			}
			if err != nil || binary.NativeEndian.Uint64(buf[:]) == 0 {
				continue // EINTR, or a re-arm raced the read
			}
			select {
			case t.c <- time.Now():
			default: // the loop has not taken the last one yet: one wake-up is enough
			}
		}
	}()
	if err := <-errc; err != nil {
		t.Stop()
		return nil, err
	}
	return t, nil
}

func (t *rtTimer) C() <-chan time.Time { return t.c }

// Reset arms the timer d from now (relative); it replaces any earlier arming.
func (t *rtTimer) Reset(d time.Duration) {
	if d <= 0 {
		d = 1 // zero would disarm
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(t.fd, 0, &spec, nil); err != nil {
		// Cannot happen with a valid fd; fall back to a wake-up now so the
		// loop recomputes rather than sleeps forever.
		select {
		case t.c <- time.Now():
		default:
		}
	}
}

// Stop ends the thread: it is woken at once and closes the fd.
func (t *rtTimer) Stop() {
	if t.stopped.Swap(true) {
		return
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(1)}
	unix.TimerfdSettime(t.fd, 0, &spec, nil)
}

// newLoopTimer picks the timer for a loop with realtime priority prio.
func newLoopTimer(prio int) (loopTimer, error) {
	if prio <= 0 {
		return newGoTimer(), nil
	}
	t, err := newRTTimer(prio)
	if err != nil {
		return newGoTimer(), err
	}
	return t, nil
}
