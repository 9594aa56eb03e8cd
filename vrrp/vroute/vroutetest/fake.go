// Package vroutetest is an in-memory vroute.Kernel for tests.
package vroutetest

import (
	"slices"
	"sync"

	"github.com/hachat/hachat/vrrp/vroute"
)

// Fake holds routes and rules in memory. Log records every call ("add
// route 198.18.9.0/24 via 198.18.1.254", "del rule ..."), in order; Fail
// makes the calls fail.
type Fake struct {
	mu     sync.Mutex
	routes []string
	rules  []string
	Log    []string
	Fail   error
}

// AddRoute implements vroute.Kernel.
func (f *Fake) AddRoute(r vroute.Route) error { return f.do(&f.routes, "add route ", r.String(), true) }

// DelRoute implements vroute.Kernel.
func (f *Fake) DelRoute(r vroute.Route) error {
	return f.do(&f.routes, "del route ", r.String(), false)
}

// AddRule implements vroute.Kernel.
func (f *Fake) AddRule(r vroute.Rule) error { return f.do(&f.rules, "add rule ", r.String(), true) }

// DelRule implements vroute.Kernel.
func (f *Fake) DelRule(r vroute.Rule) error { return f.do(&f.rules, "del rule ", r.String(), false) }

func (f *Fake) do(set *[]string, op, s string, add bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Log = append(f.Log, op+s)
	if f.Fail != nil {
		return f.Fail
	}
	i := slices.Index(*set, s)
	switch {
	case add && i < 0:
		*set = append(*set, s)
	case !add && i >= 0:
		*set = slices.Delete(*set, i, i+1)
	}
	return nil
}

// Routes and Rules list what is installed, as `ip route` / `ip rule` text.
func (f *Fake) Routes() []string { f.mu.Lock(); defer f.mu.Unlock(); return slices.Clone(f.routes) }

// Rules lists the installed rules.
func (f *Fake) Rules() []string { f.mu.Lock(); defer f.mu.Unlock(); return slices.Clone(f.rules) }

// Calls returns a copy of Log.
func (f *Fake) Calls() []string { f.mu.Lock(); defer f.mu.Unlock(); return slices.Clone(f.Log) }
