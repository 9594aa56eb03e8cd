package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/hachat/hachat/test/cpubudget"
)

// Each of the paper's machines was its own computer; here every namespace
// shares the same two cores, so a second chat server adds no CPU and the
// ceiling search finds the box's limit, not a server's. -machine-cpu gives
// each lab machine its own budget instead: a cgroup v1 cpu group per
// machine (test/cpubudget), with the machine's processes moved in by PID
// when they start (vrrpd, chatd, mariadbd; on a Galera tier each node is a
// machine with the budget of "db"). The client, the load
// generator, is this process itself; it gets a budget only when named
// (client=F), since a throttled client measures itself. Work the kernel
// does in softirq (forwarding, the nftables data plane's NAT) is charged
// to whichever process is running, not to a balancer's group: a balancer's
// budget binds vrrpd, its control plane, only (and vrrpd is realtime, so
// the binding budget is its realtime one, at most lbRealtime).

// lbRealtime caps a balancer's realtime budget (of each CPU, per second).
const lbRealtime = 0.1

// serverMachines are the machines the default budget applies to.
var serverMachines = []string{"lb1", "lb2", "app1", "app2", "db"}

// MachineCPU is the parsed -machine-cpu flag.
type MachineCPU struct {
	Default float64            `json:"default,omitempty"` // CPUs per server machine; 0: unlimited
	Per     map[string]float64 `json:"per_machine,omitempty"`
}

// parseMachineCPU reads "0.4" or "0.4,db=1,client=0.5": a default for the
// server machines, then per-machine values (0: unlimited).
func parseMachineCPU(s string) (MachineCPU, error) {
	var m MachineCPU
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	known := append(slices.Clone(serverMachines), "client")
	for i, part := range strings.Split(s, ",") {
		name, val, named := strings.Cut(strings.TrimSpace(part), "=")
		if !named {
			val, name = name, ""
		}
		f, err := strconv.ParseFloat(val, 64)
		if err != nil || f < 0 || f > 64 {
			return m, fmt.Errorf("-machine-cpu %q: %q is not a CPU count from 0 to 64 (e.g. 0.4)", s, val)
		}
		switch {
		case !named && i == 0:
			m.Default = f
		case !named:
			return m, fmt.Errorf("-machine-cpu %q: only the first item may omit a machine name", s)
		case !slices.Contains(known, name):
			return m, fmt.Errorf("-machine-cpu %q: unknown machine %q (want one of %v)", s, name, known)
		default:
			if m.Per == nil {
				m.Per = map[string]float64{}
			}
			m.Per[name] = f
		}
	}
	return m, nil
}

// Budgets lists the budget of every budgeted machine (a zero budget means
// no group at all).
func (m MachineCPU) Budgets() map[string]float64 {
	out := map[string]float64{}
	for _, n := range serverMachines {
		if m.Default > 0 {
			out[n] = m.Default
		}
	}
	for n, f := range m.Per {
		if f > 0 {
			out[n] = f
		} else {
			delete(out, n)
		}
	}
	return out
}

// String is the flag's canonical form, for the report.
func (m MachineCPU) String() string {
	b := m.Budgets()
	if len(b) == 0 {
		return "none (every machine shares the whole box)"
	}
	var parts []string
	for _, n := range append(slices.Clone(serverMachines), "client") {
		if f, ok := b[n]; ok {
			parts = append(parts, fmt.Sprintf("%s %g", n, f))
		}
	}
	return strings.Join(parts, ", ") + " CPU"
}

// CPUReport is what the report says about the budgets: the setting and,
// per machine, how often its budget ran out over the whole run.
type CPUReport struct {
	Setting  MachineCPU                `json:"setting"`
	Machines []string                  `json:"machines,omitempty"` // budgeted, in order
	Throttle map[string]cpubudget.Stat `json:"throttle,omitempty"`
}

// row is the report's table row.
func (c *CPUReport) row() string {
	if c == nil || len(c.Setting.Budgets()) == 0 {
		return "| CPU budget per machine | none (`-machine-cpu`): all namespaces share the box |\n"
	}
	var th []string
	for _, n := range c.Machines {
		if st, ok := c.Throttle[n]; ok && st.Periods > 0 {
			th = append(th, fmt.Sprintf("%s %d of %d periods (%.1f s)", n, st.Throttled, st.Periods, st.ThrottledTime.Seconds()))
		}
	}
	return fmt.Sprintf("| CPU budget per machine | %s (cgroup v1 cpu quota per 100 ms; `-machine-cpu`); throttled: %s |\n",
		c.Setting, strings.Join(th, ", "))
}

