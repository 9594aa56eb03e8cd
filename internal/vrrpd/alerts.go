package vrrpd

import (
	"fmt"
	"os"
	"sync"

	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/internal/mailalert"
	"github.com/hachat/hachat/ipvs"
	"github.com/hachat/hachat/vrrp/router"
)

// alerter decides which events are mailed (keepalived's smtp_alert) and
// hands them to the sender, which never blocks.
type alerter struct {
	mail *mailalert.Sender

	mu      sync.Mutex
	inst    map[string]bool     // instances with smtp_alert
	groups  map[string][]string // groups with smtp_alert -> members
	states  map[string]string   // instance -> last state
	gstates map[string]string   // group -> last state mailed
}

func newAlerter() *alerter {
	return &alerter{mail: mailalert.New(mailalert.Settings{}), states: map[string]string{}, gstates: map[string]string{}}
}

// configure takes the alert settings of cfg (on start and reload).
func (a *alerter) configure(cfg *config.Config) {
	var s mailalert.Settings
	if al := cfg.Global.Alerts; al != nil {
		s = mailalert.Settings{Server: al.SMTPServer, From: al.From, To: al.To, Helo: al.Helo,
			ConnectTimeout: al.ConnectTimeout, RouterID: cfg.Global.RouterID}
		if s.From == "" {
			host, _ := os.Hostname()
			s.From = "vrrpd@" + host
		}
		if s.RouterID == "" {
			s.RouterID, _ = os.Hostname()
		}
	}
	a.mail.Configure(s)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inst, a.groups = map[string]bool{}, map[string][]string{}
	for _, in := range cfg.Instances {
		a.inst[in.Name] = in.SMTPAlert
	}
	for _, g := range cfg.SyncGroups {
		if g.SMTPAlert {
			a.groups[g.Name] = g.Instances
		}
	}
}

// event mails an instance's transition, and its sync group's once every
// member has reached the new state.
func (a *alerter) event(ev router.InstanceEvent) {
	if ev.Kind != "transition" {
		return
	}
	a.mu.Lock()
	a.states[ev.Instance] = ev.To
	mailInst := a.inst[ev.Instance]
	var groups []string
	for name, members := range a.groups {
		all, member := true, false
		for _, m := range members {
			member = member || m == ev.Instance
			all = all && a.states[m] == ev.To
		}
		if member && all && a.gstates[name] != ev.To {
			a.gstates[name] = ev.To
			groups = append(groups, name)
		}
	}
	a.mu.Unlock()
	if mailInst {
		a.mail.InstanceState("Instance", ev.Instance, ev.To)
	}
	for _, g := range groups {
		a.mail.InstanceState("Group", g, ev.To)
	}
}

// realServer mails a real server going up or down when its smtp_alert is on.
func (a *alerter) realServer(c ipvs.RealServerChange) {
	if c.Alert {
		a.mail.RealServer(c.Service, fmt.Sprintf("[%s]:%d", c.RealServer.Addr(), c.RealServer.Port()), c.Up)
	}
}
