package chatd

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Config is a chatd node's configuration. The zero value of every limit field
// means "use the default"; the *Off fields and negative values turn a limit
// off, so a load test can lift it.
type Config struct {
	// Node names this node in the cluster; it must be unique and stable
	// across restarts. Default: the host name.
	Node string `yaml:"node"`
	// ServerName is the IRC server name in replies. Default: Node.
	ServerName string `yaml:"server_name"`
	Network    string `yaml:"network"` // ISUPPORT NETWORK; default "hachat"
	// Listen are plain-text IRC listeners, e.g. ":6667" (the default when
	// neither Listen nor TLSListen is set) or "127.0.0.1:0".
	Listen []string `yaml:"listen"`
	// TLSListen is an optional TLS listener, serving TLSCert/TLSKey.
	TLSListen string `yaml:"tls_listen"`
	TLSCert   string `yaml:"tls_cert"`
	TLSKey    string `yaml:"tls_key"`
	// HTTPListen serves /healthz, /readyz and /metrics; "" disables it.
	HTTPListen string `yaml:"http_listen"`
	// Pprof adds /debug/pprof/ to the HTTP listener (keep it on a private
	// address).
	Pprof bool `yaml:"pprof"`
	// DSN selects the store: "" is an in-memory SQLite (single node), else a
	// MySQL DSN (see store.Open).
	DSN string `yaml:"dsn"`
	// Password, if set, is the server password clients must send with PASS.
	Password string `yaml:"password"`
	MOTD     string `yaml:"motd"` // lines separated by \n; empty sends 422
	// AdminEmail is the contact ADMIN shows (RPL_ADMINEMAIL); optional.
	AdminEmail string `yaml:"admin_email"`

	// NudgeListen is a UDP address peers poke after each commit; Peers are
	// the other nodes' NudgeListen addresses. Both optional.
	NudgeListen string   `yaml:"nudge_listen"`
	Peers       []string `yaml:"peers"`

	// Operators may use OPER (then KILL, WALLOPS, REHASH). REHASH and
	// SIGHUP reload them and the MOTD.
	Operators []Operator `yaml:"operators"`

	Limits Limits `yaml:"limits"`
	Timers Timers `yaml:"timers"`
}

