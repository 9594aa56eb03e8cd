package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hachat/hachat/internal/mariadbtest"
	"github.com/hachat/hachat/ipvs"
	"github.com/hachat/hachat/test/cpubudget"
	"github.com/hachat/hachat/test/netns"
)

// The paper's system, in NAT mode (the keepalived/LVS default the paper
// used): one L2 segment carrying a front subnet, where clients reach the
// VIP, and a back subnet for the chat servers and the database. The VRRP
// master holds the VIP and the back-side gateway address, and the chat
// servers route through that gateway, so their replies come back through
// the balancer that NATed the request (LVS-NAT's requirement). The client
// also has a back-side address so it can reach one chat server directly,
// the paper's "without load balancing" setup.
const (
	vipAddr   = "198.18.1.100"
	chatPort  = "6667"
	vipChat   = vipAddr + ":" + chatPort
	app1Chat  = "198.18.2.21:" + chatPort
	app2Chat  = "198.18.2.22:" + chatPort
	dbAddr    = "198.18.2.30:3306"
	httpPort  = "8080"
	nudgePort = "7000"
	vrid      = 51
)

var (
	vipFront  = netip.MustParsePrefix(vipAddr + "/24")
	vipBack   = netip.MustParsePrefix("198.18.2.254/24")
	hostAddrs = map[string][]string{
		"client": {"198.18.1.10/24", "198.18.2.10/24"},
		"lb1":    {"198.18.1.11/24", "198.18.2.11/24"},
		"lb2":    {"198.18.1.12/24", "198.18.2.12/24"},
		"app1":   {"198.18.2.21/24"},
		"app2":   {"198.18.2.22/24"},
		"db":     {"198.18.2.30/24"},
	}
	lbPriority = map[string]int{"lb1": 150, "lb2": 100}
)

// Topology is the running system.
type Topology struct {
	Lab    *netns.Lab
	Switch *netns.Switch
	Hosts  map[string]*netns.Host
	DB     *mariadbtest.Server
	// DBKind is the database tier: dbMariaDB (one server, the paper's) or dbGalera (galera.go).
	DBKind string
	galeraState
	Bin string // directory holding vrrpd, vrrpctl, chatd
	// sockDir holds vrrpd's control sockets: a short path, since a unix
	// socket path must fit in 108 bytes.
	sockDir string
	vrrpd   map[string]*netns.Proc
	chatd   map[string]*netns.Proc
	log     io.Writer
	// MachineCPU is each machine's CPU budget (cpu.go); cpu its groups.
	MachineCPU MachineCPU
	cpu        *cpubudget.Set
	// Dataplane "ipvs-vm" runs lb1 and lb2 as QEMU VMs (vmlb.go).
	Dataplane string
	vms       map[string]*netns.Proc
	vmctl     map[string]*vmCtl
	// SyncRefresh is the VMs' sync_refresh_period (lvssync.go); 0 keeps
	// the kernel's defaults.
	SyncRefresh time.Duration
}

// Client is the host the load and the probes run from.
func (t *Topology) Client() *netns.Host { return t.Hosts["client"] }

