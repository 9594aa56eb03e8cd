package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hachat/hachat/internal/cli"
	"github.com/hachat/hachat/internal/control"
	"github.com/hachat/hachat/vrrp/router"
)

// exitCode runs vrrpctl as main does: what run returns is reported on
// stderr and becomes the exit status.
func exitCode(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.Report(stderr, "vrrpctl", run(ctx, args, stdout, stderr))
}

type handler struct{ last control.Request }

func (h *handler) Handle(_ context.Context, r control.Request) control.Response {
	h.last = r
	switch r.Command {
	case control.CmdStatus:
		return control.Response{OK: true, Instances: []router.Status{{Name: "front", Interface: "eth0", VRID: 51, State: "BACKUP", Priority: 100, BasePriority: 100,
			VIPs: []netip.Prefix{netip.MustParsePrefix("198.18.1.100/24")}, Maintenance: true}}, BalancerTable: "IP Virtual Server table\n"}
	case control.CmdMaintenance:
		if r.Instance != "front" {
			return control.Response{Error: `"` + r.Instance + `": no such instance`}
		}
		return control.Response{OK: true, Message: "front put into maintenance"}
	}
	return control.Response{Error: "unknown command"}
}

func (h *handler) Subscribe() (<-chan router.InstanceEvent, func()) {
	return make(chan router.InstanceEvent), func() {}
}

func TestVrrpctl(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	l, err := control.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	h := &handler{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go control.Serve(ctx, l, h)

	for _, tc := range []struct {
		args []string
		code int
		out  []string
		err  string
	}{
		{[]string{"status"}, 0, []string{"INSTANCE", "front", "BACKUP", "maintenance", "IP Virtual Server table"}, ""},
		{[]string{"maintenance", "on", "front"}, 0, []string{"front put into maintenance"}, ""},
		{[]string{"maintenance", "on", "nope"}, 1, nil, "no such instance"},
		{[]string{"maintenance", "sideways", "front"}, 2, nil, "usage"},
		{[]string{"frobnicate"}, 2, nil, "unknown command"},
		{nil, 2, nil, "usage"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := exitCode(ctx, append([]string{"-s", sock}, tc.args...), &out, &errb)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %s)", code, tc.code, errb.String())
			}
			for _, w := range tc.out {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			if tc.err != "" && !strings.Contains(errb.String(), tc.err) {
				t.Errorf("stderr lacks %q: %s", tc.err, errb.String())
			}
		})
	}
	var out bytes.Buffer
	if code := exitCode(ctx, []string{"-s", sock, "status", "--json"}, &out, &bytes.Buffer{}); code != 0 {
		t.Fatal("status --json failed")
	}
	var st []router.Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil || len(st) != 1 || st[0].Name != "front" {
		t.Errorf("status --json: %v %+v", err, st)
	}
	if h.last.Command != control.CmdStatus {
		t.Errorf("last request %+v", h.last)
	}
}
