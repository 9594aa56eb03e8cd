package vrrplab

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/internal/config"
)

func spec(advert time.Duration, preempt bool) Spec {
	return Spec{Name: "lb1", Ifname: "eth0", VRID: 51, Priority: 150, Advert: advert, Preempt: preempt,
		VIP: netip.MustParsePrefix("198.18.1.100/24")}
}

// TestVrrpdConfigParses checks the generated YAML against the real parser,
// so a change of the config format breaks this test, not a namespace run.
func TestVrrpdConfigParses(t *testing.T) {
	for _, preempt := range []bool{true, false} {
		for _, adv := range []time.Duration{20 * time.Millisecond, 100 * time.Millisecond, time.Second} {
			rt := 0
			text := VrrpdConfig(spec(adv, preempt), "/run/vrrptest/lb1.sock", &rt)
			c, err := config.Parse("generated.yaml", []byte(text))
			if err != nil {
				t.Fatalf("generated config does not parse: %v\n%s", err, text)
			}
			in := c.Instances[0]
			if in.VRID != 51 || in.Priority != 150 || in.AdvertInterval != adv || in.Interface != "eth0" ||
				in.Preempt == nil || *in.Preempt != preempt || len(in.VirtualAddresses) != 1 ||
				in.VirtualAddresses[0] != netip.MustParsePrefix("198.18.1.100/24") {
				t.Errorf("parsed instance = %+v, want the spec back", in)
			}
			if c.Global.RealtimePriority == nil || *c.Global.RealtimePriority != 0 {
				t.Errorf("realtime priority = %v, want 0", c.Global.RealtimePriority)
			}
			if c.Global.ControlSocket != "/run/vrrptest/lb1.sock" {
				t.Errorf("control socket = %q", c.Global.ControlSocket)
			}
		}
	}
}

// TestAuthPassConfigs: a Spec's password reaches both configs, vrrpd's
// through its parser.
func TestAuthPassConfigs(t *testing.T) {
	s := spec(time.Second, true)
	s.Version, s.AuthPass = 2, "1111"
	c, err := config.Parse("generated.yaml", []byte(VrrpdConfig(s, "/run/vrrptest/lb1.sock", nil)))
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Instances[0].Authentication; a.Type != config.AuthPass || a.Password != "1111" {
		t.Errorf("vrrpd authentication %+v, want pass 1111", a)
	}
	if got := KeepalivedConfig(s); !strings.Contains(got, "auth_type PASS\n        auth_pass 1111\n") {
		t.Errorf("keepalived config lacks the password:\n%s", got)
	}
}

func TestKeepalivedConfig(t *testing.T) {
	got := KeepalivedConfig(spec(100*time.Millisecond, false))
	for _, want := range []string{"vrrp_version 3", "virtual_router_id 51", "priority 150", "advert_int 0.1",
		"nopreempt", "state BACKUP", "198.18.1.100/24 dev eth0", "interface eth0"} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(KeepalivedConfig(spec(time.Second, true)), "nopreempt") {
		t.Error("preempting config says nopreempt")
	}
	if !strings.Contains(KeepalivedConfig(spec(time.Second, true)), "advert_int 1\n") {
		t.Error("1 s advert not rendered as advert_int 1")
	}
	// keepalived's own checker, when installed.
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("keepalived not installed: syntax check skipped (apt-get install keepalived)")
	}
	f := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(f, []byte(got), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-f", f).CombinedOutput(); err != nil {
		t.Errorf("keepalived -t rejects the config: %v\n%s\n%s", err, out, got)
	}
}
