package config

import "fmt"

// explicitZeros rejects fields written as zero whose zero value would
// otherwise be replaced by a default: "priority: 0" or
// "advert_interval: 0ms" must not quietly become 100 or 1s (issue #13).
// An omitted field takes the default; a written one is checked as written.
func (c *Config) explicitZeros(v *validator) {
	for i, in := range c.Instances {
		p := fmt.Sprintf("instances[%d]", i)
		if _, set := v.lines[p+".priority"]; set && in.Priority == 0 {
			v.errorf(p+".priority", "0 is out of range 1-255 (255 means address owner; leave it out for the default %d)", DefaultPriority)
		}
		if _, set := v.lines[p+".advert_interval"]; set && in.AdvertInterval == 0 {
			v.errorf(p+".advert_interval", "0s is not an interval: want a multiple of 10ms between 10ms and 40.95s (RFC 5798 §5.2.7), or leave it out for %v", DefaultAdvertInterval)
		}
		if _, set := v.lines[p+".version"]; set && in.Version == 0 {
			v.errorf(p+".version", "0 is not a VRRP version: want 2 or 3, or leave it out for %d", DefaultVersion)
		}
	}
}
