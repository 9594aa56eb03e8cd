package kaimport

import (
	"fmt"
	"sort"
	"strconv"
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
}

func (n Note) String() string { return fmt.Sprintf("%s:%d: %s: %s", n.File, n.Line, n.Text, n.Reason) }

// Result is a converted configuration and what could not be converted.
type Result struct {
	Config *config.Config
	Notes  []Note
}

// ImportFile reads a keepalived.conf (and its includes) and converts it.
func ImportFile(path string) (*Result, error) {
	toks, err := lexFile(path, 0)
	if err != nil {
		return nil, fmt.Errorf("kaimport: %w", err)
	}
	stmts, err := parse(toks)
	if err != nil {
		return nil, fmt.Errorf("kaimport: %w", err)
	}
	return Convert(stmts), nil
}

// converter carries the state of one conversion.
type converter struct {
	cfg   config.Config
	notes []Note
	// trackFiles maps vrrp_track_file names to their paths and weights.
	trackFiles map[string]config.TrackFile
	// garp holds global_defs vrrp_garp_* defaults, applied to instances that set none.
	garp config.Gratuitous
	// strict is global_defs vrrp_strict: instances that say neither accept
	// nor no_accept get no_accept, as in keepalived.
	strict bool
}

func (c *converter) note(s *Stmt, format string, args ...any) {
	c.notes = append(c.notes, Note{File: s.File, Line: s.Line, Text: strings.Join(s.Words, " "), Reason: fmt.Sprintf(format, args...)})
}

// Convert turns parsed keepalived statements into a vrrpd configuration.
func Convert(stmts []*Stmt) *Result {
	c := &converter{trackFiles: map[string]config.TrackFile{}}
	// Track files and global defaults first: instances refer to them whatever the order.
	for _, s := range stmts {
		switch s.Key() {
		case "vrrp_track_file":
			c.trackFile(s)
		case "global_defs":
			c.globalDefs(s)
		}
	}
	for _, s := range stmts {
		switch s.Key() {
		case "vrrp_track_file", "global_defs":
		case "vrrp_instance":
			c.instance(s)
		case "vrrp_sync_group":
			c.syncGroup(s)
		case "vrrp_script":
			c.script(s)
		case "virtual_server":
			c.virtualServer(s)
		case "virtual_server_group":
			c.note(s, "virtual_server_group is not supported: write one virtual server per address, or use a fwmark service")
		case "static_ipaddress", "static_routes", "static_rules":
			c.note(s, "static addresses and routes belong to the system's network configuration, not vrrpd")
		case "bfd_instance":
			c.note(s, "BFD is not supported")
		default:
			c.note(s, "unknown top-level keyword")
		}
	}
	// Notes in file order, whatever order the conversion visited the lines in.
	sort.SliceStable(c.notes, func(i, j int) bool {
		if c.notes[i].File != c.notes[j].File {
			return c.notes[i].File < c.notes[j].File
		}
		return c.notes[i].Line < c.notes[j].Line
	})
	return &Result{Config: &c.cfg, Notes: c.notes}
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
			if len(a) >= 2 {
				c.cfg.LVSSync = &config.LVSSync{Interface: a[0], Instance: a[1]}
				for i := 2; i+1 < len(a); i += 2 {
					if a[i] == "id" {
						c.cfg.LVSSync.SyncID, _ = strconv.Atoi(a[i+1])
					} else {
						c.note(k, "lvs_sync_daemon option %q is not supported", a[i])
					}
				}
			} else {
				c.note(k, "lvs_sync_daemon needs an interface and a VRRP instance")
			}
		case "vrrp_version":
			if len(a) == 1 && a[0] != "3" {
				c.note(k, "vrrpd speaks VRRPv3 only (RFC 5798); VRRPv2 peers will not interoperate")
			}
		case "notification_email", "notification_email_from", "smtp_server", "smtp_connect_timeout", "smtp_alert":
			c.note(k, "e-mail alerts are not supported: use notify hooks or the event stream")
		case "vrrp_strict":
			c.strict = true
			c.note(k, "carried over as accept: false on instances that do not say accept; the rest of strict mode (no unicast peers, no authentication) is up to the configuration")
		case "enable_script_security", "script_user":
			c.note(k, "scripts run as vrrpd's user; restrict them with the systemd unit instead")
		default:
			c.note(k, "global setting not carried over")
		}
	}
}

func (c *converter) trackFile(s *Stmt) {
	if len(s.Args()) != 1 {
		c.note(s, "vrrp_track_file needs a name")
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
		case "init_file":
			c.note(k, "init_file is not supported: create the file before starting vrrpd")
		default:
			c.note(k, "vrrp_track_file option not carried over")
		}
	}
	c.trackFiles[s.Args()[0]] = tf
}

func (c *converter) script(s *Stmt) {
	if len(s.Args()) != 1 {
		c.note(s, "vrrp_script needs a name")
		return
	}
	sc := config.Script{Name: s.Args()[0], Interval: time.Second, Rise: 1, Fall: 1}
	for _, k := range s.Children {
		switch k.Key() {
		case "script":
			sc.Command = c.argv(k)
		case "interval":
			sc.Interval = c.duration(k, 1, time.Second)
		case "timeout":
			sc.Timeout = c.duration(k, 1, time.Second)
		case "weight":
			sc.Weight = c.int(k, 1)
			if len(k.Args()) > 1 {
				c.note(k, "the 'reverse' weight modifier is not supported")
			}
		case "rise":
			sc.Rise = c.int(k, 1)
		case "fall":
			sc.Fall = c.int(k, 1)
		case "user":
			c.note(k, "scripts run as vrrpd's user")
		case "init_fail":
			c.note(k, "init_fail is not supported: scripts start as not yet failed until fall is reached")
		default:
			c.note(k, "vrrp_script option not carried over")
		}
	}
	if sc.Timeout == 0 {
		sc.Timeout = sc.Interval // keepalived's default
	}
	c.cfg.Scripts = append(c.cfg.Scripts, sc)
}

func (c *converter) syncGroup(s *Stmt) {
	if len(s.Args()) != 1 {
		c.note(s, "vrrp_sync_group needs a name")
		return
	}
	g := config.SyncGroup{Name: s.Args()[0]}
	for _, k := range s.Children {
		switch k.Key() {
		case "group":
			for _, m := range k.Children {
				g.Instances = append(g.Instances, m.Words...)
			}
		default:
			if !c.notify(k, &g.Notify) {
				c.note(k, "vrrp_sync_group option not carried over")
			}
		}
	}
	c.cfg.SyncGroups = append(c.cfg.SyncGroups, g)
}

// notify handles the notify_* keywords shared by instances and sync groups.
func (c *converter) notify(k *Stmt, n *config.Notify) bool {
	switch k.Key() {
	case "notify_master":
		n.Master = c.argv(k)
	case "notify_backup":
		n.Backup = c.argv(k)
	case "notify_fault":
		n.Fault = c.argv(k)
	case "notify_stop":
		n.Stop = c.argv(k)
	case "notify":
		n.Any = c.argv(k)
	default:
		return false
	}
	return true
}
