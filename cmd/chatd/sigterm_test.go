package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const mainEnv = "CHATD_TEST_MAIN_ARGS"

// TestMain lets the test re-execute its own binary as chatd, so SIGTERM is
// tested on a real process.
func TestMain(m *testing.M) {
	if args := os.Getenv(mainEnv); args != "" {
		if err := run(context.Background(), strings.Split(args, "\n"), os.Stdout, os.Stderr); err != nil {
			os.Stderr.WriteString("chatd: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestSIGTERMLameduck: on SIGTERM the process fails readiness, tells its
// client to reconnect, and exits 0 within the grace period.
func TestSIGTERMLameduck(t *testing.T) {
	ircAddr, httpAddr := freePort(t), freePort(t)
	args := []string{"-node", "sig", "-listen", ircAddr, "-http", httpAddr,
		"-lameduck-drain", "300ms", "-lameduck-grace", "5s", "-log-format", "text"}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), mainEnv+"="+strings.Join(args, "\n"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("chatd never became ready")
		}
		time.Sleep(20 * time.Millisecond) // polling readiness, bounded by the deadline
	}
	conn, err := net.Dial("tcp", ircAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("NICK sig\r\nUSER sig 0 * :sig\r\n"))
	r := bufio.NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	waitLine := func(sub string) string {
		t.Helper()
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", sub, err)
			}
			if strings.Contains(l, sub) {
				return l
			}
		}
	}
	waitLine(" 001 ")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLine("NOTICE")
	if l := waitLine("ERROR"); !strings.Contains(l, "reconnect") {
		t.Errorf("ERROR line %q lacks a reconnect hint", l)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v, want status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("chatd did not exit within its grace period")
	}
}
