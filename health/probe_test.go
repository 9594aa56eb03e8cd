package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// probeCtx bounds a probe in a test. The timeout is generous because the
// test machine is shared; tests about timeouts set their own.
func probeCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func wantKind(t *testing.T, err error, want FailureKind) {
	t.Helper()
	if got := Classify(err); got != want {
		t.Errorf("Classify(%v) = %q, want %q", err, got, want)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want FailureKind
	}{
		{nil, ""},
		{context.DeadlineExceeded, KindTimeout},
		{fmt.Errorf("x: %w", context.Canceled), KindCanceled},
		{fmt.Errorf("x: %w", ErrUnexpectedStatus), KindStatus},
		{fmt.Errorf("x: %w", ErrBodyMismatch), KindBody},
		{fmt.Errorf("x: %w", ErrExitStatus), KindExit},
		{fmt.Errorf("x: %w", ErrInvalidTarget), KindConfig},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, KindRefused},
		{errors.New("something odd"), KindOther},
	}
	for _, tc := range tests {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