// Limits bound what one client or the whole node may use. Per-IP limits
// count an IPv6 client by its /IPv6Prefix network (one host usually holds a
// whole /64); clients in ExemptNetworks are not counted per IP at all.
type Limits struct {
	MaxClients      int `yaml:"max_clients"`        // default 60000; -1 = unlimited
	MaxClientsPerIP int `yaml:"max_clients_per_ip"` // default 32; -1 = unlimited
	// ExemptNetworks are CIDRs free of the per-IP limits (connections,
	// connection rate, queued bytes). Default loopback (127.0.0.0/8, ::1);
	// an explicit list replaces it, [] exempts nothing.
	ExemptNetworks []string `yaml:"exempt_networks"`
	IPv6Prefix     int      `yaml:"ipv6_prefix"` // default 64
	// ConnectBurst connections from one IP may arrive at once, then
	// ConnectRate per second (a token bucket). ConnectRate < 0: no throttle.
	ConnectBurst int     `yaml:"connect_burst"` // default 16
	ConnectRate  float64 `yaml:"connect_rate"`  // default 1
	// Memory is the node's memory budget in bytes (see memory.go): the Go
	// runtime's soft limit is 90% of it, and the queued-bytes bounds
	// default to fractions of it. -1: no budget (no runtime limit, queued
	// bytes bounded by the old fixed defaults).
	Memory int `yaml:"memory"` // default half the machine's (or cgroup's) memory, 256 MiB..2 GiB, at least 2*max_queued_bytes
	// MaxQueuedBytes bounds the bytes queued to all clients together, and
	// MaxQueuedBytesPerIP to the clients of one IP; over either, the
	// largest queues are cut ("SendQ exceeded") first. -1: unbounded.
	MaxQueuedBytes      int `yaml:"max_queued_bytes"`        // default memory/4 (256 MiB without a budget)
	MaxQueuedBytesPerIP int `yaml:"max_queued_bytes_per_ip"` // default memory/32, at most 32 MiB
	// SocketSendBuffer fixes each client socket's kernel send buffer
	// (SO_SNDBUF; the kernel doubles it), bounding what a client that
	// stops reading holds in the kernel. -1: kernel autotuning (up to
	// tcp_wmem's maximum, 4 MiB by default).
	SocketSendBuffer int `yaml:"socket_send_buffer"` // default 64 KiB
	// LineBytes is the longest line accepted, tags included (IRCv3: 4096 of
	// tags plus 512 of body). Longer lines get 417 and are dropped.
	LineBytes   int `yaml:"line_bytes"`
	SendQBytes  int `yaml:"sendq_bytes"`  // per client; overflow disconnects. Default 96 KiB
	MaxChannels int `yaml:"max_channels"` // per client, default 50
	NickLen     int `yaml:"nick_len"`     // default 30
	TopicLen    int `yaml:"topic_len"`    // default 390
	HistoryMax  int `yaml:"history_max"`  // CHATHISTORY limit cap, default 1000
	// FloodBurst lines may arrive at once; then FloodRate lines per second.
	// FloodRate < 0 disables flood control.
	FloodBurst int     `yaml:"flood_burst"` // default 20
	FloodRate  float64 `yaml:"flood_rate"`  // default 5
	// MaxFloodDelay is how long a client may keep sending faster than
	// FloodRate (its lines are delayed meanwhile) before it is disconnected.
	MaxFloodDelay time.Duration `yaml:"max_flood_delay"` // default 10s
	// ReadBytesBurst bytes may arrive at once, then ReadBytesRate per
	// second; a client over it is slowed down and, after MaxFloodDelay,
	// disconnected like a line flood. Off with flood_rate < 0.
	ReadBytesBurst int `yaml:"read_bytes_burst"` // default 64 KiB
	ReadBytesRate  int `yaml:"read_bytes_rate"`  // default 16 KiB
	// HistoryConcurrency bounds the CHATHISTORY queries running at once on
	// this node; one waits at most HistoryWait for its turn, then is told
	// to try again (FAIL CHATHISTORY TEMPORARILY_UNAVAILABLE).
	HistoryConcurrency int           `yaml:"history_concurrency"` // default a quarter of the cores, at least 1
	HistoryWait        time.Duration `yaml:"history_wait"`        // default 2s
	// HistoryBytesRate is the bytes of CHATHISTORY replies this node sends
	// per second, all clients together, HistoryBytesBurst at once (a token
	// bucket): a storm is spread out instead of taking every core from
	// live delivery. -1: unmetered.
	HistoryBytesRate  int `yaml:"history_bytes_rate"`  // default 8 MiB/s per core
	HistoryBytesBurst int `yaml:"history_bytes_burst"` // default 1 MiB
	// PasswordChecks bounds concurrent argon2id verifications (19 MiB each).
	PasswordChecks int `yaml:"password_checks"` // default 2
	// LoginWait is how long a login waits for a password check slot
	// (served round-robin between IPs) before it is told to try again;
	// LoginQueuePerIP logins of one IP may wait at once.
	LoginWait       time.Duration `yaml:"login_wait"`         // default 5s
	LoginQueuePerIP int           `yaml:"login_queue_per_ip"` // default 4
	// LoginFailuresPerConn failed logins disconnect a client. One IP (and
	// one account, counting only IPs that failed on it) may fail
	// LoginFailuresPerIP (LoginFailuresPerAccount) times at once, then once
	// per LoginFailureInterval; beyond, logins are refused unchecked.
	LoginFailuresPerConn    int           `yaml:"login_failures_per_conn"`    // default 3
	LoginFailuresPerIP      int           `yaml:"login_failures_per_ip"`      // default 10
	LoginFailuresPerAccount int           `yaml:"login_failures_per_account"` // default 10
	LoginFailureInterval    time.Duration `yaml:"login_failure_interval"`     // default 10s
	// RegistrationsPerIP accounts may be registered from one IP at once,
	// then one per RegistrationInterval; one per connection.
	RegistrationsPerIP   int           `yaml:"registrations_per_ip"`  // default 3
	RegistrationInterval time.Duration `yaml:"registration_interval"` // default 10m
}