// setupBudgets creates the groups and puts this process (the client) into
// its own when the client is budgeted. Groups of dead runs go first.
func (t *Topology) setupBudgets() error {
	budgets := t.MachineCPU.Budgets()
	if len(budgets) == 0 {
		return nil
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	root, err := cpubudget.FindController(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("-machine-cpu: %w", err)
	}
	if removed, err := cpubudget.Sweep(root, "hachat"); err != nil {
		fmt.Fprintf(t.log, "lab: removing CPU groups of dead runs: %v\n", err)
	} else if len(removed) > 0 {
		fmt.Fprintf(t.log, "lab: removed %d CPU groups left by dead runs\n", len(removed))
	}
	t.cpu = cpubudget.New(root, "hachat", t.Lab.Name())
	for _, n := range t.machines() {
		if b, ok := t.budgetOf(n); ok {
			if err := t.cpu.Budget(n, b); err != nil {
				return err
			}
			// vrrpd runs every thread SCHED_RR (adverts must not wait
			// behind a busy host), so its CFS quota does not bind it;
			// its realtime budget does: small, as the controller's
			// groups share 0.95 of each CPU for realtime.
			if strings.HasPrefix(n, "lb") {
				if err := t.cpu.Realtime(n, min(b, lbRealtime)); err != nil {
					return err
				}
			}
		}
	}
	fmt.Fprintf(t.log, "lab: CPU budgets: %s, groups %s/hachat-*-%s-*\n", t.MachineCPU, root, t.Lab.Name())
	return t.budget("client", os.Getpid())
}

// dbMachines are the database machines: db, or db1..db3 on a Galera tier.
func (t *Topology) dbMachines() []string {
	if t.DBKind != dbGalera {
		return []string{"db"}
	}
	var ms []string
	for _, n := range galeraNodes {
		ms = append(ms, n.name)
	}
	return ms
}

// machines are every machine that may have a budget, in report order.
func (t *Topology) machines() []string {
	return append(append([]string{"lb1", "lb2", "app1", "app2"}, t.dbMachines()...), "client")
}

// budgetOf is machine's budget; each Galera node has the one of "db".
func (t *Topology) budgetOf(machine string) (float64, bool) {
	if slices.Contains(t.dbMachines(), machine) {
		machine = "db"
	}
	b, ok := t.MachineCPU.Budgets()[machine]
	return b, ok
}

// budgetDB moves the database server(s) into their groups (again after a
// Galera node restarted: a new PID).
func (t *Topology) budgetDB() error {
	if t.Galera == nil {
		return t.budget("db", t.DB.PID)
	}
	for _, n := range t.Galera.Nodes {
		if pid := n.PID(); pid > 0 {
			if err := t.budget(n.Name, pid); err != nil {
				return err
			}
		}
	}
	return nil
}

// budget moves pid into machine's group, if it has one.
func (t *Topology) budget(machine string, pid int) error {
	if t.cpu == nil || t.cpu.Dir(machine) == "" {
		return nil
	}
	if err := t.cpu.Move(machine, pid); err != nil {
		return fmt.Errorf("%s: CPU budget: %w", machine, err)
	}
	return nil
}

// CPUReport reads the groups' counters (nil without budgets).
func (t *Topology) CPUReport() *CPUReport {
	r := &CPUReport{Setting: t.MachineCPU}
	if t.cpu == nil {
		return r
	}
	r.Throttle = map[string]cpubudget.Stat{}
	for _, n := range t.machines() {
		if st, err := t.cpu.Stat(n); err == nil {
			r.Machines = append(r.Machines, n)
			r.Throttle[n] = st
		}
	}
	return r
}

// closeBudgets removes the groups (after the processes stopped); this
// process goes back to the root group.
func (t *Topology) closeBudgets() error {
	if t.cpu == nil {
		return nil
	}
	return t.cpu.Close()
}