// Up builds the topology and starts MariaDB, both chat servers and both
// balancers, and returns once the chat service answers on the VIP. On error
// the caller still calls Close, which removes whatever was made.
func Up(ctx context.Context, t *Topology, logDir string) error {
	if removed, err := netns.SweepStale("lab"); err != nil {
		fmt.Fprintf(t.log, "lab: removing namespaces of dead runs: %v\n", err)
	} else if len(removed) > 0 {
		fmt.Fprintf(t.log, "lab: removed %d namespaces left by dead runs\n", len(removed))
	}
	lab, err := netns.New(ctx, "lab", netns.WithDir(logDir))
	if err != nil {
		return err
	}
	t.Lab = lab
	t.Hosts = map[string]*netns.Host{}
	t.vrrpd = map[string]*netns.Proc{}
	t.chatd = map[string]*netns.Proc{}
	if t.sockDir, err = os.MkdirTemp("", "lab"); err != nil {
		return err
	}
	if t.Switch, err = lab.Switch("sw"); err != nil {
		return err
	}
	t.vms, t.vmctl = map[string]*netns.Proc{}, map[string]*vmCtl{}
	for _, name := range []string{"client", "lb1", "lb2", "app1", "app2", "db"} {
		if t.vmMode() && strings.HasPrefix(name, "lb") {
			continue // a VM, not a namespace
		}
		h, err := lab.Host(name)
		if err != nil {
			return err
		}
		var ps []netip.Prefix
		for _, a := range hostAddrs[name] {
			ps = append(ps, netip.MustParsePrefix(a))
		}
		if _, err := lab.Link(h, t.Switch, "eth0", ps...); err != nil {
			return err
		}
		t.Hosts[name] = h
	}
	fmt.Fprintf(t.log, "lab: namespaces %s-{client,lb1,lb2,app1,app2,db,sw}\n", lab.Name())
	if err := t.setupBudgets(); err != nil {
		return err
	}
	if err := t.tuneHosts(ctx); err != nil {
		return err
	}

	// Balancer VMs boot while the database and the chat servers start: a
	// TCG boot takes 10-30 s, and nothing reaches the VIP before both are up.
	if t.vmMode() {
		if err := t.startVMBalancers(ctx); err != nil {
			return err
		}
	}
	if err := ensureMariaDB(ctx, t.log); err != nil {
		return err
	}
	if t.DBKind == dbGalera {
		if err := t.startGalera(ctx); err != nil {
			return err
		}
	} else if err := t.startMariaDB(ctx); err != nil {
		return err
	}
	if err := t.budgetDB(); err != nil {
		return err
	}
	for _, app := range []string{"app1", "app2"} {
		if err := t.startChatd(ctx, app); err != nil {
			return err
		}
	}
	for _, app := range []string{"app1", "app2"} {
		if err := t.waitChatdReady(ctx, app, 60*time.Second); err != nil {
			return err
		}
	}
	if t.vmMode() {
		return t.waitVMService(ctx, 3*time.Minute)
	}
	if err := t.startVrrpdPair(ctx); err != nil {
		return err
	}
	return t.WaitService(ctx, "lb1", 30*time.Second)
}

// tuneHosts gives the namespaces their sysctls and the chat servers their
// route back through the balancer.
func (t *Topology) tuneHosts(ctx context.Context) error {
	// The load generator needs ports and quick reuse; the chat servers a
	// listen backlog that a 500/s storm does not overflow.
	sysctls := map[string][][2]string{
		"client": {{"net.ipv4.ip_local_port_range", "1024 65000"}, {"net.ipv4.tcp_tw_reuse", "1"}},
		"app1":   {{"net.core.somaxconn", "4096"}, {"net.ipv4.tcp_max_syn_backlog", "4096"}},
		"app2":   {{"net.core.somaxconn", "4096"}, {"net.ipv4.tcp_max_syn_backlog", "4096"}},
	}
	for name, kvs := range sysctls {
		for _, kv := range kvs {
			if err := t.Hosts[name].Sysctl(kv[0], kv[1]); err != nil {
				return err
			}
		}
	}
	for _, app := range []string{"app1", "app2"} {
		if out, err := t.Hosts[app].Run(ctx, "ip", "route", "add", "default", "via", vipBack.Addr().String()); err != nil {
			return fmt.Errorf("%s: default route via the balancer: %w %s", app, err, out)
		}
	}
	return nil
}

// startVrrpdPair checks and starts vrrpd on the namespace balancers.
func (t *Topology) startVrrpdPair(ctx context.Context) error {
	for _, lb := range []string{"lb1", "lb2"} {
		if err := t.writeVrrpdConfig(lb); err != nil {
			return err
		}
		if out, err := exec.CommandContext(ctx, filepath.Join(t.Bin, "vrrpd"), "-t", "-f", t.vrrpdConfig(lb)).CombinedOutput(); err != nil {
			return fmt.Errorf("vrrpd -t %s: %w: %s", t.vrrpdConfig(lb), err, out)
		}
	}
	for _, lb := range []string{"lb1", "lb2"} {
		if err := t.StartVrrpd(lb); err != nil {
			return err
		}
	}
	return nil
}

