// Package mariadbtest runs a throwaway MariaDB server (Debian's mariadb-server package) for tests and for
// the lab: a private datadir, TCP on a chosen or free address, a database user, and a stop by PID.
//
// The server is started with --no-defaults so the host's /etc/mysql configuration and any system
// instance (socket, pid file, port 3306) are left alone, and with utf8mb4 as the server character set
// (the compiled-in default under --no-defaults is latin1). A pristine datadir made once by
// mariadb-install-db is kept as a template under the system temp directory and copied for every start,
// which cuts a start from 2-3 s to well under one second.
//
// Tests call Start; the lab, which may run the server inside a network namespace, calls Launch with a
// command prefix such as ["ip", "netns", "exec", "ns-db"].
package mariadbtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Options configure Launch. Zero values pick defaults.
type Options struct {
	// Dir holds the datadir (Dir/data), the error log and the pid file. If empty, Launch creates a
	// temporary directory and Stop removes it; a directory given by the caller is left in place, and a
	// datadir already in it is used as is (a restart keeps the data).
	Dir string
	// Addr is the IP:port to listen on. Empty means 127.0.0.1 and a free port. With Command entering a
	// network namespace, Addr is an address inside that namespace.
	Addr string
	// Command is a prefix for the mariadbd command line, e.g. ["ip", "netns", "exec", "ns-db"]. The
	// prefix must exec mariadbd in place (as ip netns exec does) so the PID Stop signals is the server's.
	Command []string
	// User and Password of the account created for clients, allowed from any host with all privileges
	// (a throwaway server). Defaults: "chatd", "chatd-pass".
	User, Password string
	// Database is created at start if non-empty.
	Database string
	// ExtraArgs are appended to the mariadbd command line (e.g. "--innodb-flush-log-at-trx-commit=2").
	ExtraArgs []string
	// StartTimeout bounds the wait for the server to accept connections (default 60 s).
	StartTimeout time.Duration
	// RunAs is the system user mariadbd runs as (default root). Galera's rsync SST needs an unprivileged
	// one ("mysql"): the joiner's rsync daemon, started by a root mariadbd, drops to nobody and then
	// cannot write the datadir. Dir, the datadir and the socket directory are then owned by RunAs.
	RunAs string
	// NoSetup skips creating the client account and Database, e.g. for a Galera joiner, which gets
	// them from its donor and may not accept statements until it is in the primary component.
	NoSetup bool
}

// Server is a running throwaway MariaDB.
type Server struct {
	Addr     string // IP:port clients connect to
	User     string
	Password string
	Dir      string
	PID      int

	socket    string // unix socket for root administration
	sockDir   string
	removeDir bool
	cmd       *exec.Cmd
	exited    chan struct{} // closed when the process has been waited for
	waitErr   error
	admin     *sql.DB // root over the unix socket

	stopped  atomic.Bool
	stopOnce sync.Once
	stopErr  error
}

// Binaries reports whether the MariaDB server binaries are installed, and if not, which is missing.
func Binaries() error {
	for _, b := range []string{"mariadbd", "mariadb-install-db"} {
		if _, err := lookPath(b); err != nil {
			return fmt.Errorf("%s not found (install Debian package mariadb-server): %w", b, err)
		}
	}
	return nil
}