// Timers are the protocol and cluster timeouts.
type Timers struct {
	RegistrationTimeout time.Duration `yaml:"registration_timeout"` // default 60s
	PingInterval        time.Duration `yaml:"ping_interval"`        // idle time before we PING; default 90s
	PingTimeout         time.Duration `yaml:"ping_timeout"`         // default 60s
	// IdlePark is how long a plain TCP client may send nothing before its
	// reader goroutine is replaced by an entry in the node's epoll set
	// (Linux): about 2.5 KiB less per idle client. Negative: never.
	IdlePark     time.Duration `yaml:"idle_park"`     // default 10s
	Heartbeat    time.Duration `yaml:"heartbeat"`     // default 1s
	DeadAfter    time.Duration `yaml:"dead_after"`    // stale heartbeat => node dead; default 5s
	TailPoll     time.Duration `yaml:"tail_poll"`     // default 500ms: a safety net, commits and nudges wake the tailer
	StoreTimeout time.Duration `yaml:"store_timeout"` // one store call; default 10s
	// LameduckDrain is how long, after readiness fails, we keep serving so
	// the balancer stops sending new clients; then clients are told to
	// reconnect and disconnected. LameduckGrace bounds the whole shutdown.
	LameduckDrain time.Duration `yaml:"lameduck_drain"` // default 2s
	LameduckGrace time.Duration `yaml:"lameduck_grace"` // default 10s
}

// Defaults returns a configuration with every default filled in.
func Defaults() Config {
	var c Config
	c.applyDefaults()
	return c
}

func (c *Config) applyDefaults() {
	if c.Node == "" {
		c.Node, _ = os.Hostname()
	}
	if c.ServerName == "" {
		c.ServerName = c.Node
	}
	if len(c.Listen) == 0 && c.TLSListen == "" {
		c.Listen = []string{":6667"}
	}
	if c.Network == "" {
		c.Network = "hachat"
	}
	l := &c.Limits
	setDefault(&l.MaxClients, 60000)
	setDefault(&l.MaxClientsPerIP, 32)
	if l.ExemptNetworks == nil {
		l.ExemptNetworks = []string{"127.0.0.0/8", "::1/128"}
	}
	setDefault(&l.IPv6Prefix, 64)
	setDefault(&l.ConnectBurst, 16)
	if l.ConnectRate == 0 {
		l.ConnectRate = 1
	}
	if l.Memory == 0 {
		// At least twice an explicit max_queued_bytes, so a configuration
		// written before the budget existed stays valid on a small machine.
		l.Memory = max(defaultMemory(), 2*l.MaxQueuedBytes)
	}
	if l.Memory > 0 {
		setDefault(&l.MaxQueuedBytes, l.Memory/4)
	}
	setDefault(&l.MaxQueuedBytes, 256<<20)
	if l.Memory > 0 {
		setDefault(&l.MaxQueuedBytesPerIP, min(32<<20, l.Memory/32))
	}
	setDefault(&l.MaxQueuedBytesPerIP, 32<<20)
	setDefault(&l.SocketSendBuffer, 64<<10)
	setDefault(&l.ReadBytesBurst, 64<<10)
	setDefault(&l.ReadBytesRate, 16<<10)
	// History rendering is CPU: a quarter of the cores leaves the rest to
	// live delivery (on 2 cores, 1 running query kept a bystander's p99
	// at 5x idle during a storm; 4 made it 20x).
	setDefault(&l.HistoryConcurrency, max(1, runtime.GOMAXPROCS(0)/4))
	setDefault(&l.HistoryWait, 2*time.Second)
	setDefault(&l.HistoryBytesRate, 8<<20*runtime.GOMAXPROCS(0))
	setDefault(&l.HistoryBytesBurst, 1<<20)
	setDefault(&l.LoginWait, 5*time.Second)
	setDefault(&l.LoginQueuePerIP, 4)
	setDefault(&l.LoginFailuresPerConn, 3)
	setDefault(&l.LoginFailuresPerIP, 10)
	setDefault(&l.LoginFailuresPerAccount, 10)
	setDefault(&l.LoginFailureInterval, 10*time.Second)
	setDefault(&l.RegistrationsPerIP, 3)
	setDefault(&l.RegistrationInterval, 10*time.Minute)
	setDefault(&l.LineBytes, 4096+512)
	setDefault(&l.SendQBytes, 96<<10)
	setDefault(&l.MaxChannels, 50)
	setDefault(&l.NickLen, 30)
	setDefault(&l.TopicLen, 390)
	setDefault(&l.HistoryMax, 1000)
	setDefault(&l.FloodBurst, 20)
	setDefault(&l.PasswordChecks, 2)
	if l.FloodRate == 0 {
		l.FloodRate = 5
	}
	setDefault(&l.MaxFloodDelay, 10*time.Second)
	t := &c.Timers
	setDefault(&t.RegistrationTimeout, 60*time.Second)
	setDefault(&t.PingInterval, 90*time.Second)
	setDefault(&t.PingTimeout, 60*time.Second)
	setDefault(&t.IdlePark, 10*time.Second)
	setDefault(&t.Heartbeat, time.Second)
	setDefault(&t.DeadAfter, 5*time.Second)
	setDefault(&t.TailPoll, 500*time.Millisecond)
	setDefault(&t.StoreTimeout, 10*time.Second)
	setDefault(&t.LameduckDrain, 2*time.Second)
	setDefault(&t.LameduckGrace, 10*time.Second)
}