// startMariaDB starts the paper's single database server.
func (t *Topology) startMariaDB(ctx context.Context) error {
	var err error
	fmt.Fprintf(t.log, "lab: MariaDB in %s at %s\n", t.Hosts["db"].Namespace(), dbAddr)
	t.DB, err = mariadbtest.Launch(ctx, mariadbtest.Options{
		Command:  []string{"ip", "netns", "exec", t.Hosts["db"].Namespace()},
		Addr:     dbAddr,
		Database: "chat",
		// The paper's chat kept its state in one MySQL server; so does
		// chatd, with up to two connections per storm connection.
		ExtraArgs: []string{"--max-connections=1000"},
	})
	if err != nil {
		return fmt.Errorf("mariadb: %w", err)
	}
	return nil
}

func (t *Topology) startChatd(ctx context.Context, app string) error {
	ip := strings.TrimSuffix(hostAddrs[app][0], "/24")
	peer := "198.18.2.22"
	if app == "app2" {
		peer = "198.18.2.21"
	}
	argv := []string{filepath.Join(t.Bin, "chatd"),
		"-node", app,
		"-listen", net.JoinHostPort(ip, chatPort),
		"-http", net.JoinHostPort(ip, httpPort),
		"-dsn", t.dsn(),
		"-nudge-listen", net.JoinHostPort(ip, nudgePort),
		"-peers", net.JoinHostPort(peer, nudgePort),
		// The load generator sends faster than a human; flood control
		// would measure itself, not the server.
		"-flood-rate", "0",
		"-max-clients", "-1",
		// Every storm connection comes from the lab's client network: it
		// is one test tenant, not an attacker, so per-IP limits exempt it.
		"-exempt-networks", "198.18.0.0/15",
		"-log-format", "text", "-log-level", "warn",
	}
	p, err := t.Hosts[app].Start(context.Background(), "chatd", argv...)
	if err != nil {
		return err
	}
	t.chatd[app] = p
	return t.budget(app, p.PID())
}

