package probe

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// TestProberSeesRefusedOutageOnLoopback closes the server for a while and
// expects a refused gap that ends only after it is back.
func TestProberSeesRefusedOutageOnLoopback(t *testing.T) {
	srv, err := Listen("127.0.0.1:0", "one")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(srv.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := Start(ctx, Config{Target: addr})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitOK(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	down := p.Mark("down")
	srv.Close()
	// Wait for failures to be observed, by event, not by sleeping.
	if err := p.WaitFailed(ctx, down, 5); err != nil {
		t.Fatal(err)
	}
	up := p.Mark("up")
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	srv2 := Serve(ln, "two")
	defer srv2.Close()
	if _, err := p.WaitOK(ctx, up); err != nil {
		t.Fatal(err)
	}
	s := p.Stop()
	g := s.Outage()
	if g.Failed < 5 || g.Reasons[ReasonRefused] == 0 {
		t.Fatalf("outage = %v, want >= 5 refused probes", g)
	}
	if !g.NextOK.After(down) || g.Unrecovered {
		t.Errorf("gap %v: next OK at %v is not after the server went down at %v", g, g.NextOK, down)
	}
	if r, ok := s.FirstFrom("two"); !ok || r.Start.Before(down) {
		t.Errorf("no answer from the restarted server after the outage")
	}
	if srv2.Served() == 0 {
		t.Error("restarted server counted no connection")
	}
}

func TestStartNeedsTarget(t *testing.T) {
	if _, err := Start(context.Background(), Config{}); err == nil {
		t.Fatal("Start without a target succeeded")
	}
}

func TestStartFailsWhenAWorkerCannotEnter(t *testing.T) {
	var n atomic.Int32
	enter := func(f func() error) error {
		if n.Add(1) == 3 {
			return errors.New("no such namespace")
		}
		return f()
	}
	_, err := Start(context.Background(), Config{Target: netip.MustParseAddrPort("127.0.0.1:9"), Workers: 5, Enter: enter})
	if err == nil {
		t.Fatal("Start succeeded although a worker could not enter its namespace")
	}
}
