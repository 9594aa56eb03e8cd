package keepalivedconf

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/hachat/hachat/internal/config"
)

// Note is one line of the input that was not carried over, or carried over
// only approximately, and why.
type Note struct {
	File   string
	Line   int
	Text   string // the statement as written
	Reason string
	// Loss is true when the converted configuration behaves differently
	// (a check not run, an alert not sent); false when the note only
	// explains a difference of form with the same behaviour.
	Loss bool
}

func (n Note) String() string { return fmt.Sprintf("%s:%d: %s: %s", n.File, n.Line, n.Text, n.Reason) }

// Result is a converted configuration and what could not be converted.
type Result struct {
	Config *config.Config
	Notes  []Note
	// Refusals are reasons the input cannot be converted at all: a
	// configuration written from it would not do what keepalived did, nor
	// fail in a way its author would recognise.
	Refusals []Note
}

// Losses are the notes of behaviour not carried over.
func (r *Result) Losses() []Note {
	var out []Note
	for _, n := range r.Notes {
		if n.Loss {
			out = append(out, n)
		}
	}
	return out
}

// Options tune a conversion.
type Options struct {
	// ConfigID selects keepalived's conditional lines (@ID, @^ID), as
	// keepalived -i does; keepalived's default is the host name up to the
	// first dot.
	ConfigID string
	// LookPath resolves a bare command name in a script to an absolute
	// path, as keepalived does through PATH at run time; default
	// exec.LookPath on the importing host.
	LookPath func(name string) (string, error)
}

// ImportFile reads a keepalived.conf (and its includes) and converts it.
func ImportFile(path string) (*Result, error) {
	return Import(context.Background(), path, Options{})
}

// Import reads a keepalived.conf (and its includes) and converts it. It
// stops with ctx's error when ctx is done. Time and memory are linear in
// the size of the input.
func Import(ctx context.Context, path string, o Options) (*Result, error) {
	lx := &lexer{ctx: ctx, configID: o.ConfigID}
	if err := lx.lexFile(path, 0); err != nil {
		return nil, fmt.Errorf("keepalivedconf: %w", err)
	}
	stmts, err := parseContext(ctx, lx.out)
	if err != nil {
		return nil, fmt.Errorf("keepalivedconf: %w", err)
	}
	lx.out = nil
	return ConvertContext(ctx, stmts, o)
}

// converter carries the state of one conversion.
type converter struct {
	opts  Options
	cfg   config.Config
	notes []Note
	// refusals are reasons not to convert at all.
	refusals []Note
	// trackFiles maps vrrp_track_file names to their paths and weights.
	trackFiles map[string]config.TrackFile
	// garp holds global_defs vrrp_garp_* defaults, applied to instances that set none.
	garp config.Gratuitous
	// strict is global_defs vrrp_strict: instances that say neither accept
	// nor no_accept get no_accept, as in keepalived.
	strict bool
	// version is global_defs vrrp_version, keepalived's default 2.
	version int
	// mail holds the e-mail settings of global_defs, alerts the
	// smtp_alert lines; checkerAlerts is global_defs'
	// smtp_alert(_checker) when given (keepalived.conf(5): a real server's
	// smtp_alert defaults to yes).
	mail          []*Stmt
	alerts        []*Stmt
	checkerAlerts *bool
	vrrpAlerts    *bool           // global_defs smtp_alert(_vrrp) when given
	alertSet      map[string]bool // instances and "group NAME"s that say smtp_alert

	groups      map[string]*Stmt
	usedGroups  map[string]bool
	groupTracks []groupTrack
	instances   map[string]bool
}

// loss records a statement whose behaviour is not carried over.
func (c *converter) loss(s *Stmt, format string, args ...any) {
	c.notes = append(c.notes, Note{File: s.File, Line: s.Line, Text: strings.Join(s.Words, " "), Reason: fmt.Sprintf(format, args...), Loss: true})
}

// info records a statement carried over in another form, same behaviour.
func (c *converter) info(s *Stmt, format string, args ...any) {
	c.notes = append(c.notes, Note{File: s.File, Line: s.Line, Text: strings.Join(s.Words, " "), Reason: fmt.Sprintf(format, args...)})
}

