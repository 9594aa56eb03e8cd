package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hachat/hachat/ipvs"
)

// vmCtl speaks to a balancer VM's /init over its second serial port, a
// unix socket QEMU serves on the host: one command at a time, "<id> <cmd>"
// answered by lines and "<id> END <status>".
type vmCtl struct {
	path string
	mu   sync.Mutex
	conn net.Conn
	r    *bufio.Reader
	n    int
}

// do runs cmd in the guest and returns its output.
func (c *vmCtl) do(ctx context.Context, cmd string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		conn, err := (&net.Dialer{}).DialContext(ctx, "unix", c.path)
		if err != nil {
			return "", fmt.Errorf("vm control %s: %w", c.path, err)
		}
		c.conn, c.r = conn, bufio.NewReader(conn)
	}
	c.n++
	id := fmt.Sprintf("c%d", c.n)
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.conn.SetDeadline(deadline)
	if _, err := fmt.Fprintf(c.conn, "%s %s\n", id, cmd); err != nil {
		return "", c.fail(err)
	}
	var out strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return out.String(), c.fail(err)
		}
		line = strings.TrimRight(line, "\r\n")
		if rest, ok := strings.CutPrefix(line, id+" END "); ok {
			if rest != "0" {
				return out.String(), fmt.Errorf("vm %s: exit status %s: %s", cmd, rest, out.String())
			}
			return out.String(), nil
		}
		out.WriteString(line + "\n")
	}
}

// fail drops a connection whose stream position is unknown.
func (c *vmCtl) fail(err error) error {
	c.conn.Close()
	c.conn = nil
	return fmt.Errorf("vm control %s: %w", c.path, err)
}

// vmHoldsVIP asks lb's guest whether the VIP is on its NIC.
func (t *Topology) vmHoldsVIP(ctx context.Context, lb string) (bool, error) {
	out, err := t.vmctl[lb].do(ctx, "vip")
	return strings.TrimSpace(out) == "1", err
}

