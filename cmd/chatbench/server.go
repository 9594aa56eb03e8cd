package main

// The chatd under test: a child process of this binary (serveEnv) with the
// bench's configuration, started, awaited and stopped by PID.

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/hachat/hachat/chatd"
)

type child struct {
	cmd        *exec.Cmd
	addr, http string
}

func benchConfig(node string) chatd.Config {
	return chatd.Config{
		Node: node, Listen: []string{"127.0.0.1:0"}, HTTPListen: "127.0.0.1:0", Pprof: os.Getenv("BENCH_PPROF") != "",
		// The load generator is one tenant on loopback: exempt from the
		// per-IP limits (connections, connection rate, queued bytes).
		Limits: chatd.Limits{MaxClients: -1, FloodRate: -1, SendQBytes: 1 << 20, ExemptNetworks: []string{"127.0.0.0/8"}},
		Timers: chatd.Timers{PingInterval: time.Hour, RegistrationTimeout: time.Hour},
	}
}

func startServer(cfg chatd.Config) (*child, error) {
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), serveEnv+"="+string(js))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "ADDR" {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			c := &child{cmd: cmd, addr: f[1], http: f[2]}
			if err := c.waitReady(); err != nil {
				c.stop()
				return nil, err
			}
			return c, nil
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, errors.New("server child exited before listening")
}

func (c *child) waitReady() error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + c.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("server not ready after 30s")
}

func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
}