// refuse records a reason the input cannot be converted.
func (c *converter) refuse(s *Stmt, format string, args ...any) {
	c.refusals = append(c.refusals, Note{File: s.File, Line: s.Line, Text: strings.Join(s.Words, " "), Reason: fmt.Sprintf(format, args...), Loss: true})
}

// Convert turns parsed keepalived statements into a vrrpd configuration.
func Convert(stmts []*Stmt) *Result {
	r, _ := ConvertContext(context.Background(), stmts, Options{})
	return r
}

// ConvertContext is Convert with options, stopping when ctx is done.
func ConvertContext(ctx context.Context, stmts []*Stmt, o Options) (*Result, error) {
	if o.LookPath == nil {
		o.LookPath = exec.LookPath
	}
	c := &converter{opts: o, trackFiles: map[string]config.TrackFile{}, version: 2,
		groups: map[string]*Stmt{}, usedGroups: map[string]bool{}, instances: map[string]bool{}}
	// Track files, groups and global defaults first: instances and
	// services refer to them whatever the order.
	for _, s := range stmts {
		switch s.Key() {
		case "vrrp_track_file":
			c.trackFile(s)
		case "global_defs":
			c.globalDefs(s)
		case "vrrp_instance":
			if len(s.Args()) == 1 {
				c.instances[s.Args()[0]] = true
			}
		case "virtual_server_group":
			if len(s.Args()) == 1 {
				c.groups[s.Args()[0]] = s
			} else {
				c.refuse(s, "virtual_server_group needs a name")
			}
		}
	}
	for i, s := range stmts {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		switch s.Key() {
		case "vrrp_track_file", "global_defs", "virtual_server_group":
		case "vrrp_instance":
			c.instance(s)
		case "vrrp_sync_group":
			c.syncGroup(s)
		case "vrrp_script":
			c.script(s)
		case "virtual_server":
			c.virtualServer(s)
		case "static_ipaddress", "static_routes", "static_rules":
			// keepalived.conf(5): these "are NOT moved by vrrpd, they stay on
			// the machine", and a machine that has its addresses and routes
			// "doesn't need this section".
			c.refuse(s, "%s are the host's own network configuration, not VRRP state: keepalived adds them at start and never moves them (keepalived.conf(5)), and vrrpd leaves the host's network to the system; move the block to /etc/network/interfaces (up ip route/rule/addr lines) or systemd-networkd ([Route], [RoutingPolicyRule], [Address]), delete it here, and import again", s.Key())
		case "net_namespace":
			c.loss(s, "vrrpd does not enter a network namespace itself: start it inside the namespace (systemd NetworkNamespacePath=/run/netns/%s, or ip netns exec)", strings.Join(s.Args(), " "))
		case "bfd_instance":
			c.loss(s, "BFD is not supported")
		default:
			c.loss(s, "unknown top-level keyword")
		}
	}
	for name, g := range c.groups {
		if c.usedGroups[name] {
			continue
		}
		c.info(g, "virtual_server_group %s is used by no virtual_server: keepalived ignores it too", name)
	}
	c.applyGroupTracks()
	c.mailNotes()
	// Notes in file order, whatever order the conversion visited the lines in.
	for _, ns := range [][]Note{c.notes, c.refusals} {
		sort.SliceStable(ns, func(i, j int) bool {
			if ns[i].File != ns[j].File {
				return ns[i].File < ns[j].File
			}
			return ns[i].Line < ns[j].Line
		})
	}
	return &Result{Config: &c.cfg, Notes: c.notes, Refusals: c.refusals}, nil
}