// lookPath finds a binary in PATH or in the sbin directories a non-login root shell may lack.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// Launch starts a server as described by o and returns once it accepts connections with the client
// account (and database) created. Call Stop to end it.
func Launch(ctx context.Context, o Options) (*Server, error) {
	if err := Binaries(); err != nil {
		return nil, fmt.Errorf("mariadbtest: %w", err)
	}
	if o.User == "" {
		o.User = "chatd"
	}
	if o.Password == "" {
		o.Password = "chatd-pass"
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
	s := &Server{User: o.User, Password: o.Password, Dir: o.Dir}
	if s.Dir == "" {
		d, err := os.MkdirTemp("", "mariadbtest-")
		if err != nil {
			return nil, fmt.Errorf("mariadbtest: %w", err)
		}
		s.Dir, s.removeDir = d, true
	}
	// A unix socket path must fit in sun_path (108 bytes); test temp dirs can be longer.
	sd, err := os.MkdirTemp("", "mdb")
	if err != nil {
		s.cleanupDirs()
		return nil, fmt.Errorf("mariadbtest: %w", err)
	}
	s.sockDir, s.socket = sd, filepath.Join(sd, "s.sock")

	if err := prepareDatadir(ctx, filepath.Join(s.Dir, "data")); err != nil {
		s.cleanupDirs()
		return nil, fmt.Errorf("mariadbtest: %w", err)
	}
	if o.RunAs != "" && o.RunAs != "root" {
		if err := chownAll(o.RunAs, s.Dir, s.sockDir); err != nil {
			s.cleanupDirs()
			return nil, fmt.Errorf("mariadbtest: %w", err)
		}
	}
	// A free port can be taken between our probe and the server's bind: retry a few times.
	for attempt := 0; ; attempt++ {
		addr := o.Addr
		if addr == "" {
			if addr, err = freeLoopbackAddr(); err != nil {
				s.cleanupDirs()
				return nil, fmt.Errorf("mariadbtest: %w", err)
			}
		}
		err = s.start(ctx, o, addr)
		if err == nil {
			break
		}
		if o.Addr != "" || attempt == 2 || !errors.Is(err, errExitedEarly) {
			s.cleanupDirs()
			return nil, fmt.Errorf("mariadbtest: %w", err)
		}
	}
	if o.NoSetup {
		return s, nil
	}
	if err := s.setup(ctx, o); err != nil {
		s.Stop()
		return nil, fmt.Errorf("mariadbtest: %w", err)
	}
	return s, nil
}

var errExitedEarly = errors.New("mariadbd exited during start")

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("probe free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start runs mariadbd on addr and waits until root can connect over the unix socket.
func (s *Server) start(ctx context.Context, o Options, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bad address %q: %w", addr, err)
	}
	bin, _ := lookPath("mariadbd")
	user := o.RunAs
	if user == "" {
		user = "root"
	}
	args := []string{bin, "--no-defaults", "--user=" + user,
		"--datadir=" + filepath.Join(s.Dir, "data"),
		"--socket=" + s.socket,
		"--port=" + port, "--bind-address=" + host,
		"--pid-file=" + filepath.Join(s.Dir, "mariadbd.pid"),
		"--log-error=" + filepath.Join(s.Dir, "error.log"),
		"--skip-name-resolve", "--skip-log-bin",
		"--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M",
		"--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
		"--max-connections=300", "--performance-schema=OFF",
	}
	args = append(args, o.ExtraArgs...)
	argv := append(append([]string{}, o.Command...), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	// Own process group (a terminal ^C does not reach it half-way) and killed if we die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", strings.Join(argv, " "), err)
	}
	s.cmd, s.PID, s.Addr = cmd, cmd.Process.Pid, addr
	s.exited = make(chan struct{})
	go func() { s.waitErr = cmd.Wait(); close(s.exited) }()

	s.admin, err = sql.Open("mysql", "root@unix("+s.socket+")/?timeout=2s")
	if err != nil {
		s.kill()
		return err
	}
	deadline := time.NewTimer(o.StartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := s.admin.PingContext(pctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			s.admin.Close()
			return fmt.Errorf("%w (%v); log %s:\n%s", errExitedEarly, s.waitErr,
				filepath.Join(s.Dir, "error.log"), s.logTail())
		case <-deadline.C:
			s.kill()
			return fmt.Errorf("mariadbd not accepting connections after %v: %v\n%s", o.StartTimeout, err, s.logTail())
		case <-ctx.Done():
			s.kill()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// setup creates the client account and database.
func (s *Server) setup(ctx context.Context, o Options) error {
	stmts := []string{
		fmt.Sprintf("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", quote(o.User), quote(o.Password)),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO %s@'%%'", quote(o.User)),
	}
	if o.Database != "" {
		stmts = append(stmts, "CREATE DATABASE IF NOT EXISTS "+ident(o.Database))
	}
	for _, q := range stmts {
		if _, err := s.admin.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("setup: %s: %w", q, err)
		}
	}
	return nil
}

// quote makes a SQL string literal of s (account names and passwords are ours, but be exact anyway).
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// ident quotes a database name.
func ident(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "error.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func (s *Server) kill() {
	// Admin connections first: closing them after the server is gone makes the driver log a broken pipe.
	if s.admin != nil {
		s.admin.Close()
	}
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.exited
	}
}

func (s *Server) cleanupDirs() {
	if s.sockDir != "" {
		os.RemoveAll(s.sockDir)
	}
	if s.removeDir {
		os.RemoveAll(s.Dir)
	}
}

// DSN returns a go-sql-driver DSN for database db as the client account, over TCP.
func (s *Server) DSN(db string) string {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = s.User, s.Password
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", s.Addr, db
	return cfg.FormatDSN()
}

// CreateDatabase creates database name (if missing).
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	if _, err := s.admin.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+ident(name)); err != nil {
		return fmt.Errorf("mariadbtest: create database %s: %w", name, err)
	}
	return nil
}

