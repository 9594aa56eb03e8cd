package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"

	"github.com/hachat/hachat/internal/procexec"
)

// Prober performs one health check. A nil error means the target is up.
// Probe must return promptly once ctx is done; the monitor gives every probe
// a context that carries its timeout.
type Prober interface {
	Probe(ctx context.Context) error
}

// ProberFunc adapts a function to the Prober interface.
type ProberFunc func(ctx context.Context) error

// Probe calls f(ctx).
func (f ProberFunc) Probe(ctx context.Context) error { return f(ctx) }

// Errors a caller can act on. Probers wrap them with %w.
var (
	// ErrUnexpectedStatus means an HTTP check got a status code outside
	// the expected ranges.
	ErrUnexpectedStatus = errors.New("unexpected HTTP status")
	// ErrBodyMismatch means an HTTP check's body, or a TCP check's reply,
	// did not match the expected regular expression or digest.
	ErrBodyMismatch = errors.New("HTTP body does not match")
	// ErrBadReply means an SMTP, DNS or UDP check got an answer, but not
	// the one a healthy server gives (a 554 greeting, SERVFAIL, other bytes).
	ErrBadReply = errors.New("unexpected reply")
	// ErrExitStatus means a script exited with a non-zero status. It is
	// procexec's sentinel, so that errors.Is matches either name.
	ErrExitStatus = procexec.ErrExitStatus
	// ErrInvalidTarget means a target's configuration cannot be probed.
	ErrInvalidTarget = errors.New("invalid health check target")
)

// FailureKind names why a check failed, for metrics and status displays.
type FailureKind string

// The failure kinds [Classify] returns.
const (
	KindTimeout     FailureKind = "timeout"     // the probe's deadline passed
	KindRefused     FailureKind = "refused"     // TCP RST on connect (ECONNREFUSED)
	KindReset       FailureKind = "reset"       // connection reset or closed early
	KindUnreachable FailureKind = "unreachable" // no route, host or network unreachable
	KindTLS         FailureKind = "tls"         // handshake or certificate failure
	KindStatus      FailureKind = "status"      // unexpected HTTP status code
	KindBody        FailureKind = "body"        // HTTP body, TCP, SMTP, DNS or UDP reply does not match
	KindExit        FailureKind = "exit"        // script exited non-zero or was killed
	KindSpawn       FailureKind = "spawn"       // script could not be started
	KindCanceled    FailureKind = "canceled"    // the monitor stopped the probe
	KindConfig      FailureKind = "config"      // the target is misconfigured
	KindOther       FailureKind = "other"       // anything else
)

// FailureKinds lists every kind [Classify] can return, so that metrics can
// export zeros for the kinds that have not happened yet.
var FailureKinds = []FailureKind{
	KindTimeout, KindRefused, KindReset, KindUnreachable, KindTLS, KindStatus,
	KindBody, KindExit, KindSpawn, KindCanceled, KindConfig, KindOther,
}

// Classify returns the kind of a probe error, or "" for nil. The order of
// the tests matters: an HTTP status error is checked before network errors
// because it carries no syscall error, and a timeout is checked first
// because a timed-out TLS handshake is a timeout, not a TLS problem.
func Classify(err error) FailureKind {
	if err == nil {
		return ""
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return KindTimeout
	case errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.Is(err, ErrInvalidTarget):
		return KindConfig
	case errors.Is(err, ErrUnexpectedStatus):
		return KindStatus
	case errors.Is(err, ErrBodyMismatch), errors.Is(err, ErrBadReply):
		return KindBody
	case errors.Is(err, ErrExitStatus):
		return KindExit
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return KindReset
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.ENETDOWN):
		return KindUnreachable
	case isTLSError(err):
		return KindTLS
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, os.ErrNotExist), errors.Is(err, os.ErrPermission):
		return KindSpawn
	}
	return KindOther
}

func isTLSError(err error) bool {
	var (
		rh  tls.RecordHeaderError
		ae  tls.AlertError
		cv  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		hn  x509.HostnameError
		ci  x509.CertificateInvalidError
		ech *tls.ECHRejectionError
	)
	return errors.Is(err, errPlainHTTP) || errors.As(err, &rh) || errors.As(err, &ae) || errors.As(err, &cv) ||
		errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) || errors.As(err, &ech)
}
