package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// motd is the same one-line message of the day on every server, so each
// welcome burst has the same shape: 001-005, LUSERS, MOTD.
const motd = "registration benchmark"

// kind is one server implementation: how to write its configuration and
// how to run it in the foreground.
type kind struct {
	name string
	// config renders the configuration file for a server listening on
	// 127.0.0.1:port with its files in dir.
	config func(dir string, port int) string
	// command is the foreground command line; conf is the file config wrote.
	command func(bin, conf string) []string
	bin     string
}

// kinds are the servers regbench knows, in report order.
var kinds = []kind{
	{name: "chatd", config: chatdConfig, command: func(bin, conf string) []string {
		return []string{bin, "-config", conf, "-log-level", "warn"}
	}},
	// A second chatd binary (-chatd-base), to measure a change before and
	// after in the same run.
	{name: "chatd-base", config: chatdConfig, command: func(bin, conf string) []string {
		return []string{bin, "-config", conf, "-log-level", "warn"}
	}},
	{name: "ngircd", bin: "/usr/sbin/ngircd", config: ngircdConfig, command: func(bin, conf string) []string {
		return []string{bin, "--nodaemon", "--passive", "--config", conf}
	}},
	{name: "inspircd", bin: "/usr/sbin/inspircd", config: inspircdConfig, command: func(bin, conf string) []string {
		// The benchmark runs as root in a throw-away directory; InspIRCd
		// refuses root without the flag.
		return []string{bin, "--nofork", "--runasroot", "--config=" + conf}
	}},
}

// chatdConfig: the embedded SQLite store in a file, flood control and the
// client cap off, the load network (loopback) exempt from per-IP limits.
func chatdConfig(dir string, port int) string {
	return fmt.Sprintf(`node: regbench
server_name: ref.chatd.test
network: bench
listen: ["127.0.0.1:%d"]
http_listen: "127.0.0.1:%d"
pprof: true
dsn: "sqlite:%s"
motd: %q
limits:
  max_clients: -1
  flood_rate: -1
  exempt_networks: ["127.0.0.0/8"]
timers:
  ping_interval: 10m
  registration_timeout: 1m
`, port, port+1, filepath.Join(dir, "chatd.db"), motd)
}

// ngircdConfig: no DNS, ident or PAM lookups, no connection caps, long
// ping timeouts so held clients stay while their memory is measured.
func ngircdConfig(dir string, port int) string {
	return fmt.Sprintf(`[Global]
	Name = ref.ngircd.test
	Info = registration benchmark reference
	AdminInfo1 = bench
	AdminInfo2 = bench
	AdminEMail = bench@localhost
	Listen = 127.0.0.1
	Ports = %d
	MotdPhrase = %s
	PidFile = %s
[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxNickLength = 30
	PingTimeout = 600
	PongTimeout = 600
[Options]
	DNS = no
	Ident = no
	PAM = no
`, port, motd, filepath.Join(dir, "ngircd.pid"))
}

// inspircdConfig: one connect class without limits, fake lag, DNS or
// ident. InspIRCd completes a registration on its once-a-second user
// timer, so its register latency is about 1 s by design.
func inspircdConfig(dir string, port int) string {
	return fmt.Sprintf(`<server name="ref.inspircd.test" description="registration benchmark reference" network="bench">
<admin name="bench" nick="bench" email="bench@localhost">
<bind address="127.0.0.1" port="%d" type="clients">
<connect name="bench" allow="*" timeout="60" pingfreq="600" hardsendq="1048576" softsendq="65536" recvq="65536"
         localmax="1000000" globalmax="1000000" maxconnwarn="no" resolvehostnames="no" useident="no"
         fakelag="no" commandrate="1000000" threshold="1000000" limit="1000000">
<pid file="%[2]s/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="%[2]s/inspircd.log">
<performance softlimit="1000000" somaxconn="4096" clonesonconnect="no" nouserdns="yes">
<files motd="%[2]s/motd.txt">
<path configdir="%[2]s" datadir="%[2]s" logdir="%[2]s">
`, port, dir)
}

func isChatd(name string) bool { return strings.HasPrefix(name, "chatd") }

// server is one running reference or chatd process.
type server struct {
	name string
	addr string // IRC listener, host:port
	http string // chatd's HTTP listener (pprof, metrics); "" for the others
	cmd  *exec.Cmd
	exit chan error
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// start writes k's configuration into its own directory under dir, starts
// the server and waits until its port accepts connections.
func start(ctx context.Context, k kind, bin, dir string) (*server, error) {
	sdir := filepath.Join(dir, k.name)
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(sdir, "motd.txt"), []byte(motd+"\n"), 0o644); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(sdir, k.name+".conf")
	if err := os.WriteFile(conf, []byte(k.config(sdir, port)), 0o644); err != nil {
		return nil, err
	}
	argv := k.command(bin, conf)
	logf, err := os.Create(filepath.Join(sdir, "output.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, sdir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", k.name, err)
	}
	s := &server{name: k.name, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, exit: make(chan error, 1)}
	if isChatd(k.name) {
		s.http = net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1))
	}
	go func() { s.exit <- cmd.Wait() }()
	if err := s.waitListening(ctx, 15*time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("%s (log in %s): %w", k.name, logf.Name(), err)
	}
	return s, nil
}

// waitListening dials until the server accepts, it exits, or the deadline.
func (s *server) waitListening(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-s.exit:
			s.exit <- err
			return fmt.Errorf("exited before listening: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond): // next dial attempt
		}
		if time.Now().After(deadline) {
			return errors.New("not listening after " + within.String())
		}
	}
}

// stop ends the server by its recorded PID: SIGTERM, then SIGKILL.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exit:
		s.exit <- err
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exit
	}
}

// freePort asks the kernel for a free loopback port, and checks the next
// one (chatd's HTTP listener) is free too.
func freePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1)))
		l.Close()
		if err == nil {
			l2.Close()
			return port, nil
		}
	}
	return 0, errors.New("no two adjacent free loopback ports")
}
