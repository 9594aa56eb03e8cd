package ipvs

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hachat/hachat/health"
	"github.com/hachat/hachat/ipvs/table"
)

// ServiceStatus is one virtual service for `vrrpctl status` and metrics.
type ServiceStatus struct {
	Name        string             `json:"name"`
	Service     string             `json:"service"` // "TCP 198.18.1.100:80" or "FWM 42"
	Scheduler   string             `json:"scheduler"`
	Persistence int                `json:"persistence_s,omitempty"`
	DataPlane   string             `json:"dataplane"`
	Instance    string             `json:"instance,omitempty"`
	Standby     bool               `json:"standby"`          // not answering: its VRRP instance is not MASTER (nftables only)
	Quorum      string             `json:"quorum,omitempty"` // held, lost, unknown
	Managed     bool               `json:"managed"`          // in the configuration (false: someone else's, left alone)
	Programmed  bool               `json:"programmed"`       // present in the data plane
	Stats       Stats              `json:"stats"`
	RealServers []RealServerStatus `json:"real_servers"`
}

// RealServerStatus is one real server of a ServiceStatus.
type RealServerStatus struct {
	Address       string `json:"address"`
	Forwarding    string `json:"forwarding"`
	Weight        int    `json:"weight"`        // in the data plane now
	ConfigWeight  int    `json:"config_weight"` // configured
	Health        string `json:"health"`        // up, down, unchecked, draining, sorry
	LastError     string `json:"last_error,omitempty"`
	ActiveConns   uint32 `json:"active_conns"`
	InactiveConns uint32 `json:"inactive_conns"`
	PersistConns  uint32 `json:"persistent_conns,omitempty"`
	Stats         Stats  `json:"stats"`
}

// Status reads the data plane and merges it with configuration and health.
// Services in the data plane that are not in the configuration are listed
// too, as not managed.
func (b *Balancer) Status() []ServiceStatus {
	actual, err := b.plane.Services()
	if err != nil {
		b.log.Warn("status: read data plane", "err", err)
	}
	have := map[table.ServiceKey]table.ServiceState{}
	for _, s := range actual {
		have[s.ServiceKey] = s
	}
	checks := map[string]health.Status{}
	for _, st := range b.monitor.Snapshot() {
		checks[st.ID] = st
	}
	_, roleAware := b.plane.(table.RoleAware)
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []ServiceStatus
	seen := map[table.ServiceKey]bool{}
	for _, s := range b.specs {
		k := s.svc.ServiceKey
		seen[k] = true
		cur, ok := have[k]
		ss := ServiceStatus{
			Name: s.name, Service: k.String(), Scheduler: s.svc.Scheduler,
			Persistence: int(s.svc.Persistence.Seconds()), DataPlane: b.plane.Name(), Instance: s.instance,
			Standby: roleAware && s.instance != "" && !b.master[s.instance], Quorum: b.quorum[k].String(),
			Managed: true, Programmed: ok, Stats: cur.Stats,
		}
		inCfg := map[string]bool{}
		for _, r := range s.reals {
			inCfg[r.dest.Address.String()] = true
			rs := RealServerStatus{Address: r.dest.Address.String(), Forwarding: string(r.dest.Forwarding),
				ConfigWeight: r.dest.Weight, Weight: -1, Health: "unchecked"}
			if r.check != nil {
				rs.Health = "down"
				if b.up[r.id] {
					rs.Health = "up"
				}
				if c, ok := checks[r.id]; ok && !c.LastOK {
					rs.LastError = c.LastError
				}
			}
			fillDest(&rs, cur, r.dest.Address.String())
			ss.RealServers = append(ss.RealServers, rs)
		}
		for _, d := range cur.Dests {
			a := d.Address.String()
			if inCfg[a] {
				continue
			}
			rs := RealServerStatus{Address: a, Forwarding: string(d.Forwarding), Health: "draining"}
			if s.sorry != nil && s.sorry.String() == a {
				rs.Health = "sorry"
			}
			fillDest(&rs, cur, a)
			ss.RealServers = append(ss.RealServers, rs)
		}
		out = append(out, ss)
	}
	for _, s := range actual {
		if seen[s.ServiceKey] {
			continue
		}
		ss := ServiceStatus{Name: s.ServiceKey.String(), Service: s.ServiceKey.String(), Scheduler: s.Scheduler,
			DataPlane: b.plane.Name(), Programmed: true, Stats: s.Stats}
		if _, ok := b.retiring[s.ServiceKey]; ok {
			ss.Managed = true
		}
		for _, d := range s.Dests {
			rs := RealServerStatus{Address: d.Address.String(), Forwarding: string(d.Forwarding), Health: "draining"}
			if !ss.Managed {
				rs.Health = "unmanaged"
			}
			fillDest(&rs, s, d.Address.String())
			ss.RealServers = append(ss.RealServers, rs)
		}
		out = append(out, ss)
	}
	return out
}