// DropDatabase drops database name (if present).
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	if _, err := s.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+ident(name)); err != nil {
		return fmt.Errorf("mariadbtest: drop database %s: %w", name, err)
	}
	return nil
}

// Stop terminates the server by its PID (SIGTERM, then SIGKILL after 30 s), waits for it to exit and
// removes the directories Launch created. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.stopped.Store(true)
		if s.admin != nil {
			s.admin.Close()
		}
		if s.cmd != nil && s.cmd.Process != nil {
			s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(30 * time.Second):
				s.cmd.Process.Kill()
				<-s.exited
				s.stopErr = fmt.Errorf("mariadbtest: mariadbd pid %d ignored SIGTERM for 30 s; killed", s.PID)
			}
		}
		s.cleanupDirs()
	})
	return s.stopErr
}

// Kill ends the server abruptly (SIGKILL), as a crash would, and waits for it; its Dir is kept when the
// caller gave it, so Launch on the same Dir restarts it with its data (InnoDB recovers). Use it to test
// a database failure; Stop is the clean way.
func (s *Server) Kill() {
	s.stopOnce.Do(func() {
		s.stopped.Store(true)
		s.kill()
		s.cleanupDirs()
	})
}

// chownAll gives the trees under dirs to the system user name (its primary group too), and makes each
// dir itself traversable by it.
func chownAll(name string, dirs ...string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("run as %s: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		})
		if err != nil {
			return fmt.Errorf("chown %s to %s: %w", d, name, err)
		}
	}
	return nil
}

// templateMu serializes template creation within a process; a rename makes it atomic across processes.
var templateMu sync.Mutex

// prepareDatadir fills dst with a fresh datadir, copied from the cached template (made on first use).
// An existing datadir (a server launched again on the same Dir) is kept with its data.
func prepareDatadir(ctx context.Context, dst string) error {
	if st, err := os.Stat(filepath.Join(dst, "mysql")); err == nil && st.IsDir() {
		return nil
	}
	tmpl, err := template(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "cp", "-a", tmpl, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("copy datadir template: %w: %s", err, out)
	}
	return nil
}

func template(ctx context.Context) (string, error) {
	templateMu.Lock()
	defer templateMu.Unlock()
	bin, _ := lookPath("mariadbd")
	ver, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("mariadbd --version: %w", err)
	}
	installArgs := []string{"--no-defaults", "--user=root", "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve"}
	h := sha256.Sum256([]byte(string(ver) + strings.Join(installArgs, " ") + "uid" + strconv.Itoa(os.Getuid())))
	final := filepath.Join(os.TempDir(), "mariadbtest-template-"+hex.EncodeToString(h[:6]))
	if st, err := os.Stat(filepath.Join(final, "mysql")); err == nil && st.IsDir() {
		return final, nil
	}
	work, err := os.MkdirTemp("", "mariadbtest-template-work-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	data := filepath.Join(work, "data")
	ib, _ := lookPath("mariadb-install-db")
	out, err := exec.CommandContext(ctx, ib, append(installArgs, "--datadir="+data)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("mariadb-install-db: %w\n%s", err, out)
	}
	if err := os.Rename(data, final); err != nil {
		// Another process won the race: use its template.
		if st, serr := os.Stat(filepath.Join(final, "mysql")); serr == nil && st.IsDir() {
			return final, nil
		}
		return "", fmt.Errorf("install datadir template: %w", err)
	}
	return final, nil
}
