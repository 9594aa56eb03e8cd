// Command chatload drives load and failures against IRC servers and reports
// with httperf's figures; see package github.com/hachat/hachat/chatload.
//
//	chatload storm    --server host:port --conns 1000 --rate 100 [--series 1000:100,2000:200 --reps 10]
//	chatload steady   --server a:6667,b:6667 --channels 10 --members 50 --senders 10 --rate 500 --duration 60s
//	chatload failover --server vip:6667 --hook 'ssh lb1 systemctl stop keepalived' --cue 20s --duration 60s
//	chatload ceiling  --server host:port --start-rate 100 --step 100 --max-rate 5000
//	chatload plot     --out figs single.json balanced.json
//
// A storm prints httperf's summary; a series, steady, failover or ceiling run
// prints Markdown tables. --json, --markdown and --plot write files as well.
// Progress goes to stderr: a bar on a terminal, plain lines otherwise.
// failover exits non-zero when an accepted message is missing after resume.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hachat/hachat/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := cli.Report(os.Stderr, "chatload", run(ctx, os.Args[1:], os.Stdout, os.Stderr))
	stop()
	os.Exit(code)
}
