package config

import (
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// base is a minimal valid instance; cases append fields to it.
const base = `instances:
  - name: vi1
    interface: eth0
    vrid: 51
    priority: 100
    virtual_addresses: [198.18.1.100/24]
`

func TestParseValid(t *testing.T) {
	c, err := Parse("ok.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	in := c.Instances[0]
	if in.AdvertInterval != time.Second || !*in.Preempt || !*in.Accept || in.Gratuitous.Repeat != 5 ||
		in.Gratuitous.SecondBurstDelay() != 5*time.Second || in.Gratuitous.RefreshRepeat != 1 {
		t.Errorf("defaults not applied: %+v", in)
	}
	if c.Global.ControlSocket != DefaultControlSocket || c.Global.NotifyTimeout != DefaultNotifyTimeout {
		t.Errorf("global defaults not applied: %+v", c.Global)
	}
	if want := []netip.Prefix{netip.MustParsePrefix("198.18.1.100/24")}; !cmp.Equal(in.VirtualAddresses, want, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })) {
		t.Errorf("vips = %v", in.VirtualAddresses)
	}
}

func TestParseSecondDelayZeroDisables(t *testing.T) {
	c, err := Parse("ok.yaml", []byte(base+"    gratuitous: {second_delay: 0s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Instances[0].Gratuitous.SecondBurstDelay(); d != 0 {
		t.Errorf("second delay = %v, want 0 (disabled)", d)
	}
}

// TestParseErrors checks that every error names file, line and field.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string // "line:field: substring of message"
	}{
		{"unknown field", base + "    vridd: 3\n", []string{"7:instances[0].vridd: unknown field"}},
		{"unknown top-level", "instancs: []\n", []string{"1:instancs: unknown field"}},
		{"bad duration", base + "    advert_interval: 1x\n", []string{"7:instances[0].advert_interval: \"1x\" is not a duration"}},
		{"bad prefix", strings.Replace(base, "198.18.1.100/24", "198.18.1.300/24", 1), []string{"6:instances[0].virtual_addresses[0]: \"198.18.1.300/24\" is not a valid address with prefix"}},
		{"bad int", strings.Replace(base, "vrid: 51", "vrid: abc", 1), []string{"4:instances[0].vrid: want an integer"}},
		{"bad bool", base + "    preempt: maybe\n", []string{"7:instances[0].preempt: want true or false"}},
		{"list expected", base + "    unicast_peers: 198.18.1.2\n", []string{"7:instances[0].unicast_peers: want a list"}},
		{"vrid range", strings.Replace(base, "vrid: 51", "vrid: 256", 1), []string{"4:instances[0].vrid: 256 is out of range 1-255"}},
		{"priority range", strings.Replace(base, "priority: 100", "priority: 0", 1), []string{"5:instances[0].priority: 0 is out of range"}},
		{"missing interface", strings.Replace(base, "    interface: eth0\n", "", 1), []string{"2:instances[0].interface: missing"}},
		{"advert interval not cs", base + "    advert_interval: 15ms\n", []string{"7:instances[0].advert_interval: 15ms must be a multiple of 10ms"}},
		{"advert interval too long", base + "    advert_interval: 41s\n", []string{"7:instances[0].advert_interval: 41s must be"}},
		{"duplicate name", base + strings.TrimPrefix(strings.Replace(strings.Replace(base, "vrid: 51", "vrid: 52", 1), "198.18.1.100", "198.18.1.101", 1), "instances:\n"),
			[]string{"7:instances[1].name: instance \"vi1\" is defined twice"}},
		{"duplicate vrid", base + strings.TrimPrefix(strings.Replace(strings.Replace(base, "vi1", "vi2", 1), "198.18.1.100", "198.18.1.101", 1), "instances:\n"),
			[]string{"9:instances[1].vrid: VRID 51 on eth0 is already used by instance \"vi1\""}},
		{"duplicate vip", base + strings.TrimPrefix(strings.Replace(strings.Replace(base, "vi1", "vi2", 1), "vrid: 51", "vrid: 52", 1), "instances:\n"),
			[]string{"11:instances[1].virtual_addresses[0]: 198.18.1.100 is already a virtual address of instance \"vi1\""}},
		{"mixed family", strings.Replace(base, "[198.18.1.100/24]", "[198.18.1.100/24, 2001:db8::1/64]", 1), []string{"6:instances[0].virtual_addresses[1]: 2001:db8::1/64: all virtual addresses"}},
		{"unicast source family", base + "    unicast_source: 2001:db8::2\n    unicast_peers: [198.18.1.2]\n", []string{"7:instances[0].unicast_source: 2001:db8::2 is not of the family"}},
		{"unicast without peers", base + "    unicast_source: 198.18.1.1\n", []string{"2:instances[0].unicast_peers: missing"}},
		{"unicast peer multicast", base + "    unicast_peers: [198.18.1.2, 224.0.0.18]\n", []string{"7:instances[0].unicast_peers[1]: 224.0.0.18 is not a unicast address"}},
		{"unicast peer twice", base + "    unicast_peers:\n      - 198.18.1.2\n      - 198.18.1.2\n", []string{"9:instances[0].unicast_peers[1]: 198.18.1.2 is listed twice"}},
		{"checksum v6", "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    priority: 100\n    virtual_addresses: [2001:db8::1/64]\n    checksum_message_only: true\n",
			[]string{"7:instances[0].checksum_message_only: applies to IPv4 only"}},
		{"vmac name without vmac", base + "    vmac_interface: vr1\n", []string{"7:instances[0].vmac_interface: set, but vmac is false"}},
		{"vmac name too long", base + "    vmac: true\n    vmac_interface: a-very-long-interface\n", []string{"8:instances[0].vmac_interface: \"a-very-long-interface\" is not a usable interface name"}},
		{"vmac name twice", base + "    vmac: true\n" + strings.TrimPrefix(strings.Replace(strings.Replace(strings.Replace(base, "vi1", "vi2", 1), "eth0", "eth1", 1), "198.18.1.100", "198.18.1.101", 1), "instances:\n") + "    vmac: true\n",
			[]string{"8:instances[1].vmac_interface: \"vrrp.51\" is already the virtual MAC interface of instance \"vi1\""}},
		{"preempt delay without preempt", base + "    preempt: false\n    preempt_delay: 2s\n", []string{"8:instances[0].preempt_delay: set, but preempt is false"}},
		{"garp repeat", base + "    gratuitous:\n      repeat: 500\n", []string{"8:instances[0].gratuitous.repeat: 500 is out of range 1-100"}},
		{"garp refresh", base + "    gratuitous:\n      refresh: 10ms\n", []string{"8:instances[0].gratuitous.refresh: 10ms: want 0 (off) or at least 100ms"}},
		{"track script unknown", base + "    track_scripts:\n      - name: nope\n", []string{"8:instances[0].track_scripts[0].name: no script is named \"nope\""}},
		{"track iface weight", base + "    track_interfaces:\n      - {name: eth1, weight: 300}\n", []string{"8:instances[0].track_interfaces[0].weight: 300 is out of range"}},
		{"track file relative", base + "    track_files:\n      - path: relative/file\n", []string{"8:instances[0].track_files[0].path: \"relative/file\" must be an absolute path"}},
		{"notify relative", base + "    notify:\n      master: [notify.sh]\n", []string{"8:instances[0].notify.master: \"notify.sh\" must be an absolute path"}},
		{"script timeout", base + "scripts:\n  - name: chk\n    command: [/bin/true]\n    interval: 1s\n    timeout: -2s\n", []string{"11:scripts[0].timeout: -2s must be positive"}},
		{"script no command", base + "scripts:\n  - name: chk\n", []string{"8:scripts[0].command: missing"}},
		{"script dup", base + "scripts:\n  - {name: chk, command: [/bin/true]}\n  - {name: chk, command: [/bin/true]}\n", []string{"9:scripts[1].name: script \"chk\" is defined twice"}},
		{"sync group unknown", base + "sync_groups:\n  - name: g\n    instances: [vi1, vi9]\n", []string{"9:sync_groups[0].instances[1]: no instance is named \"vi9\""}},
		{"sync group twice", base + "sync_groups:\n  - {name: g, instances: [vi1]}\n  - {name: h, instances: [vi1]}\n", []string{"9:sync_groups[1].instances[0]: instance \"vi1\" is already in sync group \"g\""}},
		{"log level", "global:\n  log_level: loud\n", []string{"2:global.log_level: unknown level \"loud\""}},
		{"metrics listen", "global:\n  metrics_listen: 9650\n", []string{"2:global.metrics_listen: \"9650\" is not host:port"}},
		{"control socket relative", "global:\n  control_socket: vrrpd.sock\n", []string{"2:global.control_socket: \"vrrpd.sock\" must be an absolute path"}},
		{"rt prio", "global:\n  realtime_priority: 100\n", []string{"2:global.realtime_priority: 100 is out of range 0-99"}},
		{"several errors at once", strings.Replace(strings.Replace(base, "vrid: 51", "vrid: 0", 1), "priority: 100", "priority: 300", 1),
			[]string{"4:instances[0].vrid: 0 is out of range", "5:instances[0].priority: 300 is out of range"}},
		{"syntax error", "instances:\n  - name: a\n   bad: indent\n", []string{"3:: "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.yaml))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("Parse: err = %v, want Errors", err)
			}
			var got []string
			for _, e := range es {
				if e.File != "t.yaml" {
					t.Errorf("error %v does not name the file", e)
				}
				got = append(got, e.Error())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				line, rest, _ := strings.Cut(w, ":")
				field, msg, _ := strings.Cut(rest, ": ")
				prefix := "t.yaml:" + line + ": "
				if field != "" {
					prefix += field + ": "
				}
				if !strings.HasPrefix(got[i], prefix) || !strings.Contains(got[i], msg) {
					t.Errorf("error %d = %q, want prefix %q containing %q", i, got[i], prefix, msg)
				}
			}
		})
	}
}

// TestExampleConfigs keeps the examples shipped with vrrpd valid.
func TestExampleConfigs(t *testing.T) {
	for _, f := range []string{"../../cmd/vrrpd/testdata/vrrpd.yaml"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			t.Skipf("%s not written yet", f)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(f, b); err != nil {
			t.Errorf("%v", err)
		}
	}
}