func fillDest(rs *RealServerStatus, cur table.ServiceState, addr string) {
	i := slices.IndexFunc(cur.Dests, func(d table.DestinationState) bool { return d.Address.String() == addr })
	if i < 0 {
		rs.Weight = -1 // not in the data plane
		return
	}
	d := cur.Dests[i]
	rs.Weight, rs.ActiveConns, rs.InactiveConns, rs.PersistConns, rs.Stats = d.Weight, d.ActiveConns, d.InactiveConns, d.PersistConns, d.Stats
}

// FormatStatus writes s like `ipvsadm -Ln --stats` and `--rate` together,
// with a health column: the first column left-aligned, the numbers right.
func FormatStatus(w io.Writer, s []ServiceStatus) {
	plane := "none"
	if len(s) > 0 {
		plane = s[0].DataPlane
	}
	fmt.Fprintf(w, "IP Virtual Server table (data plane %s)\n", plane)
	rows := [][]string{
		{"Prot LocalAddress:Port Scheduler", "Forward", "Weight", "Health", "ActiveConn", "InActConn", "Conns", "CPS", "InPkts", "OutPkts", "InBytes", "OutBytes"},
		{"  -> RemoteAddress:Port"},
	}
	n := func(v uint64) string { return fmt.Sprint(v) }
	for _, ss := range s {
		flags := []string{ss.Scheduler}
		if ss.Persistence > 0 {
			flags = append(flags, fmt.Sprintf("persistent %d", ss.Persistence))
		}
		if ss.Standby {
			flags = append(flags, "standby")
		}
		if !ss.Managed {
			flags = append(flags, "unmanaged")
		} else if !ss.Programmed {
			flags = append(flags, "not programmed")
		}
		if ss.Quorum == "lost" {
			flags = append(flags, "quorum lost")
		}
		st := ss.Stats
		rows = append(rows, []string{fmtKey(ss.Service) + " " + strings.Join(flags, " "), "", "", "", "", "",
			n(st.Connections), n(st.CPS), n(st.PacketsIn), n(st.PacketsOut), n(st.BytesIn), n(st.BytesOut)})
		for _, r := range ss.RealServers {
			weight := "-"
			if r.Weight >= 0 {
				weight = fmt.Sprint(r.Weight)
			}
			st := r.Stats
			rows = append(rows, []string{"  -> " + r.Address, fwdName(r.Forwarding), weight, r.Health,
				fmt.Sprint(r.ActiveConns), fmt.Sprint(r.InactiveConns),
				n(st.Connections), n(st.CPS), n(st.PacketsIn), n(st.PacketsOut), n(st.BytesIn), n(st.BytesOut)})
		}
	}
	// A long service line spans the columns that are empty on it, so the
	// first column's width comes from the real-server lines only.
	widths := make([]int, len(rows[0]))
	for i, r := range rows {
		for c, cell := range r {
			if c == 0 && i != 0 && !strings.HasPrefix(cell, "  ->") {
				continue
			}
			widths[c] = max(widths[c], len(cell))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for c, cell := range r {
			if c == 0 {
				fmt.Fprintf(&b, "%-*s", widths[0], cell)
				if len(cell) > widths[0] {
					// Borrow the width of the empty columns that follow.
					over := len(cell) - widths[0]
					for c2 := 1; c2 < len(r) && r[c2] == "" && over > 0; c2++ {
						over -= widths[c2] + 1
					}
					if over > 0 {
						b.WriteString("\n" + strings.Repeat(" ", widths[0]))
					}
				}
				continue
			}
			fmt.Fprintf(&b, " %*s", widths[c], cell)
		}
		line := b.String()
		if strings.Contains(r[0], ":Port Scheduler") || len(r) > 1 {
			line = fixSpan(line, r, widths)
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}

// fixSpan rewrites a service line whose first cell overflows into the empty
// columns after it, so that its numbers stay aligned.
func fixSpan(line string, r []string, widths []int) string {
	if len(r[0]) <= widths[0] {
		return line
	}
	total := widths[0]
	first := 1
	for first < len(r) && r[first] == "" {
		total += widths[first] + 1
		first++
	}
	if len(r[0]) > total {
		return line
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s", total, r[0])
	for c := first; c < len(r); c++ {
		fmt.Fprintf(&b, " %*s", widths[c], r[c])
	}
	return b.String()
}

// fmtKey pads the protocol like ipvsadm: "TCP  198.18.1.100:80".
func fmtKey(k string) string {
	p, rest, ok := strings.Cut(k, " ")
	if !ok {
		return k
	}
	return fmt.Sprintf("%-4s %s", p, rest)
}

func fwdName(f string) string {
	switch table.Forwarding(f) {
	case table.NAT:
		return "Masq"
	case table.DR:
		return "Route"
	case table.Tunnel:
		return "Tunnel"
	}
	return f
}
