package chatd

import (
	"os"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{name: "defaults", yaml: "node: a\n", check: func(t *testing.T, c Config) {
			if c.Limits.LineBytes != 4608 || c.Limits.FloodRate != 5 || c.Timers.DeadAfter != 5*time.Second || c.Listen[0] != ":6667" || c.ServerName != "a" {
				t.Errorf("defaults not applied: %+v", c)
			}
		}},
		{name: "full", yaml: `
node: b
server_name: irc.example.org
listen: ["127.0.0.1:6667", "[::1]:6667"]
http_listen: 127.0.0.1:8080
dsn: "chatd:pw@tcp(127.0.0.1:3306)/chatd"
nudge_listen: 127.0.0.1:7000
peers: [127.0.0.1:7001]
limits:
  max_clients: 50000
  flood_rate: -1
  sendq_bytes: 65536
timers:
  heartbeat: 500ms
  dead_after: 3s
`, check: func(t *testing.T, c Config) {
			if c.Limits.MaxClients != 50000 || c.Limits.FloodRate != -1 || c.Timers.Heartbeat != 500*time.Millisecond || len(c.Peers) != 1 {
				t.Errorf("fields not decoded: %+v", c)
			}
		}},
		{name: "unknown field", yaml: "node: a\nlisen: [x]\n", wantErr: "lisen"},
		{name: "wrong type", yaml: "node: a\nlimits:\n  max_clients: lots\n", wantErr: "max_clients"},
		{name: "bad node", yaml: "node: 'a b'\n", wantErr: "node:"},
		{name: "tiny sendq", yaml: "node: a\nlimits:\n  sendq_bytes: 100\n", wantErr: "test.yaml:3: limits.sendq_bytes"},
		{name: "bad exempt network, with its line", yaml: "node: a\nlimits:\n  max_clients: 10\n  exempt_networks: [\"10.0.0.0/33\"]\n", wantErr: "test.yaml:4: limits.exempt_networks"},
		{name: "read burst below a line", yaml: "node: a\nlimits:\n  flood_burst: 1\n  read_bytes_burst: 100\n", wantErr: "test.yaml:4: limits.read_bytes_burst"},
		{name: "grace shorter than drain", yaml: "node: a\ntimers:\n  lameduck_drain: 5s\n  lameduck_grace: 1s\n", wantErr: "test.yaml:4: timers.lameduck_grace"},
		{name: "missing field located in its section", yaml: "node: a\ntimers:\n  heartbeat: 4s\n", wantErr: "test.yaml:3: timers.dead_after"},
		{name: "memory budget sets the queued-bytes bounds", yaml: "node: a\nlimits:\n  memory: 268435456\n", check: func(t *testing.T, c Config) {
			if l := c.Limits; l.MaxQueuedBytes != 64<<20 || l.MaxQueuedBytesPerIP != 8<<20 {
				t.Errorf("memory 256 MiB: max_queued_bytes %d, per IP %d; want 64 MiB and 8 MiB", l.MaxQueuedBytes, l.MaxQueuedBytesPerIP)
			}
		}},
		{name: "no memory budget keeps the fixed bounds", yaml: "node: a\nlimits:\n  memory: -1\n", check: func(t *testing.T, c Config) {
			if l := c.Limits; l.MaxQueuedBytes != 256<<20 || l.MaxQueuedBytesPerIP != 32<<20 {
				t.Errorf("memory -1: max_queued_bytes %d, per IP %d; want 256 MiB and 32 MiB", l.MaxQueuedBytes, l.MaxQueuedBytesPerIP)
			}
		}},
		{name: "an explicit max_queued_bytes raises the default budget", yaml: "node: a\nlimits:\n  max_queued_bytes: 1073741824\n", check: func(t *testing.T, c Config) {
			if c.Limits.Memory < 2<<30 {
				t.Errorf("memory %d with max_queued_bytes 1 GiB, want at least 2 GiB", c.Limits.Memory)
			}
		}},
		{name: "queues over half the budget", yaml: "node: a\nlimits:\n  memory: 134217728\n  max_queued_bytes: 100000000\n", wantErr: "test.yaml:4: limits.max_queued_bytes"},
		{name: "budget too small", yaml: "node: a\nlimits:\n  memory: 1000000\n", wantErr: "test.yaml:3: limits.memory"},
		{name: "two errors at once", yaml: "node: a\nlimits:\n  nick_len: 3\n  line_bytes: 10\n", wantErr: "limits.nick_len"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig("test.yaml", []byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "test.yaml") {
					t.Fatalf("err = %v, want one naming test.yaml and %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

// TestDefaultMemoryFromMachine: limits.memory defaults to half the
// machine's memory, within 256 MiB..2 GiB, and the queued-bytes bounds
// follow it.
func TestDefaultMemoryFromMachine(t *testing.T) {
	saved := machineMemory
	defer func() { machineMemory = saved }()
	for _, tt := range []struct {
		machine             int64
		memory, queued, pip int
	}{
		{machine: 0, memory: 256 << 20, queued: 64 << 20, pip: 8 << 20},
		{machine: 384 << 20, memory: 256 << 20, queued: 64 << 20, pip: 8 << 20},
		{machine: 1 << 30, memory: 512 << 20, queued: 128 << 20, pip: 16 << 20},
		{machine: 24 << 30, memory: 2 << 30, queued: 512 << 20, pip: 32 << 20},
	} {
		machineMemory = func() int64 { return tt.machine }
		l := Defaults().Limits
		if l.Memory != tt.memory || l.MaxQueuedBytes != tt.queued || l.MaxQueuedBytesPerIP != tt.pip {
			t.Errorf("machine %d MiB: memory %d MiB, queued %d MiB, per IP %d MiB; want %d, %d, %d", tt.machine>>20,
				l.Memory>>20, l.MaxQueuedBytes>>20, l.MaxQueuedBytesPerIP>>20, tt.memory>>20, tt.queued>>20, tt.pip>>20)
		}
	}
}

// TestApplyMemoryLimit: the runtime's soft limit is 90% of limits.memory,
// and -1 leaves it alone.
func TestApplyMemoryLimit(t *testing.T) {
	if os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOMEMLIMIT is set: ApplyMemoryLimit leaves it alone by design")
	}
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)
	if got := ApplyMemoryLimit(Limits{Memory: 1 << 30}); got != (1<<30)/10*9 {
		t.Errorf("memory 1 GiB: runtime limit %d, want %d", got, (1<<30)/10*9)
	}
	if got := ApplyMemoryLimit(Limits{Memory: -1}); got != (1<<30)/10*9 {
		t.Errorf("memory -1 changed the runtime limit to %d", got)
	}
}
