package health

import (
	"context"
	"errors"
	"time"
)

// All runs several probes of one real server together and fails when any
// fails: keepalived's rule that a real server is up while every one of its
// checkers is (several url blocks, several SMTP_CHECK hosts, or a
// TCP_CHECK beside an HTTP_GET). The probes run concurrently under the one
// deadline; the error joins every failure.
type All []Prober

// Probe runs every probe and joins their errors.
func (a All) Probe(ctx context.Context) error {
	errs := make([]error, len(a))
	done := make(chan struct{}, len(a))
	for i, p := range a {
		go func() {
			errs[i] = p.Probe(ctx)
			done <- struct{}{}
		}()
	}
	for range a {
		<-done
	}
	return errors.Join(errs...)
}

// Bounded gives one probe of an All its own timeout, shorter than the
// deadline of the whole (each keepalived checker has its connect_timeout).
type Bounded struct {
	Prober  Prober
	Timeout time.Duration
}

// Probe runs the probe under its own timeout.
func (b Bounded) Probe(ctx context.Context) error {
	if b.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.Timeout)
		defer cancel()
	}
	return b.Prober.Probe(ctx)
}