// mailNotes carries the e-mail settings over as global.alerts. keepalived
// mails only with notification_email and smtp_server set, and then where
// smtp_alert is on: off by default for VRRP instances and sync groups, on
// by default for real servers (keepalived.conf(5)); global_defs'
// smtp_alert, smtp_alert_vrrp and smtp_alert_checker change those defaults.
func (c *converter) mailNotes() {
	var to, server *Stmt
	for _, s := range c.mail {
		switch s.Key() {
		case "notification_email":
			to = s
		case "smtp_server":
			server = s
		}
	}
	if to == nil || server == nil || c.cfg.Global.Alerts == nil || len(c.cfg.Global.Alerts.To) == 0 {
		// keepalived's smtp_alert() returns at once without both.
		c.cfg.Global.Alerts = nil
		for _, s := range append(append([]*Stmt(nil), c.alerts...), c.mail...) {
			c.info(s, "without notification_email and smtp_server keepalived sends no mail")
		}
		return
	}
	if c.vrrpAlerts != nil {
		for i := range c.cfg.Instances {
			if in := &c.cfg.Instances[i]; !c.alertSet[in.Name] {
				in.SMTPAlert = *c.vrrpAlerts
			}
		}
		for i := range c.cfg.SyncGroups {
			if g := &c.cfg.SyncGroups[i]; !c.alertSet["group "+g.Name] {
				g.SMTPAlert = *c.vrrpAlerts
			}
		}
	}
	if c.checkerAlerts != nil && !*c.checkerAlerts {
		for i := range c.cfg.VirtualServers {
			if vs := &c.cfg.VirtualServers[i]; vs.SMTPAlert == nil {
				off := false
				vs.SMTPAlert = &off
			}
		}
	}
	for _, s := range c.mail {
		c.info(s, "carried over in global.alerts")
	}
	for _, s := range c.alerts {
		c.info(s, "carried over as smtp_alert")
	}
}

// setAlert records an explicit smtp_alert, which global_defs' default
// does not override.
func (c *converter) setAlert(key string, k *Stmt) {
	if c.alertSet == nil {
		c.alertSet = map[string]bool{}
	}
	c.alertSet[key] = true
	c.alerts = append(c.alerts, k)
}

// mailSetting reads one global_defs e-mail setting into global.alerts.
func (c *converter) mailSetting(k *Stmt) {
	if c.cfg.Global.Alerts == nil {
		c.cfg.Global.Alerts = &config.Alerts{}
	}
	al, a := c.cfg.Global.Alerts, k.Args()
	switch k.Key() {
	case "notification_email":
		for _, m := range k.Children {
			al.To = append(al.To, m.Words...)
		}
		al.To = append(al.To, a...)
	case "notification_email_from":
		if len(a) > 0 {
			al.From = a[0]
		}
	case "smtp_server":
		switch len(a) {
		case 1:
			al.SMTPServer = net.JoinHostPort(a[0], "25")
		case 2:
			al.SMTPServer = net.JoinHostPort(a[0], a[1])
		default:
			c.refuse(k, "smtp_server needs HOST [PORT]")
		}
	case "smtp_helo_name":
		if len(a) > 0 {
			al.Helo = a[0]
		}
	case "smtp_connect_timeout":
		al.ConnectTimeout = c.duration(k, 1, time.Second)
	}
}

func (c *converter) isInstanceName(name string) bool { return c.instances[name] }

// boolArg reads keepalived's optional <BOOL> argument: absent means true.
func boolArg(s *Stmt) bool {
	a := s.Args()
	if len(a) == 0 {
		return true
	}
	switch strings.ToLower(a[0]) {
	case "false", "no", "off", "0":
		return false
	}
	return true
}

