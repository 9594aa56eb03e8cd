package mariadbtest

// A MariaDB Galera cluster (Debian's galera-4 provider) in network namespaces, shared by tests and the
// lab. Each node is a Server launched inside its own namespace through "ip netns exec", so its PID is the
// server's and the cluster is torn down by the PIDs it recorded. The first node bootstraps a new cluster
// (--wsrep-new-cluster, what galera_new_cluster does); the others join it by state transfer (SST by
// rsync; IST from the donor's gcache when a node rejoins with its data).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	vnetns "github.com/vishvananda/netns"

	"github.com/hachat/hachat/test/netns"
)

// GaleraProvider is where Debian's galera-4 package installs the wsrep provider.
const GaleraProvider = "/usr/lib/galera/libgalera_smm.so"

// GaleraBinaries reports whether a Galera cluster can be started here, and if not, what is missing.
func GaleraBinaries() error {
	if err := Binaries(); err != nil {
		return err
	}
	if _, err := os.Stat(GaleraProvider); err != nil {
		return fmt.Errorf("%s missing (install Debian package galera-4): %w", GaleraProvider, err)
	}
	for _, b := range []string{"rsync", "nft", "ip"} {
		if _, err := lookPath(b); err != nil {
			return fmt.Errorf("%s not found (needed for SST and partitions): %w", b, err)
		}
	}
	return nil
}

// ClusterOptions configure StartCluster. Zero values pick defaults.
type ClusterOptions struct {
	// Lab holds the nodes' namespaces. If nil, StartCluster creates one (prefix "gal") and Close removes it.
	Lab *netns.Lab
	// Switch connects the nodes; if nil, one named "dbsw" is made in Lab.
	Switch *netns.Switch
	// Names of the nodes, which are also their namespace names in Lab (default db1, db2, db3).
	Names []string
	// Addrs of the nodes, one per name, from 198.18.0.0/15 (default 198.18.6.1/24, .2, .3).
	Addrs []netip.Prefix
	// Dir holds the nodes' directories. If empty, a temporary directory removed by Close.
	Dir string
	// User, Password and Database of the client account, created at bootstrap and replicated.
	User, Password, Database string
	// ExtraArgs are appended to every node's mariadbd command line.
	ExtraArgs []string
}

// Cluster is a running Galera cluster.
type Cluster struct {
	Nodes []*Node

	name   string // wsrep_cluster_name: unique per run
	lab    *netns.Lab
	sw     *netns.Switch
	ownLab bool
	dir    string
	ownDir bool
	o      ClusterOptions
	gcomm  string
}

// Node is one member of a Cluster. Its Server changes at every restart.
type Node struct {
	Name string
	Host *netns.Host
	IP   netip.Addr
	Addr string // IP:3306
	Dir  string

	c           *Cluster
	mu          sync.Mutex
	srv         *Server
	partitioned bool
}

