package balancer

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/internal/vrrpd"
	"github.com/hachat/hachat/ipvs"
	"github.com/hachat/hachat/test/cpusoak"
)

// helperEnv names the config file when the test binary runs as a balancer.
const helperEnv = "HACHAT_LB_HELPER_CONFIG"

func TestMain(m *testing.M) {
	cpusoak.Main()
	if mode := os.Getenv(loadgenEnv); mode != "" {
		if err := runLoadgen(mode); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if path := os.Getenv(helperEnv); path != "" {
		if err := runBalancer(path); err != nil {
			fmt.Fprintln(os.Stderr, "balancer helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runBalancer runs an ipvs.Balancer on the nftables data plane until
// SIGTERM: SIGUSR1 makes it master, SIGUSR2 backup, SIGHUP prints its
// status table.
func runBalancer(path string) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := ipvs.NewBalancer(vrrpd.BalancerConfig(cfg), ipvs.Options{Logger: log, DataPlane: "nftables", ReconcileInterval: 200 * time.Millisecond})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP)
	inst := cfg.VirtualServers[0].Instance
	go func() {
		for s := range sigs {
			switch s {
			case syscall.SIGUSR1:
				b.VRRPStateChanged(inst, true)
				fmt.Println("ROLE master")
			case syscall.SIGUSR2:
				b.VRRPStateChanged(inst, false)
				fmt.Println("ROLE backup")
			case syscall.SIGHUP:
				ipvs.FormatStatus(os.Stdout, b.Status())
			}
		}
	}()
	fmt.Println("READY", b.DataPlaneName())
	return b.Run(ctx)
}
