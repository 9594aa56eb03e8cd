package control

import (
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hachat/hachat/vrrp/router"
)

// FormatStatus writes the instances as the table of `vrrpctl status`.
func FormatStatus(w io.Writer, resp Response, now time.Time) {
	if resp.RouterID != "" || resp.Config != "" {
		fmt.Fprintf(w, "router %s  config %s\n", resp.RouterID, resp.Config)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tIFACE\tVRID\tSTATE\tPRIO\tADVERT\tMASTER\tVIPS\tSINCE\tTX/RX\tDROPS\tLATE(max)\tNOTES")
	for _, s := range resp.Instances {
		prio := fmt.Sprint(s.Priority)
		if s.Priority != s.BasePriority {
			prio = fmt.Sprintf("%d(%d)", s.Priority, s.BasePriority)
		}
		vips := make([]string, len(s.VIPs))
		for i, v := range s.VIPs {
			vips[i] = v.String()
		}
		since := "-"
		if !s.LastTransition.IsZero() {
			since = now.Sub(s.LastTransition).Truncate(time.Second).String()
		}
		var drops uint64
		for _, n := range s.Drops {
			drops += n
		}
		for _, n := range s.InterfaceDrops {
			drops += n
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%v\t%s\t%s\t%s\t%d/%d\t%d\t%v\t%s\n",
			s.Name, s.Interface, s.VRID, s.State, prio, s.AdvertInterval, dash(s.Master),
			strings.Join(vips, ","), since, s.AdvertsSent, s.AdvertsReceived, drops,
			s.LatenessMax.Round(10*time.Microsecond), notes(s))
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func notes(s router.Status) string {
	var n []string
	switch {
	case s.Version == 2:
		n = append(n, "vrrpv2")
	case s.V2Compat:
		n = append(n, "v2-compat")
	}
	if s.Maintenance {
		n = append(n, "maintenance")
	}
	if s.Fault {
		n = append(n, "fault")
	}
	if s.GroupFault {
		n = append(n, "group-fault")
	}
	if s.DualMaster > 0 {
		n = append(n, fmt.Sprintf("dual-master-adverts=%d", s.DualMaster))
	}
	if s.TakeoversDeferred > 0 {
		n = append(n, fmt.Sprintf("deferred-takeovers=%d", s.TakeoversDeferred))
	}
	if s.Group != "" {
		n = append(n, "group="+s.Group)
	}
	if s.HoldingVIPs && s.State != "MASTER" {
		n = append(n, "handing-over")
	}
	if len(s.Unicast) > 0 {
		n = append(n, "unicast="+joinAddrs(s.Unicast))
	}
	for _, t := range s.Trackers {
		if !t.Up || t.Delta != 0 || t.Fault {
			n = append(n, fmt.Sprintf("%s:%s(%+d)", t.Key, t.Detail, t.Delta))
		}
	}
	for _, r := range slices.Sorted(maps.Keys(s.Drops)) {
		n = append(n, fmt.Sprintf("drop %s=%d", r, s.Drops[r]))
	}
	for _, r := range slices.Sorted(maps.Keys(s.InterfaceDrops)) {
		n = append(n, fmt.Sprintf("interface-drop %s=%d", r, s.InterfaceDrops[r]))
	}
	return strings.Join(n, " ")
}

func joinAddrs(a []netip.Addr) string {
	s := make([]string, len(a))
	for i, x := range a {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

// FormatEvent is one line of `vrrpctl events`.
func FormatEvent(ev router.InstanceEvent) string {
	if ev.Kind == EventSubscribed {
		return ev.Time.Format(time.RFC3339Nano) + " following vrrpd's events"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", ev.Time.Format(time.RFC3339Nano), ev.Instance, ev.Kind)
	if ev.Kind == "transition" {
		fmt.Fprintf(&b, " %s -> %s (%s)", ev.From, ev.To, ev.Reason)
	}
	fmt.Fprintf(&b, " priority %d", ev.Priority)
	if ev.Detail != "" {
		fmt.Fprintf(&b, " %s", ev.Detail)
	}
	return b.String()
}