// StartCluster creates the namespaces, bootstraps the first node and joins the others, returning once
// every node is Synced in a primary component of all of them.
func StartCluster(ctx context.Context, o ClusterOptions) (*Cluster, error) {
	if err := GaleraBinaries(); err != nil {
		return nil, fmt.Errorf("mariadbtest: galera: %w", err)
	}
	if len(o.Names) == 0 {
		o.Names = []string{"db1", "db2", "db3"}
	}
	if len(o.Addrs) == 0 {
		for i := range o.Names {
			o.Addrs = append(o.Addrs, netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 6, byte(i + 1)}), 24))
		}
	}
	if len(o.Addrs) != len(o.Names) {
		return nil, fmt.Errorf("mariadbtest: galera: %d names but %d addresses", len(o.Names), len(o.Addrs))
	}
	if o.User == "" {
		o.User, o.Password = "chatd", "chatd-pass"
	}
	c := &Cluster{o: o, lab: o.Lab, dir: o.Dir}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	if c.lab == nil {
		l, err := netns.New(ctx, "gal")
		if err != nil {
			return nil, fmt.Errorf("mariadbtest: galera: %w", err)
		}
		c.lab, c.ownLab = l, true
	}
	c.name = "gal-" + c.lab.Name()
	if c.dir == "" {
		d, err := os.MkdirTemp("", "galera-")
		if err != nil {
			return nil, fmt.Errorf("mariadbtest: galera: %w", err)
		}
		c.dir, c.ownDir = d, true
	}
	// mariadbd runs as mysql (see Options.RunAs), which must reach the node directories.
	if err := os.Chmod(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("mariadbtest: galera: %w", err)
	}
	sw := o.Switch
	if sw == nil {
		var err error
		if sw, err = c.lab.Switch("dbsw"); err != nil {
			return nil, fmt.Errorf("mariadbtest: galera: %w", err)
		}
	}
	c.sw = sw
	var ips []string
	for i, name := range o.Names {
		h, err := c.lab.Host(name)
		if err != nil {
			return nil, fmt.Errorf("mariadbtest: galera: %w", err)
		}
		if _, err := c.lab.Link(h, sw, "eth0", o.Addrs[i]); err != nil {
			return nil, fmt.Errorf("mariadbtest: galera: %w", err)
		}
		ip := o.Addrs[i].Addr()
		n := &Node{Name: name, Host: h, IP: ip, Addr: net.JoinHostPort(ip.String(), "3306"),
			Dir: filepath.Join(c.dir, name), c: c}
		if err := os.MkdirAll(n.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("mariadbtest: galera: %w", err)
		}
		c.Nodes = append(c.Nodes, n)
		ips = append(ips, ip.String())
	}
	c.gcomm = "gcomm://" + strings.Join(ips, ",")
	if err := c.Nodes[0].start(ctx, true, true); err != nil {
		return nil, err
	}
	// Joiners one at a time: each takes a full SST from a donor, and a donor serves one SST at a time.
	for _, n := range c.Nodes[1:] {
		if err := n.Start(ctx); err != nil {
			return nil, err
		}
	}
	ok = true
	return c, nil
}

// Lab is the lab holding the nodes' namespaces.
func (c *Cluster) Lab() *netns.Lab { return c.lab }

// Switch is the switch the nodes are linked to.
func (c *Cluster) Switch() *netns.Switch { return c.sw }

// Node returns the node called name, or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// args is the mariadbd command line of a node beyond what Launch sets. Timeouts are shorter than
// Galera's defaults (suspect 5 s, inactive 15 s) so a dead node is evicted in seconds, but long enough
// that a busy test machine does not suspect live nodes; the small gcache still holds the writes a
// restarted node misses during a test, so it rejoins by IST.
func (n *Node) args(bootstrap bool) []string {
	a := []string{
		"--wsrep_on=ON", "--wsrep_provider=" + GaleraProvider,
		"--wsrep_cluster_name=" + n.c.name, "--wsrep_cluster_address=" + n.c.gcomm,
		"--wsrep_node_name=" + n.Name, "--wsrep_node_address=" + n.IP.String(),
		"--wsrep_sst_method=rsync",
		"--wsrep_provider_options=gcache.size=32M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;" +
			"evs.install_timeout=PT5S;evs.keepalive_period=PT1S;evs.inactive_check_period=PT1S",
		"--binlog_format=ROW", "--innodb_autoinc_lock_mode=2",
		// Durability comes from the other nodes holding every committed write set; a process killed
		// with -9 loses nothing the kernel already has, and one flush per second is Galera's usual
		// setting.
		"--innodb_flush_log_at_trx_commit=2",
		"--innodb-buffer-pool-size=32M",
	}
	if bootstrap {
		a = append(a, "--wsrep-new-cluster")
	}
	return append(a, n.c.o.ExtraArgs...)
}