func (c *converter) globalDefs(s *Stmt) {
	for _, k := range s.Children {
		a := k.Args()
		switch k.Key() {
		case "router_id":
			if len(a) == 1 {
				c.cfg.Global.RouterID = a[0]
			}
		case "vrrp_garp_master_delay":
			c.garp.SecondDelay = c.durationPtr(k, 1, time.Second)
		case "vrrp_garp_master_repeat":
			c.garp.Repeat = c.int(k, 1)
		case "vrrp_garp_master_refresh":
			c.garp.Refresh = c.duration(k, 1, time.Second)
		case "vrrp_garp_master_refresh_repeat":
			c.garp.RefreshRepeat = c.int(k, 1)
		case "vrrp_garp_interval":
			c.garp.Interval = c.duration(k, 1, time.Second)
		case "lvs_sync_daemon":
			c.lvsSyncDaemon(k)
		case "vrrp_version":
			switch {
			case len(a) == 1 && (a[0] == "2" || a[0] == "3"):
				c.version = c.int(k, 1)
			default:
				c.refuse(k, "vrrp_version must be 2 or 3")
			}
		case "notification_email", "notification_email_from", "smtp_server", "smtp_connect_timeout", "smtp_helo_name":
			c.mail = append(c.mail, k)
			c.mailSetting(k)
		case "smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker":
			on := boolArg(k)
			if on {
				c.alerts = append(c.alerts, k)
			}
			if k.Key() != "smtp_alert_vrrp" {
				c.checkerAlerts = &on
			}
			if k.Key() != "smtp_alert_checker" {
				v := on
				c.vrrpAlerts = &v
			}
		case "vrrp_strict":
			c.strict = true
			c.info(k, "carried over as accept: false on instances that say neither accept nor no_accept; the rest of strict mode only refuses configurations (unicast, authentication) keepalived already accepted")
		case "enable_script_security", "script_user":
			c.loss(k, "scripts run as vrrpd's user: restrict them with the systemd unit (User=, ProtectSystem=) instead")
		default:
			c.loss(k, "global setting not carried over")
		}
	}
}

// lvsSyncDaemon reads "lvs_sync_daemon IFACE INSTANCE [id N] ...".
func (c *converter) lvsSyncDaemon(k *Stmt) {
	a := k.Args()
	if len(a) < 2 {
		c.refuse(k, "lvs_sync_daemon needs an interface and a VRRP instance")
		return
	}
	c.cfg.LVSSync = &config.LVSSync{Interface: a[0], Instance: a[1]}
	for i := 2; i < len(a); i++ {
		if a[i] == "id" && i+1 < len(a) {
			c.cfg.LVSSync.SyncID = c.int(k, i+2)
			i++
		} else {
			c.loss(k, "lvs_sync_daemon option %q is not supported", a[i])
		}
	}
}

func (c *converter) trackFile(s *Stmt) {
	if len(s.Args()) != 1 {
		c.refuse(s, "vrrp_track_file needs a name")
		return
	}
	tf := config.TrackFile{}
	for _, k := range s.Children {
		switch k.Key() {
		case "file":
			if len(k.Args()) == 1 {
				tf.Path = k.Args()[0]
			}
		case "weight":
			tf.Weight = c.int(k, 1)
			if len(k.Args()) > 1 {
				c.loss(k, "the 'reverse' weight modifier is not supported")
			}
		case "init_file":
			c.loss(k, "init_file is not supported: create the file before starting vrrpd")
		default:
			c.loss(k, "vrrp_track_file option not carried over")
		}
	}
	c.trackFiles[s.Args()[0]] = tf
}

func (c *converter) script(s *Stmt) {
	if len(s.Args()) != 1 {
		c.refuse(s, "vrrp_script needs a name")
		return
	}
	sc := config.Script{Name: s.Args()[0], Interval: time.Second, Rise: 1, Fall: 1}
	var cmd *Stmt
	for _, k := range s.Children {
		switch k.Key() {
		case "script":
			cmd = k
			sc.Command = c.command(k)
		case "interval":
			sc.Interval = c.duration(k, 1, time.Second)
		case "timeout":
			sc.Timeout = c.duration(k, 1, time.Second)
		case "weight":
			sc.Weight = c.int(k, 1)
			if len(k.Args()) > 1 {
				c.loss(k, "the 'reverse' weight modifier is not supported")
			}
		case "rise":
			sc.Rise = c.int(k, 1)
		case "fall":
			sc.Fall = c.int(k, 1)
		case "user":
			c.loss(k, "scripts run as vrrpd's user")
		case "init_fail":
			c.loss(k, "init_fail is not supported: scripts start as not yet failed until fall is reached")
		default:
			c.loss(k, "vrrp_script option not carried over")
		}
	}
	if cmd == nil {
		c.refuse(s, "vrrp_script has no script line (a conditional @ID line? pass the keepalived config id with -config-id)")
	}
	if sc.Timeout == 0 {
		sc.Timeout = sc.Interval // keepalived's default
	}
	c.cfg.Scripts = append(c.cfg.Scripts, sc)
}

