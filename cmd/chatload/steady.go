package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/hachat/hachat/chatload"
)

// runSteady runs "steady" and, with failover set, "failover": the same
// chat load, the latter with a hook on cue and resume accounting.
func runSteady(ctx context.Context, args []string, stdout, stderr io.Writer, failover bool) error {
	name := "steady"
	if failover {
		name = "failover"
	}
	fs := newFlagSet(name, stderr)
	var c common
	c.register(fs)
	channels := fs.Int("channels", 1, "channels")
	members := fs.Int("members", 10, "members per channel (M)")
	senders := fs.Int("senders", 0, "senders in total (S; default one per channel)")
	rate := fs.Float64("rate", 100, "messages per second, all senders together (R), open loop")
	duration := fs.Duration("duration", 10*time.Second, "how long senders send")
	size := fs.Int("size", 64, "bytes of text per message")
	setupRate := fs.Float64("setup-rate", 200, "members connecting per second before the run")
	var hook *string
	var cue, ping, dead, drain, backoff, hookTimeout *time.Duration
	var histLimit *int
	if failover {
		hook = fs.String("hook", "", "shell command run at the cue: kills a chat node or fails the VRRP master (required)")
		cue = fs.Duration("cue", 0, "when to run the hook, after the first message (default: a third into --duration)")
		ping = fs.Duration("ping-interval", 500*time.Millisecond, "PING an idle connection this often")
		dead = fs.Duration("dead-after", 3*time.Second, "declare a connection dead after this long without data")
		drain = fs.Duration("drain", 10*time.Second, "after the last message, wait at most this long for resumes and deliveries")
		histLimit = fs.Int("history-limit", 0, "CHATHISTORY page size (default: the server's ISUPPORT value)")
		backoff = fs.Duration("backoff", 50*time.Millisecond, "first pause between reconnect attempts (doubles to 1s)")
		hookTimeout = fs.Duration("hook-timeout", time.Minute, "kill the hook (its process group) after this long")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	src, err := c.sourceAddrs()
	if err != nil {
		return err
	}
	pp, err := newPrinter(c.progress, stderr)
	if err != nil {
		return err
	}
	sc := chatload.SteadyConfig{
		Servers: c.servers, SourceAddrs: src, Channels: *channels, Members: *members, Senders: *senders,
		Rate: *rate, Duration: *duration, MessageSize: *size, Timeout: c.timeout, SetupRate: *setupRate,
		NickPrefix: c.nickPrefix, NoRaiseFDLimit: c.noRaiseFD, Progress: pp.callback(),
	}
	if !failover {
		res, err := chatload.RunSteady(ctx, sc)
		pp.finish()
		if res == nil {
			return err
		}
		if _, werr := c.report(stdout, res, nil, func(dir string) ([]string, error) { return chatload.PlotSteady(dir, res) }); werr != nil {
			return werr
		}
		if err != nil {
			return err
		}
		return res.Check()
	}
	if *hook == "" {
		return errors.New("failover needs --hook 'command' (use --hook true for a control run)")
	}
	if *cue == 0 {
		*cue = *duration / 3
	}
	res, err := chatload.RunFailover(ctx, chatload.FailoverConfig{
		Steady: sc, CueAfter: *cue, Hook: chatload.ShellHook(*hook), HookCommand: *hook,
		PingInterval: *ping, DeadAfter: *dead, Drain: *drain, HistoryLimit: *histLimit, Backoff: *backoff,
		HookTimeout: *hookTimeout,
	})
	pp.finish()
	if res == nil {
		return err
	}
	if _, werr := c.report(stdout, res, nil, func(dir string) ([]string, error) { return chatload.PlotFailover(dir, res) }); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	return res.Check()
}
