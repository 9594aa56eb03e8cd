package vrrplab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hachat/hachat/test/netns"
)

// Keepalived runs Debian's keepalived (2.2.x) as a VRRPv3 router, VRRP
// subsystem only (-P: its IPVS checker cannot start without IP_VS and would
// take VRRP down with it), in the foreground (-n) so the recorded PID is the
// parent's; the VRRP child's PID comes from its pid file (-r).
type Keepalived struct {
	Bin string // default /usr/sbin/keepalived
}

// Name implements Impl.
func (k Keepalived) Name() string { return "keepalived" }

// KeepalivedConfig renders a keepalived.conf for s.
func KeepalivedConfig(s Spec) string {
	var b strings.Builder
	version := s.Version
	if version == 0 {
		version = 3
	}
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n    vrrp_version %d\n}\n", s.Name, version)
	fmt.Fprintf(&b, "vrrp_instance VI_%d {\n", s.VRID)
	// keepalived always starts in BACKUP whatever "state" says; MASTER only
	// documents the intended owner.
	state := "BACKUP"
	if s.Priority == 255 {
		state = "MASTER"
	}
	fmt.Fprintf(&b, "    state %s\n    interface %s\n    virtual_router_id %d\n    priority %d\n", state, s.Ifname, s.VRID, s.Priority)
	fmt.Fprintf(&b, "    advert_int %s\n", strconv.FormatFloat(s.Advert.Seconds(), 'f', -1, 64))
	if !s.Preempt {
		fmt.Fprintf(&b, "    nopreempt\n")
	}
	if s.AuthPass != "" {
		fmt.Fprintf(&b, "    authentication {\n        auth_type PASS\n        auth_pass %s\n    }\n", s.AuthPass)
	}
	if s.VMAC {
		// The VIP goes on the macvlan (vrrp.<VRID>); adverts by eth0
		// unless VMACXmit asks for them from the virtual MAC.
		fmt.Fprintf(&b, "    use_vmac\n")
		if !s.VMACXmit {
			fmt.Fprintf(&b, "    vmac_xmit_base\n")
		}
		fmt.Fprintf(&b, "    virtual_ipaddress {\n        %s\n    }\n}\n", s.VIP)
		return b.String()
	}
	fmt.Fprintf(&b, "    virtual_ipaddress {\n        %s dev %s\n    }\n}\n", s.VIP, s.Ifname)
	return b.String()
}

// Start implements Impl. It returns once the VRRP child has written its pid file.
func (k Keepalived) Start(ctx context.Context, h *netns.Host, s Spec) (Router, error) {
	bin := k.Bin
	if bin == "" {
		bin = "/usr/sbin/keepalived"
	}
	dir := filepath.Join(h.Lab().Dir(), h.Name(), "keepalived")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("vrrplab: keepalived on %s: %w", h.Name(), err)
	}
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(KeepalivedConfig(s)), 0o644); err != nil {
		return nil, fmt.Errorf("vrrplab: keepalived on %s: %w", h.Name(), err)
	}
	pid, vpid, cpid := filepath.Join(dir, "keepalived.pid"), filepath.Join(dir, "vrrp.pid"), filepath.Join(dir, "checkers.pid")
	for _, f := range []string{pid, vpid, cpid} {
		_ = os.Remove(f) // a stale file from a killed run would make keepalived think it runs
	}
	p, err := h.Start(ctx, "keepalived", bin, "-n", "-l", "-D", "-G", "-P",
		"-f", conf, "-p", pid, "-r", vpid, "-c", cpid, "-i", s.Name)
	if err != nil {
		return nil, err
	}
	r := &keepalivedRouter{p: p, vrrpPIDFile: vpid}
	if err := r.waitChild(10 * time.Second); err != nil {
		_ = p.Kill9()
		return nil, err
	}
	return r, nil
}

type keepalivedRouter struct {
	p           *netns.Proc
	vrrpPIDFile string
	child       int
}

func (r *keepalivedRouter) waitChild(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		b, err := os.ReadFile(r.vrrpPIDFile)
		if err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				r.child = pid
				return nil
			}
		}
		select {
		case <-r.p.Done():
			return fmt.Errorf("vrrplab: keepalived exited at start:\n%s", r.p.Log())
		case <-ctx.Done():
			return fmt.Errorf("vrrplab: keepalived VRRP child wrote no pid file %s: %w", r.vrrpPIDFile, ctx.Err())
		case <-t.C:
		}
	}
}

func (r *keepalivedRouter) Stop(grace time.Duration) error {
	return ignoreSignalExit(r.p.Stop(grace))
}

// Kill9 freezes the parent first, so it can neither respawn the child nor,
// by dying first, make the child leave gracefully; then kills both.
func (r *keepalivedRouter) Kill9() error {
	if err := r.p.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	if r.child > 1 {
		if err := syscall.Kill(r.child, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("vrrplab: kill -9 keepalived VRRP child %d: %w", r.child, err)
		}
	}
	if err := r.p.Kill9(); err != nil {
		return err
	}
	<-r.p.Done()
	return nil
}

func (r *keepalivedRouter) Done() <-chan struct{} { return r.p.Done() }
func (r *keepalivedRouter) Log() string           { return r.p.Log() }

// ignoreSignalExit treats "terminated by SIGTERM" as a clean stop.
func ignoreSignalExit(err error) error {
	if err == nil {
		return nil
	}
	if ws, ok := exitStatus(err); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
		return nil
	}
	return err
}
