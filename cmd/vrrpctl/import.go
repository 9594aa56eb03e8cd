package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/internal/keepalivedconf"
)

// Exit statuses of import-keepalived, a contract for migration scripts
// (vrrpctl(8), EXIT STATUS).
const (
	importWhole   = 0 // behaviour carried over whole
	importRefused = 1 // nothing written: the input cannot be converted
	importUsage   = 2
	importLossy   = 3 // converted, but the losses listed on stderr behave differently
)

// lookPath resolves bare script names; tests replace it.
var lookPath = exec.LookPath

// importKeepalived converts a keepalived.conf to vrrpd YAML, on stdout or
// into -o FILE (atomically, and only when converted), and lists on stderr
// every line it could not carry over.
func importKeepalived(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vrrpctl import-keepalived", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the vrrpd configuration to `file` (atomically, only if converted) instead of stdout")
	host, _ := os.Hostname()
	host, _, _ = strings.Cut(host, ".")
	configID := fs.String("config-id", host, "keepalived config `id` selecting @ID lines, as keepalived -i (default the short host name)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vrrpctl import-keepalived [-o vrrpd.yaml] [-config-id ID] KEEPALIVED.CONF")
		fmt.Fprintln(stderr, "exit status: 0 converted whole, 3 converted with the losses listed, 1 refused (nothing written)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return importUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return importUsage
	}
	src := fs.Arg(0)
	r, err := keepalivedconf.Import(ctx, src, keepalivedconf.Options{ConfigID: *configID, LookPath: lookPath})
	if err != nil {
		fmt.Fprintln(stderr, "vrrpctl: refused:", err)
		return importRefused
	}
	for _, n := range r.Notes {
		if !n.Loss {
			fmt.Fprintln(stderr, "note:", n)
		}
	}
	for _, n := range r.Losses() {
		fmt.Fprintln(stderr, "lost:", n)
	}
	if len(r.Refusals) > 0 {
		for _, n := range r.Refusals {
			fmt.Fprintln(stderr, "refused:", n)
		}
		fmt.Fprintf(stderr, "vrrpctl: %s: not converted (%d reason(s) above); nothing written\n", src, len(r.Refusals))
		return importRefused
	}
	// Render first: validation fills in the defaults, which the file leaves implicit.
	yaml, err := r.YAML()
	if err == nil {
		err = config.Validate("converted from "+src, r.Config)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vrrpctl: %s: the converted configuration is not valid for vrrpd, nothing written:\n%v\n", src, err)
		return importRefused
	}
	if err := ctx.Err(); err != nil {
		fmt.Fprintln(stderr, "vrrpctl: interrupted; nothing written")
		return importRefused
	}
	if *out == "" {
		if _, err := stdout.Write(yaml); err != nil {
			fmt.Fprintln(stderr, "vrrpctl:", err)
			return importRefused
		}
	} else if err := writeAtomic(*out, yaml); err != nil {
		fmt.Fprintln(stderr, "vrrpctl:", err)
		return importRefused
	}
	if n := len(r.Losses()); n > 0 {
		fmt.Fprintf(stderr, "vrrpctl: converted with %d loss(es) listed above: the result is valid but behaves differently there\n", n)
		return importLossy
	}
	fmt.Fprintln(stderr, "vrrpctl: converted whole: the result behaves as the keepalived configuration did")
	return importWhole
}

// writeAtomic writes data to path through a temporary file in the same
// directory and a rename, so the file is either the old one or the whole
// new one, never a truncated mix; the mode is 0644 as a config file's.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename: nothing to remove
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