func setDefault[T int | time.Duration](p *T, v T) {
	if *p == 0 {
		*p = v
	}
}

// Validate fills in defaults and checks c, returning every problem at once.
func (c *Config) Validate() error {
	c.applyDefaults()
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &fieldError{Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	if c.Node == "" || strings.ContainsAny(c.Node, " ,*?!@") {
		bad("node", "%q is not a usable node name (set one without spaces or ,*?!@)", c.Node)
	}
	if strings.ContainsAny(c.ServerName, " ,*?!@") || !strings.Contains(c.ServerName+".", ".") {
		bad("server_name", "%q contains characters IRC clients cannot parse", c.ServerName)
	}
	if c.TLSListen != "" && (c.TLSCert == "" || c.TLSKey == "") {
		bad("tls_listen", "needs tls_cert and tls_key")
	}
	if c.Limits.LineBytes < 512 {
		bad("limits.line_bytes", "%d is below the 512 bytes RFC 1459 requires", c.Limits.LineBytes)
	}
	if c.Limits.SendQBytes < 8192 {
		bad("limits.sendq_bytes", "%d is too small for one burst of replies (minimum 8192)", c.Limits.SendQBytes)
	}
	if m := c.Limits.Memory; m > 0 && m < 128<<20 {
		// The binary and the runtime take about 25 MiB of RSS that the Go
		// memory limit does not count: below 128 MiB they are too large a
		// share for the budget to hold (a 64 MiB budget peaked at 70 MiB).
		bad("limits.memory", "%d is below 128 MiB (134217728), the smallest budget chatd keeps to (or -1 for no budget)", m)
	}
	if m, q := c.Limits.Memory, c.Limits.MaxQueuedBytes; m > 0 && q > m/2 {
		bad("limits.max_queued_bytes", "%d is over half of limits.memory %d: a queued byte costs about two in memory", q, m)
	}
	if n := c.Limits.SocketSendBuffer; n > 0 && n < 4096 {
		bad("limits.socket_send_buffer", "%d is below 4096 bytes (or -1 for the kernel's autotuning)", n)
	}
	if c.Limits.NickLen < 9 || c.Limits.NickLen > 64 {
		bad("limits.nick_len", "%d is outside 9..64", c.Limits.NickLen)
	}
	if c.Limits.FloodBurst < 1 {
		bad("limits.flood_burst", "must be at least 1")
	}
	for _, n := range c.Limits.ExemptNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			bad("limits.exempt_networks", "%q is not a CIDR network like 198.18.0.0/15", n)
		}
	}
	if p := c.Limits.IPv6Prefix; p < 1 || p > 128 {
		bad("limits.ipv6_prefix", "%d is outside 1..128", p)
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"history_concurrency", c.Limits.HistoryConcurrency}, {"password_checks", c.Limits.PasswordChecks},
		{"login_queue_per_ip", c.Limits.LoginQueuePerIP}, {"login_failures_per_conn", c.Limits.LoginFailuresPerConn},
		{"login_failures_per_ip", c.Limits.LoginFailuresPerIP}, {"login_failures_per_account", c.Limits.LoginFailuresPerAccount},
		{"registrations_per_ip", c.Limits.RegistrationsPerIP}, {"connect_burst", c.Limits.ConnectBurst},
		{"read_bytes_burst", c.Limits.ReadBytesBurst}, {"read_bytes_rate", c.Limits.ReadBytesRate},
		{"history_bytes_burst", c.Limits.HistoryBytesBurst}} {
		if v.n < 1 {
			bad("limits."+v.name, "%d: must be at least 1", v.n)
		}
	}
	if c.Limits.ReadBytesBurst > 0 && c.Limits.ReadBytesBurst < c.Limits.LineBytes {
		bad("limits.read_bytes_burst", "%d is below limits.line_bytes %d: one full line must fit", c.Limits.ReadBytesBurst, c.Limits.LineBytes)
	}
	if c.Timers.DeadAfter < 2*c.Timers.Heartbeat {
		bad("timers.dead_after", "%v must be at least twice timers.heartbeat (%v), or live nodes get reaped", c.Timers.DeadAfter, c.Timers.Heartbeat)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"registration_timeout", c.Timers.RegistrationTimeout}, {"ping_interval", c.Timers.PingInterval},
		{"ping_timeout", c.Timers.PingTimeout},
		{"heartbeat", c.Timers.Heartbeat}, {"tail_poll", c.Timers.TailPoll}, {"store_timeout", c.Timers.StoreTimeout}} {
		if d.v < 0 {
			bad("timers."+d.name, "must not be negative")
		}
	}
	errs = append(errs, validateOperators(c.Operators)...)
	if c.Timers.LameduckGrace < c.Timers.LameduckDrain {
		bad("timers.lameduck_grace", "%v is shorter than timers.lameduck_drain %v", c.Timers.LameduckGrace, c.Timers.LameduckDrain)
	}
	return errors.Join(errs...)
}

