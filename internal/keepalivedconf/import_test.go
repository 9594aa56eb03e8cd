package keepalivedconf

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hachat/hachat/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden .yaml files")

// TestGolden converts each real-world keepalived.conf in testdata, checks the
// YAML against its golden file, and checks that vrrpd's own parser accepts it.
func TestGolden(t *testing.T) {
	confs, _ := filepath.Glob("testdata/*.conf")
	if len(confs) < 5 {
		t.Fatalf("want the real-world configs in testdata, found %v", confs)
	}
	for _, conf := range confs {
		t.Run(filepath.Base(conf), func(t *testing.T) {
			r, err := ImportFile(conf)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.YAML()
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(conf, ".conf") + ".yaml"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("YAML differs from %s (-want +got):\n%s", golden, diff)
			}
			if _, err := config.Parse(golden, got); err != nil {
				t.Errorf("vrrpd rejects the imported config:\n%v", err)
			}
		})
	}
}

// lex tokenizes src as the file named file, following no includes deeper than maxIncludeDepth-depth.
func lex(file, src string, depth int) ([]token, error) {
	lx := &lexer{ctx: context.Background()}
	err := lx.lex(file, src, depth)
	return lx.out, err
}

// fakePath resolves bare names as /usr/bin/NAME, except "missing".
func fakePath(name string) (string, error) {
	if name == "missing" {
		return "", exec.ErrNotFound
	}
	return "/usr/bin/" + name, nil
}

