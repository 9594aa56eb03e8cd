package chatload

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
)

// ErrorClass is one of httperf's error classes (httperf(1) §OUTPUT, "Errors").
type ErrorClass string

// The classes, spelled as httperf prints them. See the package doc for the
// exact mapping from errors to classes.
const (
	ClientTimo  ErrorClass = "client-timo"
	SocketTimo  ErrorClass = "socket-timo"
	ConnRefused ErrorClass = "connrefused"
	ConnReset   ErrorClass = "connreset"
	FdUnavail   ErrorClass = "fd-unavail"
	AddrUnavail ErrorClass = "addrunavail"
	Other       ErrorClass = "other"
)

// Sentinel errors a session can end with; callers may match them with
// errors.Is.
var (
	// ErrPrematureClose: the server closed the connection (EOF) before the
	// reply the client was waiting for. httperf counts this as connreset.
	ErrPrematureClose = errors.New("server closed the connection before replying")
	// ErrServerRefused: the server answered with ERROR or an error numeric
	// (433, 465, ...) instead of the expected reply.
	ErrServerRefused = errors.New("server refused the request")
	// ErrClientTimeout: chatload's own per-step watchdog (--timeout) fired.
	ErrClientTimeout = errors.New("no reply within the client timeout")
)

// Classify maps an error from a session to its httperf class.
func Classify(err error) ErrorClass {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return FdUnavail
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return AddrUnavail
	case errors.Is(err, syscall.ECONNREFUSED):
		return ConnRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, ErrPrematureClose),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ConnReset
	case errors.Is(err, syscall.ETIMEDOUT):
		// The kernel gave up (SYN retries, retransmissions): httperf's
		// socket-level timeout.
		return SocketTimo
	case errors.Is(err, ErrClientTimeout), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, context.DeadlineExceeded):
		return ClientTimo
	default:
		return Other
	}
}

// ErrorCounts holds one counter per httperf class, plus the total.
type ErrorCounts struct {
	Total       int64 `json:"total"`
	ClientTimo  int64 `json:"client-timo"`
	SocketTimo  int64 `json:"socket-timo"`
	ConnRefused int64 `json:"connrefused"`
	ConnReset   int64 `json:"connreset"`
	FdUnavail   int64 `json:"fd-unavail"`
	AddrUnavail int64 `json:"addrunavail"`
	Other       int64 `json:"other"`
}

// Add counts one error of class c.
func (e *ErrorCounts) Add(c ErrorClass) {
	e.Total++
	switch c {
	case ClientTimo:
		e.ClientTimo++
	case SocketTimo:
		e.SocketTimo++
	case ConnRefused:
		e.ConnRefused++
	case ConnReset:
		e.ConnReset++
	case FdUnavail:
		e.FdUnavail++
	case AddrUnavail:
		e.AddrUnavail++
	default:
		e.Other++
	}
}

// Get returns the counter of class c.
func (e ErrorCounts) Get(c ErrorClass) int64 {
	switch c {
	case ClientTimo:
		return e.ClientTimo
	case SocketTimo:
		return e.SocketTimo
	case ConnRefused:
		return e.ConnRefused
	case ConnReset:
		return e.ConnReset
	case FdUnavail:
		return e.FdUnavail
	case AddrUnavail:
		return e.AddrUnavail
	case Other:
		return e.Other
	}
	return 0
}

// AllClasses lists the classes in httperf's print order.
var AllClasses = []ErrorClass{ClientTimo, SocketTimo, ConnRefused, ConnReset, FdUnavail, AddrUnavail, Other}

// ClientLimited reports whether the client itself ran out of descriptors or
// addresses; httperf(1) calls a run with such errors meaningless for the
// server.
func (e ErrorCounts) ClientLimited() bool { return e.FdUnavail > 0 || e.AddrUnavail > 0 }

// phaseError tags an error with the step of the session where it happened,
// so a report can tell a dial timeout from a reply timeout.
type phaseError struct {
	Phase Phase
	Err   error
}

func (e *phaseError) Error() string { return string(e.Phase) + ": " + e.Err.Error() }
func (e *phaseError) Unwrap() error { return e.Err }

// Phase names a step of a client session.
type Phase string

// Session phases, in order.
const (
	PhaseConnect  Phase = "connect"
	PhaseRegister Phase = "register"
	PhaseJoin     Phase = "join"
	PhaseMessage  Phase = "message"
	PhaseHold     Phase = "hold"
	PhaseQuit     Phase = "quit"
)

// PhaseOf returns the phase an error was tagged with, or "" if none.
func PhaseOf(err error) Phase {
	var pe *phaseError
	if errors.As(err, &pe) {
		return pe.Phase
	}
	return ""
}
