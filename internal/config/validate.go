package config

import (
	"fmt"
	"time"
)

// Defaults applied before validation.
const (
	DefaultControlSocket  = "/run/vrrpd/vrrpd.sock"
	DefaultAdvertInterval = time.Second
)

func (c *Config) applyDefaults() {
	if c.Global.ControlSocket == "" {
		c.Global.ControlSocket = DefaultControlSocket
	}
	if c.Global.LogLevel == "" {
		c.Global.LogLevel = "info"
	}
	if c.Global.Dataplane == "" {
		c.Global.Dataplane = "auto"
	}
	for i := range c.Instances {
		in := &c.Instances[i]
		if in.AdvertInterval == 0 {
			in.AdvertInterval = DefaultAdvertInterval
		}
		if in.Preempt == nil {
			t := true
			in.Preempt = &t
		}
	}
	c.applyBalancerDefaults()
}

func (c *Config) validate(v *validator) {
	switch c.Global.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		v.errorf("global.log_level", "unknown level %q: want debug, info, warn or error", c.Global.LogLevel)
	}
	switch c.Global.Dataplane {
	case "auto", "ipvs", "nftables":
	default:
		v.errorf("global.dataplane", "unknown data plane %q: want auto, ipvs or nftables", c.Global.Dataplane)
	}
	names := map[string]bool{}
	for i, in := range c.Instances {
		p := fmt.Sprintf("instances[%d]", i)
		if in.Name == "" {
			v.errorf(p+".name", "every instance needs a name")
		} else if names[in.Name] {
			v.errorf(p+".name", "instance %q is defined twice", in.Name)
		}
		names[in.Name] = true
		in.validate(v, p)
	}
	c.validateBalancer(v)
}

func (in *Instance) validate(v *validator, p string) {
	if in.Interface == "" {
		v.errorf(p+".interface", "missing: the interface the instance runs on")
	}
	if in.VRID < 1 || in.VRID > 255 {
		v.errorf(p+".vrid", "%d is out of range 1-255", in.VRID)
	}
	if in.Priority < 1 || in.Priority > 255 {
		v.errorf(p+".priority", "%d is out of range 1-255 (255 means address owner)", in.Priority)
	}
	if in.AdvertInterval < 10*time.Millisecond || in.AdvertInterval > 40950*time.Millisecond || in.AdvertInterval%(10*time.Millisecond) != 0 {
		v.errorf(p+".advert_interval", "%v must be a multiple of 10ms between 10ms and 40.95s (RFC 5798 §5.2.7)", in.AdvertInterval)
	}
	if len(in.VirtualAddresses) == 0 {
		v.errorf(p+".virtual_addresses", "missing: at least one virtual address")
	}
}
