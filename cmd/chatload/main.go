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
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	code := exitCode(err)
	var u usageError
	if code == 1 || (code == 2 && errors.As(err, &u) && !u.printed) {
		fmt.Fprintln(os.Stderr, "chatload:", err)
	}
	stop()
	os.Exit(code)
}

// usageError is a command line that does not parse; printed says the flag
// package has shown it with the usage already.
type usageError struct {
	error
	printed bool
}

// exitCode is chatload's exit status (chatload(1) EXIT STATUS): 0 on success
// and for -h, 2 for a bad command line, 1 for a failed run.
func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}

// flagError marks what FlagSet.Parse returned as a usage error (it printed
// the message and the flags); -h stays flag.ErrHelp.
func flagError(err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err, true}
}