// Start starts the node and waits until it is Synced: a node with data rejoins by IST (or SST when the
// cluster's gcache no longer holds what it missed), an empty one by SST.
func (n *Node) Start(ctx context.Context) error { return n.start(ctx, false, false) }

// Bootstrap starts the node as a new primary component of its own (--wsrep-new-cluster), as
// galera_new_cluster does after the whole cluster stopped.
func (n *Node) Bootstrap(ctx context.Context) error { return n.start(ctx, true, false) }

func (n *Node) start(ctx context.Context, bootstrap, setup bool) error {
	n.mu.Lock()
	if n.srv != nil {
		n.mu.Unlock()
		return fmt.Errorf("mariadbtest: galera %s: already running (pid %d)", n.Name, n.srv.PID)
	}
	n.mu.Unlock()
	args := n.args(bootstrap)
	if !bootstrap {
		pos, err := n.recoverPosition(ctx)
		if err != nil {
			return err
		}
		if pos != "" {
			args = append(args, "--wsrep_start_position="+pos)
		}
	}
	// The account and database are created once the node is Synced, not by Launch: a node accepts
	// connections before wsrep is ready and answers 1047 to everything until then.
	o := Options{
		Dir: n.Dir, Addr: n.Addr, Command: []string{"ip", "netns", "exec", n.Host.Namespace()},
		User: n.c.o.User, Password: n.c.o.Password, Database: n.c.o.Database,
		ExtraArgs: args, RunAs: "mysql", NoSetup: true, StartTimeout: 3 * time.Minute,
	}
	srv, err := Launch(ctx, o)
	if err != nil {
		return fmt.Errorf("mariadbtest: galera %s: %w", n.Name, err)
	}
	n.mu.Lock()
	n.srv = srv
	n.mu.Unlock()
	if err := n.WaitSynced(ctx); err != nil {
		return err
	}
	if setup {
		if err := srv.setup(ctx, o); err != nil {
			return fmt.Errorf("mariadbtest: galera %s: %w", n.Name, err)
		}
	}
	return nil
}

var (
	seqnoRE     = regexp.MustCompile(`(?m)^seqno:\s*(-?\d+)\s*$`)
	recoveredRE = regexp.MustCompile(`WSREP: Recovered position: ([0-9a-f-]+:-?\d+)`)
)

// recoverPosition finds the last committed write set of a node that crashed (grastate.dat says seqno
// -1), as the galera_recovery script does: mariadbd --wsrep-recover reads it from InnoDB. Started with
// it, the node asks its donor for the missing write sets only (IST) instead of a full copy (SST). It
// returns "" when there is nothing to recover (a new or cleanly stopped node).
func (n *Node) recoverPosition(ctx context.Context) (string, error) {
	data := filepath.Join(n.Dir, "data")
	b, err := os.ReadFile(filepath.Join(data, "grastate.dat"))
	if err != nil {
		return "", nil // never joined: SST
	}
	if m := seqnoRE.FindSubmatch(b); m == nil || string(m[1]) != "-1" {
		return "", nil
	}
	bin, _ := lookPath("mariadbd")
	logf := filepath.Join(n.Dir, "recover.log")
	os.Remove(logf)
	argv := append([]string{bin, "--no-defaults", "--user=mysql", "--datadir=" + data,
		"--log-error=" + logf, "--pid-file=" + filepath.Join(n.Dir, "recover.pid"),
		"--socket=" + filepath.Join(n.Dir, "recover.sock"), "--skip-networking", "--innodb-log-file-size=16M"},
		n.args(false)...)
	cmd := n.Host.Command(ctx, append(argv, "--wsrep-recover")...)
	out, err := cmd.CombinedOutput()
	lb, _ := os.ReadFile(logf)
	if err != nil {
		return "", fmt.Errorf("mariadbtest: galera %s: --wsrep-recover: %w: %s\n%s", n.Name, err, out, lb)
	}
	m := recoveredRE.FindSubmatch(lb)
	if m == nil {
		return "", fmt.Errorf("mariadbtest: galera %s: --wsrep-recover found no position:\n%s", n.Name, lb)
	}
	return string(m[1]), nil
}

