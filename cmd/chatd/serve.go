package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/hachat/hachat/chatd"
)

// serve runs srv until ctx is done or a signal: SIGHUP reloads the
// operators and the MOTD, SIGTERM and SIGINT start the lameduck shutdown.
func serve(ctx context.Context, srv *chatd.Server, cfg chatd.Config, logger *slog.Logger) error {
	hups := make(chan os.Signal, 1)
	signal.Notify(hups, syscall.SIGHUP)
	defer signal.Stop(hups)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-hups:
				if err := srv.Rehash(); err != nil {
					logger.Warn("SIGHUP: reload failed, keeping the old operators and MOTD", "err", err)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	go func() {
		select {
		case sig := <-sigs:
			logger.Info("lameduck: draining before exit", "signal", sig.String(), "grace", cfg.Timers.LameduckGrace)
			sctx, scancel := context.WithTimeout(context.Background(), cfg.Timers.LameduckGrace)
			if err := srv.Shutdown(sctx); err != nil {
				logger.Warn("shutdown incomplete", "err", err)
			}
			scancel()
			cancel()
		case <-ctx.Done():
		}
	}()
	return srv.Run(ctx)
}
