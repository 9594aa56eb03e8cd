package vrrpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/hachat/hachat/internal/buildinfo"
	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/internal/control"
	"github.com/hachat/hachat/vrrp/router"
	"github.com/hachat/hachat/vrrp/vrrpmetrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"
)

// Options lets tests replace the kernel and the balancer; the zero value
// runs on Linux with the IPVS balancer.
type Options struct {
	Kernel      Kernel
	NewBalancer NewBalancerFunc
	HUP         <-chan os.Signal  // nil: SIGHUP
	Ready       func(sock string) // called once serving
}

// Serve runs the daemon for cfg, read from path, until ctx is done: it
// starts the instances and the balancer, serves the control socket and the
// metrics, reloads path on SIGHUP, and on the way out hands over and removes
// the virtual addresses. It tells systemd where it stands (sd_notify(3)).
func Serve(ctx context.Context, path string, cfg *config.Config, log *slog.Logger, o Options) error {
	k := o.Kernel
	if k == nil {
		k = newLinuxKernel()
	}
	// Background goroutines outlive ctx (the signal) until the instances
	// have handed over.
	bg, cancelBG := context.WithCancel(context.Background())
	defer cancelBG()

	if prio := *cfg.Global.RealtimePriority; prio > 0 {
		go keepRealtime(bg, prio, log)
	}

	node := NewNode(bg, k, log, o.NewBalancer)
	if o.NewBalancer == nil {
		node.newBalancer = node.ipvsBalancer
	}
	reg := registry(node, log)

	l, err := control.Listen(cfg.Global.ControlSocket)
	if err != nil {
		return err
	}
	defer os.Remove(cfg.Global.ControlSocket)
	if err := node.Apply(cfg); err != nil {
		if errors.Is(err, ErrBalancerRefused) {
			l.Close()
			cancelBG()
			node.Wait()
			return err
		}
		// Instances that could not start are reported; the others run.
		log.Error("some instances did not start", "err", err)
	}

	d := &daemonState{node: node, path: path, cfg: cfg, log: log}
	go control.Serve(bg, l, d)

	var metricsSrv *http.Server
	if cfg.Global.MetricsListen != "" {
		ml, err := net.Listen("tcp", cfg.Global.MetricsListen)
		if err != nil {
			node.Shutdown()
			return fmt.Errorf("metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go metricsSrv.Serve(ml)
		log.Info("metrics listening", "addr", ml.Addr().String())
	}

	hup := o.HUP
	if hup == nil {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGHUP)
		defer signal.Stop(c)
		hup = c
	}
	daemon.SdNotify(false, daemon.SdNotifyReady)
	log.Info("vrrpd running", "config", path, "instances", len(cfg.Instances), "control_socket", cfg.Global.ControlSocket)
	if o.Ready != nil {
		o.Ready(cfg.Global.ControlSocket)
	}
	for {
		select {
		case <-hup:
			daemon.SdNotify(false, reloadingMessage())
			if err := d.reload(); err != nil {
				log.Error("reload", "err", err)
			}
			daemon.SdNotify(false, daemon.SdNotifyReady)
		case <-ctx.Done():
			daemon.SdNotify(false, daemon.SdNotifyStopping)
			log.Info("stopping: handing over and removing virtual addresses")
			node.Shutdown()
			if metricsSrv != nil {
				sctx, cancel := context.WithTimeout(context.Background(), time.Second)
				metricsSrv.Shutdown(sctx)
				cancel()
			}
			cancelBG()
			node.Wait()
			log.Info("stopped")
			return nil
		}
	}
}

// registry holds every metric vrrpd serves: the Go runtime's, the
// process's, the instances', the balancer's once it runs, and the node's
// own counters.
func registry(node *Node, log *slog.Logger) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildinfo.Collector("vrrpd"))
	node.onBalancer = func(b Balancer) {
		for _, c := range b.Collectors() {
			if err := reg.Register(c); err != nil {
				log.Warn("register balancer metrics", "err", err)
			}
		}
	}
	reg.MustRegister(vrrpmetrics.NewCollector(node))
	for _, c := range []struct {
		name, help string
		v          func() uint64
	}{
		{"vrrpd_notify_runs_total", "Notify commands run.", node.notifier.Runs.Load},
		{"vrrpd_notify_failures_total", "Notify commands that failed or timed out.", node.notifier.Failed.Load},
		{"vrrpd_notify_dropped_total", "Transitions whose notify commands were skipped because the queue was full.", node.notifier.Dropped.Load},
		{"vrrpd_quorum_command_runs_total", "quorum_up and quorum_down commands run.", node.quorum.Runs.Load},
		{"vrrpd_quorum_command_failures_total", "quorum_up and quorum_down commands that failed or timed out.", node.quorum.Failed.Load},
		{"vrrpd_quorum_command_dropped_total", "Quorum changes whose command was skipped because the queue was full.", node.quorum.Dropped.Load},
		{"vrrpd_virtual_route_errors_total", "Virtual routes and rules the kernel refused to add or remove.", node.routeErrors.Load},
		{"vrrpd_alert_mails_sent_total", "E-mail alerts the SMTP server accepted.", node.alerts.mail.Sent.Load},
		{"vrrpd_alert_mails_failed_total", "E-mail alerts that could not be delivered.", node.alerts.mail.Failed.Load},
		{"vrrpd_alert_mails_dropped_total", "E-mail alerts dropped because the queue was full.", node.alerts.mail.Dropped.Load},
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help}, func() float64 { return float64(c.v()) }))
	}
	for _, fam := range []string{"ipv4", "ipv6"} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vrrpd_accept_mode_dropped_packets_total",
			Help:        "Packets to virtual addresses refused because their instance has accept off (RFC 5798 Accept_Mode).",
			ConstLabels: prometheus.Labels{"family": fam}}, func() float64 { return float64(node.AcceptDropped(fam)) }))
	}
	return reg
}

// errRestartNeeded marks settings a reload cannot change.
var errRestartNeeded = errors.New("needs a restart to change")

// keepRealtime keeps every thread of the daemon at SCHED_RR prio, catching
// the threads the Go runtime starts later, until ctx is done.
func keepRealtime(ctx context.Context, prio int, log *slog.Logger) {
	// The runtime starts most of its threads in the first moments: look
	// often then, every second after.
	waits := []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond}
	for i := 0; ; i++ {
		if _, err := router.SetProcessRealtime(prio); err != nil {
			log.Warn("realtime priority unavailable; set global.realtime_priority: 0 to silence", "err", err)
			return
		}
		wait := time.Second
		if i < len(waits) {
			wait = waits[i]
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// reloadingMessage is RELOADING=1 with the MONOTONIC_USEC that systemd's
// Type=notify-reload wants alongside it (sd_notify(3)).
func reloadingMessage() string {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return daemon.SdNotifyReloading
	}
	return fmt.Sprintf("%s\nMONOTONIC_USEC=%d", daemon.SdNotifyReloading, ts.Nano()/1000)
}