// syncGroup reads "vrrp_sync_group NAME { group { A B ... } notify... }";
// the members may stand one per line or several on a line, and the
// keepalived 1.x form lists them straight in the block without "group".
func (c *converter) syncGroup(s *Stmt) {
	if len(s.Args()) != 1 {
		c.refuse(s, "vrrp_sync_group needs a name")
		return
	}
	g := config.SyncGroup{Name: s.Args()[0]}
	var tracks []*Stmt
	for _, k := range s.Children {
		switch {
		case k.Key() == "group":
			for _, m := range k.Children {
				g.Instances = append(g.Instances, m.Words...)
			}
		case c.notify(k, &g.Notify, "GROUP"):
		case k.Key() == "smtp_alert":
			g.SMTPAlert = boolArg(k)
			c.setAlert("group "+g.Name, k)
		case k.Key() == "global_tracking":
			c.info(k, "deprecated in keepalived 2, where each instance keeps its own trackers, as in vrrpd")
		case k.Key() == "track_interface" || k.Key() == "track_script":
			tracks = append(tracks, k)
		case !k.HasBlock && c.isInstanceName(k.Key()):
			g.Instances = append(g.Instances, k.Words...)
		default:
			c.loss(k, "vrrp_sync_group option not carried over")
		}
	}
	c.cfg.SyncGroups = append(c.cfg.SyncGroups, g)
	for _, k := range tracks {
		c.groupTracks = append(c.groupTracks, groupTrack{stmt: k, members: g.Instances})
	}
}

// groupTrack is a track_interface or track_script block of a sync group.
type groupTrack struct {
	stmt    *Stmt
	members []string
}

// applyGroupTracks gives each member of a sync group the group's trackers.
// keepalived faults the whole group when a tracker of the group fails
// (weights count only with sync_group_tracking_weight); a tracker with
// weight 0 on every member faults that member, and the sync group takes
// the others along: the same outcome.
func (c *converter) applyGroupTracks() {
	for _, gt := range c.groupTracks {
		weighted := false
		for _, name := range gt.members {
			in := c.cfg.Instance(name)
			if in == nil {
				continue
			}
			for _, t := range gt.stmt.Children {
				weighted = weighted || len(t.Words) > 1
				switch gt.stmt.Key() {
				case "track_interface":
					in.TrackInterfaces = append(in.TrackInterfaces, config.TrackInterface{Name: t.Key()})
				case "track_script":
					zero := 0
					in.TrackScripts = append(in.TrackScripts, config.TrackRef{Name: t.Key(), Weight: &zero})
				}
			}
		}
		if weighted {
			c.loss(gt.stmt, "weights of a sync group's trackers are not carried over: a failure faults the group, as keepalived does without sync_group_tracking_weight")
		} else {
			c.info(gt.stmt, "carried over to every member with weight 0: a failure faults the group, as in keepalived")
		}
	}
}

// notify handles the notify_* keywords shared by instances and sync
// groups; kind is INSTANCE or GROUP. keepalived runs the generic notify
// script with TYPE NAME STATE PRIORITY after its own arguments, vrrpd with
// NAME STATE PRIORITY: TYPE goes at the end of the command, so the script
// sees what it saw. The state scripts get nothing from keepalived and the
// same three from vrrpd, after their own arguments.
func (c *converter) notify(k *Stmt, n *config.Notify, kind string) bool {
	switch k.Key() {
	case "notify_master":
		n.Master = c.command(k)
	case "notify_backup":
		n.Backup = c.command(k)
	case "notify_fault":
		n.Fault = c.command(k)
	case "notify_stop":
		n.Stop = c.command(k)
	case "notify":
		if n.Any = c.command(k); n.Any != nil {
			n.Any = append(n.Any, kind)
		}
		return true
	default:
		return false
	}
	c.info(k, "vrrpd passes the name, state and priority after the script's own arguments, which a keepalived state script ignores")
	return true
}