// ParseConfig decodes a YAML configuration strictly (unknown fields are
// errors: a typo must not silently fall back to a default) and validates it.
// name is used in error messages only.
func ParseConfig(name string, data []byte) (Config, error) {
	var c Config
	if err := yaml.UnmarshalWithOptions(data, &c, yaml.Strict(), yaml.DisallowUnknownField()); err != nil {
		return Config{}, fmt.Errorf("%s: %s", name, yaml.FormatError(err, false, true))
	}
	if err := c.Validate(); err != nil {
		return Config{}, locate(name, data, err)
	}
	return c, nil
}

// fieldError is one problem with one configuration field, named by its
// YAML path (limits.sendq_bytes).
type fieldError struct {
	Field, Msg string
}

func (e *fieldError) Error() string { return e.Field + ": " + e.Msg }

// locate prefixes each of Validate's errors with name and the line of its
// field (or of the nearest parent present, for a field left out), the way
// vrrpd reports its configuration errors: file:line: field: problem.
func locate(name string, data []byte, err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	file, perr := parser.ParseBytes(data, 0)
	var out []error
	for _, e := range errs {
		line := 0
		var fe *fieldError
		if errors.As(e, &fe) && perr == nil {
			line = lineOf(file, fe.Field)
		}
		if line > 0 {
			out = append(out, fmt.Errorf("%s:%d: %w", name, line, e))
		} else {
			out = append(out, fmt.Errorf("%s: %w", name, e))
		}
	}
	return errors.Join(out...)
}

func lineOf(file *ast.File, field string) int {
	for p := field; p != ""; {
		if yp, err := yaml.PathString("$." + p); err == nil {
			if n, err := yp.FilterFile(file); err == nil && n != nil && n.GetToken() != nil && n.GetToken().Position != nil {
				return n.GetToken().Position.Line
			}
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}
