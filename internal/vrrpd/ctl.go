package vrrpd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/internal/control"
	"github.com/hachat/hachat/ipvs"
	"github.com/hachat/hachat/vrrp/router"
)

// daemonState answers the control socket and performs reloads.
type daemonState struct {
	node *Node
	path string
	log  *slog.Logger

	mu  sync.Mutex // serializes reloads
	cfg *config.Config
}

// reload reads and validates the file; a bad file leaves everything as it
// is and says why.
func (d *daemonState) reload() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	cfg, err := config.Load(d.path)
	if err != nil {
		return fmt.Errorf("configuration refused, keeping the running one:\n%w", err)
	}
	for _, c := range []struct {
		name     string
		old, new string
	}{
		{"global.control_socket", d.cfg.Global.ControlSocket, cfg.Global.ControlSocket},
		{"global.metrics_listen", d.cfg.Global.MetricsListen, cfg.Global.MetricsListen},
	} {
		if c.old != c.new {
			d.log.Warn("setting ignored until restart", "field", c.name, "running", c.old, "file", c.new, "err", errRestartNeeded)
		}
	}
	cfg.Global.ControlSocket, cfg.Global.MetricsListen = d.cfg.Global.ControlSocket, d.cfg.Global.MetricsListen
	if err := d.node.Apply(cfg); err != nil {
		if errors.Is(err, ErrBalancerRefused) {
			return fmt.Errorf("configuration refused, keeping the running one: %w", err)
		}
		d.cfg = cfg
		return fmt.Errorf("reload applied with errors: %w", err)
	}
	d.cfg = cfg
	d.log.Info("configuration reloaded", "config", d.path, "instances", len(cfg.Instances))
	return nil
}

func (d *daemonState) current() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// Handle implements control.Handler.
func (d *daemonState) Handle(ctx context.Context, req control.Request) control.Response {
	fail := func(err error) control.Response { return control.Response{Error: err.Error()} }
	switch req.Command {
	case control.CmdStatus:
		cfg := d.current()
		resp := control.Response{OK: true, RouterID: cfg.Global.RouterID, Config: d.path, Instances: d.node.Status()}
		if b := d.node.bal(); b != nil {
			var tb bytes.Buffer
			ipvs.FormatStatus(&tb, b.Status())
			resp.BalancerTable = tb.String()
		}
		return resp
	case control.CmdMaintenance:
		if err := d.node.SetMaintenance(req.Instance, req.On); err != nil {
			return fail(err)
		}
		what := "out of"
		if req.On {
			what = "into"
		}
		d.log.Info("maintenance requested", "instance", req.Instance, "on", req.On)
		return control.Response{OK: true, Message: fmt.Sprintf("%s put %s maintenance", req.Instance, what)}
	case control.CmdReload:
		if err := d.reload(); err != nil {
			d.log.Error("reload", "err", err)
			return fail(err)
		}
		return control.Response{OK: true, Message: "configuration reloaded"}
	case control.CmdBalancer:
		b := d.node.bal()
		if b == nil {
			return control.Response{OK: true, Message: "no balancer: the configuration has no virtual_servers"}
		}
		st := b.Status()
		raw, err := json.Marshal(st)
		if err != nil {
			return fail(err)
		}
		var tb bytes.Buffer
		ipvs.FormatStatus(&tb, st)
		return control.Response{OK: true, Balancer: raw, BalancerTable: tb.String()}
	}
	return fail(fmt.Errorf("unknown command %q", req.Command))
}

// Subscribe implements control.Handler.
func (d *daemonState) Subscribe() (<-chan router.InstanceEvent, func()) {
	s := d.node.bus.Subscribe(256)
	return s.C, func() { d.node.bus.Unsubscribe(s) }
}
