//go:build linux

package router

import (
	"os"
	"testing"
	"time"
)

func TestRTTimer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_NICE) for SCHED_RR")
	}
	tm, err := newRTTimer(1)
	if err != nil {
		t.Skipf("realtime scheduling unavailable here: %v", err)
	}
	defer tm.Stop()
	tm.Reset(time.Hour)
	tm.Reset(2 * time.Millisecond) // re-arming replaces the hour
	select {
	case <-tm.C():
	case <-time.After(5 * time.Second):
		t.Fatal("no tick")
	}
	tm.Reset(time.Hour)
	select {
	case <-tm.C():
		t.Fatal("ticked although armed for an hour")
	case <-time.After(20 * time.Millisecond):
	}
}