// Server is the node's running server, or nil while it is down.
func (n *Node) Server() *Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv
}

// PID is the running server's PID, 0 while it is down.
func (n *Node) PID() int {
	if s := n.Server(); s != nil {
		return s.PID
	}
	return 0
}

// Kill ends the node with SIGKILL (a crash) and waits for it; its data stays for Start.
func (n *Node) Kill() {
	n.mu.Lock()
	s := n.srv
	n.srv = nil
	n.mu.Unlock()
	if s != nil {
		s.Kill()
	}
}

// Stop shuts the node down cleanly (SIGTERM by PID) and waits; its data stays for Start.
func (n *Node) Stop() error {
	n.mu.Lock()
	s := n.srv
	n.srv = nil
	n.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.Stop()
}

// Status is a node's view of the cluster (SHOW STATUS LIKE 'wsrep_%').
type Status struct {
	LocalState    int    // wsrep_local_state: 4 is Synced, 2 Donor, 1 Joining
	Ready         bool   // wsrep_ready: the node accepts queries
	ClusterStatus string // wsrep_cluster_status: Primary or non-Primary
	Size          int    // wsrep_cluster_size
}

// Synced reports whether the node can serve as a writer: Synced, ready, in the primary component.
func (s Status) Synced() bool { return s.LocalState == 4 && s.Ready && s.ClusterStatus == "Primary" }

// Status asks the running node over its unix socket.
func (n *Node) Status(ctx context.Context) (Status, error) {
	s := n.Server()
	if s == nil {
		return Status{}, fmt.Errorf("mariadbtest: galera %s: down", n.Name)
	}
	rows, err := s.admin.QueryContext(ctx, `SHOW GLOBAL STATUS WHERE Variable_name IN
		('wsrep_local_state', 'wsrep_ready', 'wsrep_cluster_status', 'wsrep_cluster_size')`)
	if err != nil {
		return Status{}, fmt.Errorf("mariadbtest: galera %s: status: %w", n.Name, err)
	}
	defer rows.Close()
	var st Status
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return Status{}, err
		}
		switch strings.ToLower(k) {
		case "wsrep_local_state":
			st.LocalState, _ = strconv.Atoi(v)
		case "wsrep_ready":
			st.Ready = v == "ON"
		case "wsrep_cluster_status":
			st.ClusterStatus = v
		case "wsrep_cluster_size":
			st.Size, _ = strconv.Atoi(v)
		}
	}
	return st, rows.Err()
}

// WaitStatus polls the node until ok(status) holds, ctx ends, or the server exits.
func (n *Node) WaitStatus(ctx context.Context, what string, ok func(Status) bool) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last Status
	var lastErr error
	for {
		s := n.Server()
		if s == nil {
			return fmt.Errorf("mariadbtest: galera %s: down while waiting for %s", n.Name, what)
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last, lastErr = n.Status(pctx)
		cancel()
		if lastErr == nil && ok(last) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mariadbtest: galera %s: waiting for %s: %w (last %+v, %v)", n.Name, what, ctx.Err(), last, lastErr)
		case <-s.exited:
			return fmt.Errorf("mariadbtest: galera %s: exited while waiting for %s; log:\n%s", n.Name, what, s.logTail())
		case <-tick.C:
		}
	}
}

// WaitSynced waits until the node is Synced in a primary component.
func (n *Node) WaitSynced(ctx context.Context) error {
	return n.WaitStatus(ctx, "Synced", Status.Synced)
}

