package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// noPriority is base without its priority line.
var noPriority = strings.Replace(base, "    priority: 100\n", "", 1)

// TestInstanceDefaults checks the defaults vrrpd.yaml(5) documents for
// fields left out ("INSTANCES": priority 100, version 3).
func TestInstanceDefaults(t *testing.T) {
	for _, tc := range []struct {
		name     string
		yaml     string
		priority int
		version  int
	}{
		{"priority omitted is 100", noPriority, 100, 3},
		{"priority given", base, 100, 3},
		{"version 2", base + "    version: 2\n", 100, 2},
		{"version 3", base + "    version: 3\n", 100, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("t.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			in := c.Instances[0]
			if diff := cmp.Diff([]int{tc.priority, tc.version}, []int{in.Priority, in.Version}); diff != "" {
				t.Errorf("priority, version (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExplicitValuesAreChecked checks that a field written out is validated
// as written, never silently replaced by its default (issue #13:
// advert_interval: 0ms became 1s), and the VRRP version rules of RFC 3768.
func TestExplicitValuesAreChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want string // "line:field: substring"
	}{
		{"advert_interval 0ms", base + "    advert_interval: 0ms\n", "7:instances[0].advert_interval: 0s is not an interval"},
		{"priority 0", strings.Replace(base, "priority: 100", "priority: 0", 1), "5:instances[0].priority: 0 is out of range 1-255"},
		{"version 0", base + "    version: 0\n", "7:instances[0].version: 0 is not a VRRP version"},
		{"version 4", base + "    version: 4\n", "7:instances[0].version: 4 is not a VRRP version"},
		{"RFC 3768 5.3.7 whole seconds", base + "    version: 2\n    advert_interval: 500ms\n", "8:instances[0].advert_interval: 500ms must be a whole number of seconds"},
		{"RFC 3768 IPv4 only", "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    version: 2\n    virtual_addresses: [2001:db8::1/64]\n",
			"5:instances[0].version: VRRPv2 carries IPv4 addresses only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.yaml))
			var es Errors
			if !errors.As(err, &es) || len(es) != 1 {
				t.Fatalf("Parse: err = %v, want exactly one error", err)
			}
			line, rest, _ := strings.Cut(tc.want, ":")
			field, msg, _ := strings.Cut(rest, ": ")
			if got := es[0].Error(); !strings.HasPrefix(got, "t.yaml:"+line+": "+field+": ") || !strings.Contains(got, msg) {
				t.Errorf("error = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestWarningsInterfaceAbsent checks that an interface missing from this
// namespace is a warning with file and line, not an error (keepalived
// warns and starts the instance in FAULT).
func TestWarningsInterfaceAbsent(t *testing.T) {
	y := base + "    track_interfaces:\n      - {name: eth1}\n      - {name: bond0}\n"
	c, err := Parse("t.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{"eth0": true, "eth1": true}
	var got []string
	for _, w := range c.Warnings(func(n string) bool { return present[n] }) {
		got = append(got, w.Error())
	}
	want := []string{`t.yaml:9: instances[0].track_interfaces[1].name: interface "bond0" does not exist in this network namespace: tracked as down until it appears`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if got := c.Warnings(func(string) bool { return false }); len(got) != 3 || got[0].Line != 3 {
		t.Errorf("with no interfaces: %v, want 3 warnings, the first on line 3", got)
	}
}

// TestInterfaceExists checks the lookup against this namespace: loopback
// is always there, a name longer than any interface can be never is.
func TestInterfaceExists(t *testing.T) {
	if !InterfaceExists("lo") {
		t.Error(`InterfaceExists("lo") = false`)
	}
	if InterfaceExists("no-such-if-x9") {
		t.Error(`InterfaceExists("no-such-if-x9") = true`)
	}
}
