package config

// applyBalancerDefaults and validateBalancer cover the virtual_servers and
// lvs_sync sections.
func (c *Config) applyBalancerDefaults() {
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		if vs.Protocol == "" {
			vs.Protocol = "tcp"
		}
		if vs.Scheduler == "" {
			vs.Scheduler = "wlc"
		}
		if vs.Forwarding == "" {
			vs.Forwarding = "nat"
		}
	}
}

func (c *Config) validateBalancer(v *validator) {}