// waitVIP waits until lb holds the VIP (a namespace's address, or a VM's).
func (t *Topology) waitVIP(ctx context.Context, lb string) error {
	if !t.vmMode() {
		return t.Hosts[lb].WaitAddr(ctx, vipFront.Addr(), true)
	}
	for {
		if ok, err := t.vmHoldsVIP(ctx, lb); ok && err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitVMHolder is WaitService for the VMs: master holds the VIP and the
// chat service answers through it.
func (t *Topology) waitVMHolder(ctx context.Context, master string) error {
	if err := t.waitVIP(ctx, master); err != nil {
		return fmt.Errorf("the VIP never came up on %s: %w\n%s", master, err, tail(t.vms[master].Log(), 20))
	}
	if err := waitReachable(ctx, t.Client(), vipChat); err != nil {
		return fmt.Errorf("%s holds the VIP but %s does not answer: %w\n%s", master, vipChat, err, tail(t.vms[master].Log(), 20))
	}
	return nil
}

// vmBalancerStatus is vrrpctl balancer --json, run in lb's guest.
func (t *Topology) vmBalancerStatus(ctx context.Context, lb string) ([]ipvs.ServiceStatus, error) {
	out, err := t.vmctl[lb].do(ctx, "status")
	if err != nil {
		return nil, err
	}
	if t.Dataplane == dataplaneKeepalivedVM {
		return parseIPVSList(out), nil
	}
	var st []ipvs.ServiceStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return nil, fmt.Errorf("vrrpctl balancer in %s: %w: %q", lb, err, out)
	}
	return st, nil
}

// setLink cuts (up=false) or restores lb's cable: its switch port, or its
// VM's TAP.
func (t *Topology) setLink(lb string, up bool) error {
	if !t.vmMode() {
		if up {
			return t.Hosts[lb].Port("eth0").Up()
		}
		return t.Hosts[lb].Port("eth0").Down()
	}
	// A cut cable: the switch side (the TAP) goes down, and the guest's NIC
	// loses its carrier, as a namespace's veth does when its peer goes
	// down (QMP's set_link).
	state := "down"
	if up {
		state = "up"
	}
	if _, err := t.Switch.Run(context.Background(), "ip", "link", "set", "dev", lb, state); err != nil {
		return err
	}
	return qmp(filepath.Join(t.sockDir, lb+".qmp"), fmt.Sprintf(`{"execute": "set_link", "arguments": {"name": "n0", "up": %v}}`, up))
}

// qmp runs one QEMU Machine Protocol command: after the greeting, the
// capabilities handshake, then cmd; each answer is one JSON line.
func qmp(path, cmd string) error {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return fmt.Errorf("qmp %s: %w", path, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil { // {"QMP": {...}}
		return fmt.Errorf("qmp %s: greeting: %w", path, err)
	}
	for _, q := range []string{`{"execute": "qmp_capabilities"}`, cmd} {
		if _, err := fmt.Fprintln(c, q); err != nil {
			return fmt.Errorf("qmp %s: %w", path, err)
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return fmt.Errorf("qmp %s: %s: %w", path, q, err)
			}
			if strings.Contains(line, `"error"`) {
				return fmt.Errorf("qmp %s: %s: %s", path, q, strings.TrimSpace(line))
			}
			if strings.Contains(line, `"return"`) {
				break
			}
			// {"event": ...} lines come and go.
		}
	}
	return nil
}

// close drops the control connection (QEMU goes with the lab).
func (c *vmCtl) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// SyncEvidence is what the kernel's connection-sync daemons did around a
// takeover on the VMs, the evidence for why sessions survived it or not:
// which daemons ran on each director before the fault (`ipvsadm -L
// --daemon`), and how many of the trial's established chat connections the
// new master's IPVS table held when it took the VIP. A session the new
// master does not know dies at its first packet (IPVS schedules only a
// SYN).
type SyncEvidence struct {
	Daemons map[string]string `json:"sync_daemons_before"`
	// KnownAtTakeover counts established entries for the chat service in
	// the new master's table right after it took the VIP, leaving out
	// those it held before the trial (earlier trials' sessions, which a
	// director that was not on their path still lists as established
	// until they time out); -1 when the query failed.
	KnownAtTakeover int `json:"established_known_at_takeover"`
	// StaleAtTakeover counts the left-out entries.
	StaleAtTakeover int `json:"stale_entries_at_takeover"`
	before          map[string]bool
}

// vmSyncDaemons is `ipvsadm -L --daemon` in lb's guest, one line.
func (t *Topology) vmSyncDaemons(ctx context.Context, lb string) string {
	out, err := t.vmctl[lb].do(ctx, "sh ipvsadm -L --daemon")
	if err != nil {
		return "unknown: " + err.Error()
	}
	out = strings.Join(strings.Fields(out), " ")
	if out == "" {
		return "none"
	}
	return out
}

// vmEstablished lists the clients (address:port) of the established chat
// connections in lb's IPVS connection table.
func (t *Topology) vmEstablished(ctx context.Context, lb string) (map[string]bool, error) {
	out, err := t.vmctl[lb].do(ctx, "sh ipvsadm -Lnc")
	if err != nil {
		return nil, err
	}
	return established(out, vipChat), nil
}

// established reads `ipvsadm -Lnc` output ("pro expire state source
// virtual destination") and returns the sources of the ESTABLISHED entries
// to virtual.
func established(out, virtual string) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && f[2] == "ESTABLISHED" && f[4] == virtual {
			m[f[3]] = true
		}
	}
	return m
}

// syncEvidence starts a trial's evidence on the VMs when the trial moves
// the VIP: the sync daemons each director runs, and the entries the new
// holder lists before the trial's sessions open.
func (t *Topology) syncEvidence(ctx context.Context, newHolder string) *SyncEvidence {
	if !t.vmMode() || newHolder == "" {
		return nil
	}
	ev := &SyncEvidence{Daemons: map[string]string{}, KnownAtTakeover: -1}
	for _, lb := range []string{"lb1", "lb2"} {
		ev.Daemons[lb] = t.vmSyncDaemons(ctx, lb)
	}
	ev.before, _ = t.vmEstablished(ctx, newHolder)
	return ev
}

// atTakeover counts what the new holder knows once it holds the VIP.
func (ev *SyncEvidence) atTakeover(ctx context.Context, t *Topology, holder string) {
	now, err := t.vmEstablished(ctx, holder)
	if err != nil {
		return
	}
	ev.KnownAtTakeover = 0
	for c := range now {
		if ev.before[c] {
			ev.StaleAtTakeover++
		} else {
			ev.KnownAtTakeover++
		}
	}
}

// finding explains sessions broken at a takeover on the VMs with what the
// sync daemons showed.
func (ev *SyncEvidence) finding(holder string) string {
	return fmt.Sprintf("sync evidence: %s listed %d of the trial's connections right after the takeover; sync daemons before the fault: lb1 %q, lb2 %q (each VM's TAP capture is in the plane's logs)",
		holder, ev.KnownAtTakeover, ev.Daemons["lb1"], ev.Daemons["lb2"])
}
