package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/internal/kaimport"
)

// importKeepalived converts a keepalived.conf to vrrpd YAML on stdout and lists
// every line it could not carry over on stderr. It exits 1 when the result is
// not a valid vrrpd configuration, so a migration script can stop there.
func importKeepalived(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vrrpctl import-keepalived", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: vrrpctl import-keepalived KEEPALIVED.CONF > vrrpd.yaml") }
	if err := fs.Parse(args); err != nil {
		return parseStatus(err)
	}
	if args = fs.Args(); len(args) != 1 {
		fs.Usage()
		return 2
	}
	r, err := kaimport.ImportFile(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "vrrpctl:", err)
		return 1
	}
	out, err := r.YAML()
	if err != nil {
		fmt.Fprintln(stderr, "vrrpctl:", err)
		return 1
	}
	for _, n := range r.Notes {
		fmt.Fprintln(stderr, "not carried over:", n)
	}
	if _, err := config.Parse("imported from "+args[0], out); err != nil {
		fmt.Fprintf(stderr, "vrrpctl: the converted configuration is not valid for vrrpd; fix these in the output:\n%v\n", err)
		stdout.Write(out)
		return 1
	}
	stdout.Write(out)
	fmt.Fprintf(stderr, "%d line(s) not carried over; the result is a valid vrrpd configuration\n", len(r.Notes))
	return 0
}