// WaitSize waits until every running, unpartitioned node is Synced in a primary component of size.
func (c *Cluster) WaitSize(ctx context.Context, size int) error {
	for _, n := range c.Nodes {
		if n.Server() == nil || n.Partitioned() {
			continue
		}
		if err := n.WaitStatus(ctx, fmt.Sprintf("Synced, size %d", size), func(s Status) bool {
			return s.Synced() && s.Size == size
		}); err != nil {
			return err
		}
	}
	return nil
}

const partitionTable = "mariadbtest_partition"

// Partition cuts the node off from every other node with nftables inside its own namespace (input and
// output dropped to and from their addresses): group communication, state transfer and clients dialing
// from this namespace to the others all stop, as with a cable pulled between this host and the rest.
func (n *Node) Partition(ctx context.Context) error {
	var others []string
	for _, o := range n.c.Nodes {
		if o != n {
			others = append(others, o.IP.String())
		}
	}
	set := strings.Join(others, ", ")
	rules := fmt.Sprintf(`table inet %[1]s {
	chain in { type filter hook input priority 0; policy accept; ip saddr { %[2]s } drop; }
	chain out { type filter hook output priority 0; policy accept; ip daddr { %[2]s } drop; }
}
`, partitionTable, set)
	f := filepath.Join(n.c.lab.Dir(), n.Name+"-partition.nft")
	if err := os.WriteFile(f, []byte(rules), 0o644); err != nil {
		return err
	}
	if _, err := n.Host.Run(ctx, "nft", "-f", f); err != nil {
		return fmt.Errorf("mariadbtest: galera %s: partition: %w", n.Name, err)
	}
	n.mu.Lock()
	n.partitioned = true
	n.mu.Unlock()
	return nil
}

// Heal removes the partition.
func (n *Node) Heal(ctx context.Context) error {
	if _, err := n.Host.Run(ctx, "nft", "delete", "table", "inet", partitionTable); err != nil {
		return fmt.Errorf("mariadbtest: galera %s: heal: %w", n.Name, err)
	}
	n.mu.Lock()
	n.partitioned = false
	n.mu.Unlock()
	return nil
}

// Partitioned reports whether Partition is in force.
func (n *Node) Partitioned() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.partitioned
}

// RootDSN is a go-sql-driver DSN for database db as root over the node's unix socket (no network, so
// it works from the test process whatever the partitions), with causal reads: for direct checks on
// one node.
func (n *Node) RootDSN(db string) string {
	s := n.Server()
	if s == nil {
		return ""
	}
	return "root@unix(" + s.socket + ")/" + db + "?wsrep_sync_wait=1"
}

// DSN is the client account's DSN for database db on this node over TCP, for a client inside the lab's
// namespaces (e.g. a chatd started there).
func (n *Node) DSN(db string) string {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = n.c.o.User, n.c.o.Password
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", n.Addr, db
	return cfg.FormatDSN()
}

// ClientDSN is a go-sql-driver DSN for database db listing every node's address, comma-separated in the
// address part ("user:pass@NET(a:3306,b:3306,c:3306)/db"): the form chatd's galera:// store takes. NET
// is a dialer registered with the driver that connects from inside host's namespace, so the test
// process reaches the nodes as a program on host would (and is cut off with it by a partition).
func (c *Cluster) ClientDSN(from *netns.Host, db string) string {
	var addrs []string
	for _, n := range c.Nodes {
		addrs = append(addrs, n.Addr)
	}
	return fmt.Sprintf("%s:%s@%s(%s)/%s", c.o.User, c.o.Password, DialNet(from), strings.Join(addrs, ","), db)
}

var (
	netMu   sync.Mutex
	netRegs = map[string]bool{}
)

// DialNet registers with the MySQL driver a network that dials from inside host's namespace and returns
// its name, for the "NET(addr)" part of a DSN.
func DialNet(from *netns.Host) string { return DialNetNamed(from.Namespace()) }