// waitChatdReady polls the node's /readyz from the client until it says 200.
func (t *Topology) waitChatdReady(ctx context.Context, app string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	ip := strings.TrimSuffix(hostAddrs[app][0], "/24")
	dial := nsDial(t.Client())
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) { return dial(ctx, nil, addr) },
	}}
	url := "http://" + net.JoinHostPort(ip, httpPort) + "/readyz"
	for {
		if t.chatd[app].Exited() {
			return fmt.Errorf("chatd on %s exited during start:\n%s", app, tail(t.chatd[app].Log(), 20))
		}
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("chatd on %s not ready within %v: %w\n%s", app, d, err, tail(t.chatd[app].Log(), 20))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (t *Topology) vrrpdConfig(lb string) string { return filepath.Join(t.Lab.Dir(), lb+"-vrrpd.yaml") }
func (t *Topology) vrrpdSocket(lb string) string { return filepath.Join(t.sockDir, lb+".sock") }

// writeVrrpdConfig writes the balancer's configuration: VRRPv3 with the
// paper's keepalived defaults (1 s adverts, preemption), lb1 at priority
// 150 and lb2 at 100, the VIP and the back-side gateway address, and the
// chat virtual service balanced over both chat servers. The scheduler is
// mh (Maglev hashing on the connection's addresses and ports), so a
// balancer that takes over mid-stream sends each established session to
// the server it already had: sessions survive a failover without
// connection sync. The master refuses packets addressed to the VIPs
// themselves (accept: false, RFC 5798's default): the chat service is
// DNATed before the input hook, so it is unaffected. Health checks ask chatd's /readyz, which fails during
// lameduck, so a draining server gets no new users.
func (t *Topology) writeVrrpdConfig(lb string) error {
	cfg := fmt.Sprintf(`global:
  router_id: %[1]s
  control_socket: %[2]s
  dataplane: %[11]s
  log_level: info
instances:
  - name: chat
    interface: eth0
    vrid: %[3]d
    priority: %[4]d
    advert_interval: 1s
    accept: false
    virtual_addresses: [%[5]s, %[6]s]
virtual_servers:
  - name: chat
    address: %[7]s
    scheduler: mh
    instance: chat
    check: {type: http, port: %[8]s, path: /readyz, interval: 1s, timeout: 500ms, rise: 1, fall: 2}
    real_servers:
      - {address: %[9]s}
      - {address: %[10]s}
`, lb, t.vrrpdSocket(lb), vrid, lbPriority[lb], vipFront, vipBack, vipChat, httpPort, app1Chat, app2Chat, t.vrrpdDataplane())
	return os.WriteFile(t.vrrpdConfig(lb), []byte(cfg), 0o644)
}

// StartVrrpd starts the balancer daemon on lb (again).
func (t *Topology) StartVrrpd(lb string) error {
	if t.vmMode() {
		_, err := t.vmctl[lb].do(context.Background(), "start")
		return err
	}
	if p := t.vrrpd[lb]; p != nil && !p.Exited() {
		return fmt.Errorf("vrrpd on %s already runs (pid %d)", lb, p.PID())
	}
	_ = os.Remove(t.vrrpdSocket(lb)) // left behind by a kill -9
	p, err := t.Hosts[lb].Start(context.Background(), "vrrpd", filepath.Join(t.Bin, "vrrpd"), "-f", t.vrrpdConfig(lb))
	if err != nil {
		return err
	}
	t.vrrpd[lb] = p
	return t.budget(lb, p.PID())
}

// StopVrrpd stops lb's daemon gracefully (SIGTERM: priority-0 advert, then
// the addresses go), like the paper's "keepalived service stopped".
func (t *Topology) StopVrrpd(lb string) error {
	if t.vmMode() {
		if !t.VrrpdRunning(lb) {
			return nil
		}
		_, err := t.vmctl[lb].do(context.Background(), "stop")
		return err
	}
	p := t.vrrpd[lb]
	if p == nil || p.Exited() {
		return nil
	}
	err := p.Stop(15 * time.Second)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("vrrpd on %s: %w\n%s", lb, err, tail(p.Log(), 15))
	}
	return nil
}

// VrrpdRunning reports whether lb's daemon runs.
func (t *Topology) VrrpdRunning(lb string) bool {
	if t.vmMode() {
		out, err := t.vmctl[lb].do(context.Background(), "running")
		return err == nil && strings.TrimSpace(out) == "yes"
	}
	p := t.vrrpd[lb]
	return p != nil && !p.Exited()
}

// WaitService waits until master holds the VIP and a new connection to the
// chat service through the VIP succeeds.
func (t *Topology) WaitService(ctx context.Context, master string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if t.vmMode() {
		return t.waitVMHolder(ctx, master)
	}
	if err := t.Hosts[master].WaitAddr(ctx, vipFront.Addr(), true); err != nil {
		return fmt.Errorf("the VIP never came up on %s: %w\n%s", master, err, tail(t.vrrpd[master].Log(), 20))
	}
	if err := waitReachable(ctx, t.Client(), vipChat); err != nil {
		return fmt.Errorf("%s holds the VIP but %s does not answer: %w\n%s", master, vipChat, err, tail(t.vrrpd[master].Log(), 20))
	}
	return nil
}

// BalancerStatus asks lb's vrrpd for its virtual services (vrrpctl
// balancer --json).
func (t *Topology) BalancerStatus(ctx context.Context, lb string) ([]ipvs.ServiceStatus, error) {
	if t.vmMode() {
		return t.vmBalancerStatus(ctx, lb)
	}
	out, err := exec.CommandContext(ctx, filepath.Join(t.Bin, "vrrpctl"), "-s", t.vrrpdSocket(lb), "balancer", "--json").Output()
	if err != nil {
		return nil, fmt.Errorf("vrrpctl balancer on %s: %w", lb, err)
	}
	var st []ipvs.ServiceStatus
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("vrrpctl balancer on %s: %w: %q", lb, err, out)
	}
	return st, nil
}

