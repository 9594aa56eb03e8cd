package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The history storm's bystander runs in a process of its own, as another
// user on another machine would: in the load generator's process its
// receive times would also measure the generator's garbage collection and
// the scheduling of its 100 storm readers, the same on both arms of a
// comparison but large enough to hide what the server does.

const probeEnv = "CHATD_BENCH_BYSTANDER"

// probeChild is the child: a bystander on the server at addr. Each line on
// stdin, "start" or "stop", starts or ends a window; "stop" answers with
// the window's histogram as one JSON line.
func probeChild(addr string) {
	b, err := startBystander(addr, 20)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bystander:", err)
		os.Exit(1)
	}
	fmt.Println("READY")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "start":
			b.rc.mu.Lock()
			b.rc.hist.Reset()
			b.rc.mu.Unlock()
			b.rc.on.Store(true)
		case "stop":
			b.rc.on.Store(false)
			b.rc.mu.Lock()
			js, _ := json.Marshal(b.rc.hist.Export())
			b.rc.mu.Unlock()
			fmt.Println(string(js))
		}
	}
}

// remoteBystander is the parent's handle on a probeChild.
type remoteBystander struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startRemoteBystander(addr string) (*remoteBystander, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), probeEnv+"="+addr)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &remoteBystander{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	b.out.Buffer(make([]byte, 1<<20), 16<<20)
	if !b.out.Scan() || strings.TrimSpace(b.out.Text()) != "READY" {
		b.close()
		return nil, fmt.Errorf("bystander child did not start")
	}
	return b, nil
}

// window records the bystander's latencies for d (or while during runs)
// and returns them.
func (b *remoteBystander) window(d time.Duration, during func()) *hdrhistogram.Histogram {
	fmt.Fprintln(b.in, "start")
	if during != nil {
		during()
	} else {
		time.Sleep(d)
	}
	fmt.Fprintln(b.in, "stop")
	h := hdrhistogram.New(1, 60_000_000, 3)
	if b.out.Scan() {
		var s hdrhistogram.Snapshot
		if json.Unmarshal(b.out.Bytes(), &s) == nil {
			h = hdrhistogram.Import(&s)
		}
	}
	return h
}

func (b *remoteBystander) close() {
	b.in.Close()
	_ = b.cmd.Process.Kill()
	_ = b.cmd.Wait()
}

// The login storm's legitimate user runs in a process of its own too: in
// the generator's process, with 40 attacker goroutines dialing in a loop,
// its 903 would wait for the generator's CPU as well as for the server.

const loginProbeEnv = "CHATD_BENCH_LOGIN"

// loginProbeChild logs in (account alice) from src to addr once per line
// on stdin and answers "<numeric> <microseconds>" (numeric "error" on
// failure).
func loginProbeChild(spec string) {
	addr, src, _ := strings.Cut(spec, ",")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		code, t, err := saslLogin(addr, net.ParseIP(src), "alice", "correct horse battery")
		if err != nil {
			code = "error"
		}
		fmt.Println(code, t.Microseconds())
	}
}

// remoteLogin is the parent's handle on a loginProbeChild.
type remoteLogin struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startRemoteLogin(addr string, src net.IP) (*remoteLogin, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), loginProbeEnv+"="+addr+","+src.String())
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &remoteLogin{cmd: cmd, in: in, out: bufio.NewScanner(out)}, nil
}

// login runs one login in the child: its numeric and how long the server
// took from the credentials to it.
func (l *remoteLogin) login() (string, time.Duration) {
	fmt.Fprintln(l.in, "go")
	if !l.out.Scan() {
		return "error", 0
	}
	var code string
	var us int64
	if _, err := fmt.Sscan(l.out.Text(), &code, &us); err != nil {
		return "error", 0
	}
	return code, time.Duration(us) * time.Microsecond
}

func (l *remoteLogin) close() {
	l.in.Close()
	_ = l.cmd.Wait()
}
