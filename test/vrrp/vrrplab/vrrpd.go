package vrrplab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hachat/hachat/internal/control"
	"github.com/hachat/hachat/test/netns"
	"github.com/hachat/hachat/vrrp/router"
)

// Vrrpd runs our daemon, cmd/vrrpd.
type Vrrpd struct {
	Bin string // path to a built vrrpd
	// Args returns the command line after the binary for a config file;
	// default: -config <file>.
	Args func(config string) []string
	// RealtimePriority, when set, is written as global.realtime_priority
	// (0: ordinary scheduling); nil keeps the daemon's default.
	RealtimePriority *int
}

// Name implements Impl.
func (v Vrrpd) Name() string { return "vrrpd" }

// VrrpdConfig renders a vrrpd YAML config (internal/config) for s, with the
// control socket at sock and, if rt is not nil, that realtime priority.
func VrrpdConfig(s Spec, sock string, rt *int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  router_id: %s\n  control_socket: %s\n  log_level: debug\n", s.Name, sock)
	if rt != nil {
		fmt.Fprintf(&b, "  realtime_priority: %d\n", *rt)
	}
	fmt.Fprintf(&b, "instances:\n  - name: vi%d\n    interface: %s\n    vrid: %d\n    priority: %d\n", s.VRID, s.Ifname, s.VRID, s.Priority)
	fmt.Fprintf(&b, "    advert_interval: %s\n    preempt: %t\n    virtual_addresses:\n      - %s\n", s.Advert, s.Preempt, s.VIP)
	if s.VMAC {
		fmt.Fprintf(&b, "    vmac: true\n")
		if !s.VMACXmit {
			fmt.Fprintf(&b, "    vmac_xmit_base: true\n")
		}
	}
	if s.Version != 0 {
		fmt.Fprintf(&b, "    version: %d\n", s.Version)
	}
	if s.V2Compat {
		fmt.Fprintf(&b, "    v2_compat: true\n")
	}
	if s.AuthPass != "" {
		fmt.Fprintf(&b, "    authentication: {type: pass, password: %q}\n", s.AuthPass)
	}
	b.WriteString(s.VrrpdExtra)
	return b.String()
}

// ConfigPaths are where Start writes a router's config and control socket.
func (v Vrrpd) ConfigPaths(h *netns.Host) (dir, conf, sock string) {
	dir = filepath.Join(h.Lab().Dir(), h.Name(), "vrrpd")
	return dir, filepath.Join(dir, "vrrpd.yaml"), filepath.Join(dir, "vrrpd.sock")
}

// Start implements Impl.
func (v Vrrpd) Start(ctx context.Context, h *netns.Host, s Spec) (Router, error) {
	dir, conf, sock := v.ConfigPaths(h)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("vrrplab: vrrpd on %s: %w", h.Name(), err)
	}
	if err := os.WriteFile(conf, []byte(VrrpdConfig(s, sock, v.RealtimePriority)), 0o644); err != nil {
		return nil, fmt.Errorf("vrrplab: vrrpd on %s: %w", h.Name(), err)
	}
	_ = os.Remove(sock) // left behind by a kill -9
	args := []string{"-config", conf}
	if v.Args != nil {
		args = v.Args(conf)
	}
	p, err := h.Start(ctx, "vrrpd", append([]string{v.Bin}, args...)...)
	if err != nil {
		return nil, err
	}
	return &vrrpdRouter{p: p}, nil
}

type vrrpdRouter struct{ p *netns.Proc }

func (r *vrrpdRouter) Stop(grace time.Duration) error { return ignoreSignalExit(r.p.Stop(grace)) }
func (r *vrrpdRouter) Kill9() error {
	if err := r.p.Kill9(); err != nil {
		return err
	}
	<-r.p.Done()
	return nil
}
func (r *vrrpdRouter) Done() <-chan struct{} { return r.p.Done() }
func (r *vrrpdRouter) Log() string           { return r.p.Log() }

func exitStatus(err error) (syscall.WaitStatus, bool) {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0, false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ws, ok
}

// VrrpdStatus asks the vrrpd on h, over its control socket, for the state of
// its instances (what "vrrpctl status --json" prints).
func VrrpdStatus(h *netns.Host) ([]router.Status, error) {
	_, _, sock := Vrrpd{}.ConfigPaths(h)
	resp, err := control.Do(sock, control.Request{Command: control.CmdStatus})
	if err != nil {
		return nil, fmt.Errorf("vrrplab: vrrpd status on %s: %w", h.Name(), err)
	}
	return resp.Instances, nil
}
