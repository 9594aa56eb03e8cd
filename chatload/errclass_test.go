package chatload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClassifyHttperfMapping(t *testing.T) {
	dialErr := func(op string, errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError(op, errno)}
	}
	tests := []struct {
		name string
		err  error
		want ErrorClass
	}{
		{"nil", nil, ""},
		{"EMFILE on socket()", dialErr("socket", syscall.EMFILE), FdUnavail},
		{"ENFILE on socket()", dialErr("socket", syscall.ENFILE), FdUnavail},
		{"EADDRNOTAVAIL on bind", dialErr("bind", syscall.EADDRNOTAVAIL), AddrUnavail},
		{"ECONNREFUSED", dialErr("connect", syscall.ECONNREFUSED), ConnRefused},
		{"ECONNRESET on read", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, ConnReset},
		{"EPIPE on write", &net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}, ConnReset},
		{"EOF before reply", fmt.Errorf("register: %w", ErrPrematureClose), ConnReset},
		{"bare EOF", io.EOF, ConnReset},
		{"kernel ETIMEDOUT", dialErr("connect", syscall.ETIMEDOUT), SocketTimo},
		{"our read deadline", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, ClientTimo},
		{"our dial deadline", &net.OpError{Op: "dial", Err: context.DeadlineExceeded}, ClientTimo},
		{"watchdog sentinel", &phaseError{Phase: PhaseMessage, Err: ErrClientTimeout}, ClientTimo},
		{"server ERROR line", fmt.Errorf("%w: ERROR :too many", ErrServerRefused), Other},
		{"anything else", errors.New("boom"), Other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorCountsAddGet(t *testing.T) {
	var e ErrorCounts
	for i, c := range AllClasses {
		for j := 0; j <= i; j++ {
			e.Add(c)
		}
	}
	want := ErrorCounts{Total: 28, ClientTimo: 1, SocketTimo: 2, ConnRefused: 3, ConnReset: 4, FdUnavail: 5, AddrUnavail: 6, Other: 7}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	for i, c := range AllClasses {
		if got := e.Get(c); got != int64(i+1) {
			t.Errorf("Get(%s) = %d, want %d", c, got, i+1)
		}
	}
	if !e.ClientLimited() {
		t.Error("ClientLimited = false with fd-unavail and addrunavail set")
	}
}

func TestPhaseOf(t *testing.T) {
	err := fmt.Errorf("storm: %w", &phaseError{Phase: PhaseJoin, Err: io.EOF})
	if got := PhaseOf(err); got != PhaseJoin {
		t.Errorf("PhaseOf = %q, want join", got)
	}
	if got := PhaseOf(io.EOF); got != "" {
		t.Errorf("PhaseOf(untagged) = %q, want empty", got)
	}
}