func importString(t *testing.T, src string) *Result {
	t.Helper()
	toks, err := lex("keepalived.conf", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	stmts, err := parse(toks)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ConvertContext(context.Background(), stmts, Options{LookPath: fakePath})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNotesNameLineAndReason(t *testing.T) {
	r := importString(t, `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 5
    priority 100
    mcast_src_ip 10.0.0.2
    frobnicate yes
    virtual_ipaddress {
        10.0.0.1/24
    }
}
`)
	var got []string
	for _, n := range r.Notes {
		got = append(got, n.String())
	}
	want := []string{
		"keepalived.conf:5: mcast_src_ip 10.0.0.2: multicast adverts leave from the interface's primary address; use unicast_source with unicast peers to pin the source",
		"keepalived.conf:6: frobnicate yes: vrrp_instance option not carried over",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

func TestConversions(t *testing.T) {
	r := importString(t, `
vrrp_instance A { interface eth0
  virtual_router_id 9
  priority 254
  advert_int 0.05
  nopreempt
  virtual_ipaddress { 10.1.1.1 }
}
virtual_server 10.1.1.1 6667 {
  delay_loop 3
  lb_algo rr
  lb_kind NAT
  real_server 10.2.0.1 6667 {
    weight 2
    inhibit_on_failure
    TCP_CHECK { connect_timeout 1
      retry 2 }
  }
}
`)
	in := r.Config.Instances[0]
	if in.AdvertInterval != 50*time.Millisecond || in.Preempt == nil || *in.Preempt || in.VRID != 9 || in.Priority != 254 {
		t.Errorf("instance: %+v", in)
	}
	if got := in.VirtualAddresses[0].String(); got != "10.1.1.1/32" {
		t.Errorf("address without a length: %s, want a host prefix as keepalived", got)
	}
	rs := r.Config.VirtualServers[0].RealServers[0]
	want := &config.Check{Type: "tcp", Interval: 3 * time.Second, Timeout: time.Second, RetryInterval: time.Second, Rise: 1, Fall: 3, InhibitOnFailure: true}
	if diff := cmp.Diff(want, rs.Check, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("check (-want +got):\n%s", diff)
	}
	if len(r.Notes) != 0 {
		t.Errorf("unexpected notes: %v", r.Notes)
	}
}

// TestAcceptMode: accept and no_accept carry over; vrrp_strict makes
// no_accept the default of instances that say neither, and without it the
// default is left to vrrpd (accept, as keepalived).
func TestAcceptMode(t *testing.T) {
	instances := `
vrrp_instance A { interface eth0
  virtual_router_id 1
  virtual_ipaddress { 10.1.1.1 }
}
vrrp_instance B { interface eth0
  virtual_router_id 2
  accept
  virtual_ipaddress { 10.1.1.2 }
}
vrrp_instance C { interface eth0
  virtual_router_id 3
  no_accept
  virtual_ipaddress { 10.1.1.3 }
}
`
	show := func(b *bool) string {
		if b == nil {
			return "unset"
		}
		return fmt.Sprint(*b)
	}
	for _, tc := range []struct {
		src  string
		want []string
	}{
		{instances, []string{"unset", "true", "false"}},
		{"global_defs { vrrp_strict }\n" + instances, []string{"false", "true", "false"}},
	} {
		r := importString(t, tc.src)
		var got []string
		for _, in := range r.Config.Instances {
			got = append(got, show(in.Accept))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("accept of A, B, C = %v, want %v\n%s", got, tc.want, tc.src)
		}
	}
}

// TestVMAC: use_vmac carries over, with its interface name and
// vmac_xmit_base, for IPv4 and IPv6.
func TestVMAC(t *testing.T) {
	r := importString(t, `
vrrp_instance A { interface eth0
  virtual_router_id 1
  use_vmac vrrp.a
  vmac_xmit_base
  virtual_ipaddress { 10.1.1.1 }
}
vrrp_instance B { interface eth0
  virtual_router_id 2
  use_vmac
  virtual_ipaddress { 10.1.1.2 }
}
vrrp_instance C { interface eth0
  virtual_router_id 3
  use_vmac
  virtual_ipaddress { 2001:db8::1 }
}
`)
	var got []string
	for _, in := range r.Config.Instances {
		got = append(got, fmt.Sprintf("%v %q xmit_base=%v", in.VMAC, in.VMACInterface, in.VMACXmitBase))
	}
	if want := []string{`true "vrrp.a" xmit_base=true`, `true "" xmit_base=false`, `true "" xmit_base=false`}; !slices.Equal(got, want) {
		t.Errorf("vmac of A, B, C = %q, want %q", got, want)
	}
	if len(r.Notes) != 0 {
		t.Errorf("notes %v, want none: vrrpd sends from the virtual MAC as keepalived does, or from the interface with vmac_xmit_base", r.Notes)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for name, src := range map[string]string{
		"unclosed block": "vrrp_instance A {\n interface eth0\n",
		"stray close":    "}\n",
		"open alone":     "{\n}\n",
		"quote":          "vrrp_script x {\n script \"/bin/true\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			toks, err := lex("k.conf", src, 0)
			if err == nil {
				_, err = parse(toks)
			}
			if err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestIncludeLoopEnds(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.conf")
	if err := os.WriteFile(p, []byte("include a.conf\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ImportFile(p); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("include loop: %v", err)
	}
}

func FuzzImport(f *testing.F) {
	confs, _ := filepath.Glob("testdata/*.conf")
	for _, c := range confs {
		b, _ := os.ReadFile(c)
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, src string) {
		toks, err := lex("f.conf", src, maxIncludeDepth) // no includes followed
		if err != nil {
			return
		}
		stmts, err := parse(toks)
		if err != nil {
			return
		}
		r := Convert(stmts)
		y, err := r.YAML()
		if err != nil {
			t.Fatalf("YAML: %v", err)
		}
		// The YAML says what the structure says: vrrpd accepts one
		// exactly when it accepts the other.
		_, perr := config.Parse("f.yaml", y)
		verr := config.Validate("f.yaml", r.Config)
		if (perr == nil) != (verr == nil) {
			t.Fatalf("Parse of the YAML: %v; Validate of the structure: %v\n%s", perr, verr, y)
		}
	})
}
