package config

import (
	"errors"
	"fmt"
	"net"
)

// Warning is something in a valid configuration that will probably not
// work on this host, such as an interface that does not exist (yet): vrrpd
// -t reports it without failing, as keepalived does, because the interface
// may be created later (a VLAN or bond brought up after vrrpd starts).
type Warning = Error

// InterfaceExists reports whether a network interface of that name exists
// in the current network namespace.
func InterfaceExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil || !isNoSuchInterface(err)
}

func isNoSuchInterface(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	return err != nil && err.Error() == "no such network interface"
}

// Warnings lists the interfaces the configuration names that exists says
// are absent: each instance's interface, its tracked interfaces and the
// lvs_sync interface.
func (c *Config) Warnings(exists func(name string) bool) []*Warning {
	var out []*Warning
	known := map[string]bool{} // one lookup per name: thousands of instances share a few interfaces
	warn := func(path, name, what string) {
		if name == "" {
			return
		}
		ok, seen := known[name]
		if !seen {
			ok = exists(name)
			known[name] = ok
		}
		if ok {
			return
		}
		out = append(out, &Warning{File: c.source, Line: c.line(path), Field: path,
			Msg: fmt.Sprintf("interface %q does not exist in this network namespace: %s", name, what)})
	}
	for i, in := range c.Instances {
		p := fmt.Sprintf("instances[%d]", i)
		warn(p+".interface", in.Interface, "the instance stays in FAULT until it appears")
		for j, t := range in.TrackInterfaces {
			warn(fmt.Sprintf("%s.track_interfaces[%d].name", p, j), t.Name, "tracked as down until it appears")
		}
		for j, d := range in.DeviceAddresses {
			warn(fmt.Sprintf("%s.device_addresses[%d].interface", p, j), d.Interface, "the address cannot be added until it appears")
		}
		for j, r := range in.VirtualRoutes {
			warn(fmt.Sprintf("%s.virtual_routes[%d].interface", p, j), r.Interface, "the route cannot be added until it appears")
		}
	}
	if s := c.LVSSync; s != nil {
		warn("lvs_sync.interface", s.Interface, "the sync daemon cannot start until it appears")
	}
	return out
}

// line finds the line of path as recorded by Parse (or of its nearest parent).
func (c *Config) line(path string) int {
	for p := path; p != ""; p = parent(p) {
		if l, ok := c.lines[p]; ok {
			return l
		}
	}
	return 0
}