// DataPlane asks lb's vrrpd which data plane its balancer programs.
func (t *Topology) DataPlane(ctx context.Context, lb string) (string, error) {
	if t.vmMode() {
		return t.vmDataPlane(), nil
	}
	st, err := t.BalancerStatus(ctx, lb)
	if err != nil {
		return "", err
	}
	if len(st) == 0 || st[0].DataPlane == "" {
		return "", fmt.Errorf("vrrpctl balancer on %s: no data plane reported", lb)
	}
	return st[0].DataPlane, nil
}

// WaitSettled waits until both chat servers say ready and lb's balancer
// sees both healthy: after an overload (the ceiling search) the servers and
// MariaDB need a moment, and a trial started before that would measure the
// overload's tail, not the fault.
func (t *Topology) WaitSettled(ctx context.Context, lb string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for _, app := range []string{"app1", "app2"} {
		if err := t.waitChatdReady(ctx, app, d); err != nil {
			return err
		}
	}
	var last string
	for {
		st, err := t.BalancerStatus(ctx, lb)
		if err == nil {
			up, total := 0, 0
			for _, s := range st {
				for _, rs := range s.RealServers {
					total++
					if rs.Health == "up" && rs.Weight > 0 {
						up++
					}
				}
			}
			if total > 0 && up == total {
				return nil
			}
			last = fmt.Sprintf("%d of %d real servers up", up, total)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s's balancer not settled within %v: %s", lb, d, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// KernelHasIPVS reports whether the running kernel offers IPVS.
func KernelHasIPVS() bool {
	_, err := os.Stat("/proc/net/ip_vs")
	return err == nil
}

// Close stops everything and removes the namespaces; it is safe after a
// partial Up.
func (t *Topology) Close() error {
	var errs []error
	if t.Lab != nil {
		// The balancers first, so nothing routes to half-stopped servers;
		// together, since a lone master waits for a backup that never comes.
		var wg sync.WaitGroup
		for _, lb := range []string{"lb1", "lb2"} {
			if p := t.vrrpd[lb]; p != nil {
				wg.Add(1)
				go func() { defer wg.Done(); p.Stop(5 * time.Second) }()
			}
		}
		wg.Wait()
	}
	if t.DB != nil {
		if err := t.DB.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("mariadb: %w", err))
		}
	}
	if t.Galera != nil {
		t.dbProbe.Wait()
		if err := t.Galera.Close(); err != nil {
			errs = append(errs, fmt.Errorf("galera: %w", err))
		}
	}
	if t.Lab != nil {
		if err := t.Lab.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, c := range t.vmctl {
		c.close()
	}
	if t.sockDir != "" {
		os.RemoveAll(t.sockDir)
	}
	if err := t.closeBudgets(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ensureMariaDB installs Debian's mariadb-server when its binaries are
// missing (`make lab` runs scripts/install-deps.sh first, so this only
// matters for a bare `go run ./test/lab`). Debian's policy keeps the system
// service from starting in a container; the lab never uses it anyway.
func ensureMariaDB(ctx context.Context, log io.Writer) error {
	if mariadbtest.Binaries() == nil {
		return nil
	}
	fmt.Fprintln(log, "lab: MariaDB is missing: apt-get install mariadb-server")
	cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "-q", "--no-install-recommends", "mariadb-server")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install mariadb-server: %w\n%s\n(run scripts/install-deps.sh, which also runs apt-get update)", err, tail(string(out), 10))
	}
	if err := mariadbtest.Binaries(); err != nil {
		return fmt.Errorf("after apt-get install mariadb-server: %w", err)
	}
	return nil
}