// DialNetNamed is DialNet for a namespace known by its ip-netns name only (e.g. in a child process that
// got the name from its parent). The name of the network is "netns-" + ns in every process.
func DialNetNamed(ns string) string {
	netName := "netns-" + ns
	netMu.Lock()
	defer netMu.Unlock()
	if !netRegs[netName] {
		netRegs[netName] = true
		mysql.RegisterDialContext(netName, func(ctx context.Context, addr string) (net.Conn, error) {
			return dialIn(ctx, ns, addr)
		})
	}
	return netName
}

// dialIn connects to addr from inside namespace ns: the socket is made on an OS thread switched into
// it, and stays there after the thread switches back.
func dialIn(ctx context.Context, ns, addr string) (net.Conn, error) {
	runtime.LockOSThread()
	orig, err := vnetns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer orig.Close()
	target, err := vnetns.GetFromName(ns)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("namespace %s: %w", ns, err)
	}
	defer target.Close()
	if err := vnetns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("setns %s: %w", ns, err)
	}
	var d net.Dialer
	conn, derr := d.DialContext(ctx, "tcp", addr)
	if err := vnetns.Set(orig); err != nil {
		// A thread left in the wrong namespace would move every later socket of this goroutine.
		panic(fmt.Sprintf("mariadbtest: cannot return from namespace %s: %v", ns, err))
	}
	runtime.UnlockOSThread()
	return conn, derr
}

// TCPDSN is ClientDSN over plain TCP, for a program running inside one of the lab's namespaces.
func (c *Cluster) TCPDSN(db string) string {
	var addrs []string
	for _, n := range c.Nodes {
		addrs = append(addrs, n.Addr)
	}
	return fmt.Sprintf("%s:%s@tcp(%s)/%s", c.o.User, c.o.Password, strings.Join(addrs, ","), db)
}

var safeRE = regexp.MustCompile(`(?m)^safe_to_bootstrap:\s*1\s*$`)

// RestartAll stops every node cleanly, one after the other, then bootstraps the one Galera marked safe
// to bootstrap (the last to leave: grastate.dat safe_to_bootstrap: 1, which holds the newest state) and
// joins the others to it, each rejoining by IST.
func (c *Cluster) RestartAll(ctx context.Context) error {
	for i := len(c.Nodes) - 1; i >= 0; i-- {
		if err := c.Nodes[i].Stop(); err != nil {
			return err
		}
	}
	var first *Node
	for _, n := range c.Nodes {
		b, err := os.ReadFile(filepath.Join(n.Dir, "data", "grastate.dat"))
		if err == nil && safeRE.Match(b) {
			first = n
			break
		}
	}
	if first == nil {
		return errors.New("mariadbtest: galera: no node is safe to bootstrap after a clean stop of all")
	}
	if err := first.Bootstrap(ctx); err != nil {
		return err
	}
	for _, n := range c.Nodes {
		if n != first {
			if err := n.Start(ctx); err != nil {
				return err
			}
		}
	}
	return c.WaitSize(ctx, len(c.Nodes))
}

// Close kills every node (by PID), then removes the namespaces and directories it created. The data is
// thrown away, so there is nothing a clean shutdown would save.
func (c *Cluster) Close() error {
	for _, n := range c.Nodes {
		n.Kill()
	}
	var err error
	if c.ownLab && c.lab != nil {
		err = c.lab.Close()
	}
	if c.ownDir && c.dir != "" {
		err = errors.Join(err, os.RemoveAll(c.dir))
	}
	return err
}

// Query runs q on node n as root and returns the first column of every row as strings, for checks that
// bypass chatd entirely. The read is causal (wsrep_sync_wait=1): it sees every write the cluster
// committed before it started, even one this node has not applied yet.
func (n *Node) Query(ctx context.Context, db, q string, args ...any) ([]string, error) {
	dsn := n.RootDSN(db)
	if dsn == "" {
		return nil, fmt.Errorf("mariadbtest: galera %s: down", n.Name)
	}
	h, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	rows, err := h.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("mariadbtest: galera %s: %w", n.Name, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
