package health

import (
	"context"
	"crypto/md5"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// probeCtx bounds a probe in a test. The timeout is generous because the
// test machine is shared; tests about timeouts set their own.
func probeCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func wantKind(t *testing.T, err error, want FailureKind) {
	t.Helper()
	if got := Classify(err); got != want {
		t.Errorf("Classify(%v) = %q, want %q", err, got, want)
	}
}

func TestTCPProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()

	t.Run("up", func(t *testing.T) {
		if err := (&TCP{Addr: ln.Addr().String()}).Probe(probeCtx(t)); err != nil {
			t.Fatalf("probe of a listening port: %v", err)
		}
		select {
		case <-accepted:
		case <-time.After(10 * time.Second):
			t.Fatal("the listener never saw the connection")
		}
	})
	t.Run("refused", func(t *testing.T) {
		err := (&TCP{Addr: closedAddr(t)}).Probe(probeCtx(t))
		wantKind(t, err, KindRefused)
	})
	t.Run("expired deadline", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		err := (&TCP{Addr: ln.Addr().String()}).Probe(ctx)
		wantKind(t, err, KindTimeout)
	})
	t.Run("IPv6", func(t *testing.T) {
		ln6, err := net.Listen("tcp", "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		defer ln6.Close()
		go func() {
			if c, err := ln6.Accept(); err == nil {
				c.Close()
			}
		}()
		if err := (&TCP{Addr: ln6.Addr().String()}).Probe(probeCtx(t)); err != nil {
			t.Fatalf("probe of [::1]: %v", err)
		}
	})
	t.Run("bound source address", func(t *testing.T) {
		ln2, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln2.Close()
		from := make(chan string, 1)
		go func() {
			if c, err := ln2.Accept(); err == nil {
				from <- c.RemoteAddr().(*net.TCPAddr).IP.String()
				c.Close()
			}
		}()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
		if err := (&TCP{Addr: ln2.Addr().String(), Dialer: d}).Probe(probeCtx(t)); err != nil {
			t.Fatalf("probe: %v", err)
		}
		select {
		case got := <-from:
			if got != "127.0.0.2" {
				t.Errorf("connection came from %s, want 127.0.0.2", got)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no connection")
		}
	})
}

// recorder is an HTTP handler that records what it saw and answers as told.
type recorder struct {
	mu      sync.Mutex
	host    string
	path    string
	sni     string
	ua      string
	status  int
	body    string
	headers http.Header
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.host, r.path, r.ua = req.Host, req.URL.Path, req.UserAgent()
	if req.TLS != nil {
		r.sni = req.TLS.ServerName
	}
	r.headers = req.Header.Clone()
	status, body := r.status, r.body
	r.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	if status >= 300 && status < 400 {
		w.Header().Set("Location", "/elsewhere")
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (r *recorder) seen() (host, path, sni, ua string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.host, r.path, r.sni, r.ua
}

func TestHTTPProbe(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	body := "<html>irc gateway ok</html>"
	sum := md5.Sum([]byte(body))
	digest := hex.EncodeToString(sum[:])

	tests := []struct {
		name   string
		status int
		probe  HTTP
		want   FailureKind
	}{
		{name: "200 is up by default", probe: HTTP{URL: srv.URL + "/"}},
		{name: "204 is up by default", status: 204, probe: HTTP{URL: srv.URL + "/"}},
		{name: "503 is down", status: 503, probe: HTTP{URL: srv.URL + "/"}, want: KindStatus},
		{name: "503 expected", status: 503, probe: HTTP{URL: srv.URL + "/", ExpectStatus: []StatusRange{{503, 503}}}},
		{name: "200 not in expected", probe: HTTP{URL: srv.URL + "/", ExpectStatus: []StatusRange{{204, 204}}}, want: KindStatus},
		{name: "redirect is not followed", status: 301, probe: HTTP{URL: srv.URL + "/"}, want: KindStatus},
		{name: "redirect expected", status: 302, probe: HTTP{URL: srv.URL + "/", ExpectStatus: []StatusRange{{300, 399}}}},
		{name: "body regexp matches", probe: HTTP{URL: srv.URL + "/", BodyRegexp: regexp.MustCompile(`gateway ok`)}},
		{name: "body regexp mismatch", probe: HTTP{URL: srv.URL + "/", BodyRegexp: regexp.MustCompile(`^broken`)}, want: KindBody},
		{name: "digest matches", probe: HTTP{URL: srv.URL + "/", Digest: strings.ToUpper(digest)}},
		{name: "digest mismatch", probe: HTTP{URL: srv.URL + "/", Digest: "00000000000000000000000000000000"}, want: KindBody},
		{name: "digest over truncated body mismatches", probe: HTTP{URL: srv.URL + "/", Digest: digest, MaxBody: 5}, want: KindBody},
		{name: "refused", probe: HTTP{URL: "http://" + closedAddr(t) + "/"}, want: KindRefused},
		{name: "bad scheme", probe: HTTP{URL: "ftp://" + srv.Listener.Addr().String() + "/"}, want: KindConfig},
		{name: "bad URL", probe: HTTP{URL: "http://[::1"}, want: KindConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec.mu.Lock()
			rec.status, rec.body = tc.status, body
			rec.mu.Unlock()
			err := tc.probe.Probe(probeCtx(t))
			wantKind(t, err, tc.want)
		})
	}

	t.Run("path, Host and User-Agent", func(t *testing.T) {
		rec.mu.Lock()
		rec.status = 200
		rec.mu.Unlock()
		p := &HTTP{URL: srv.URL + "/healthz?deep=1", Host: "irc.example.net"}
		if err := p.Probe(probeCtx(t)); err != nil {
			t.Fatal(err)
		}
		host, path, _, ua := rec.seen()
		if host != "irc.example.net" || path != "/healthz" || ua != "hachat-health/1" {
			t.Errorf("server saw Host %q path %q UA %q; want irc.example.net /healthz hachat-health/1", host, path, ua)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer slow.Close()
		defer close(release)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := (&HTTP{URL: slow.URL}).Probe(ctx)
		wantKind(t, err, KindTimeout)
	})

	t.Run("server closes without answering", func(t *testing.T) {
		for _, rst := range []bool{false, true} {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					if rst {
						c.(*net.TCPConn).SetLinger(0) // close with RST
					} else {
						// Read the request first so that the close is a
						// FIN after it, not a reset for unread data.
						c.Read(make([]byte, 4096))
					}
					c.Close()
				}
			}()
			err = (&HTTP{URL: "http://" + ln.Addr().String() + "/"}).Probe(probeCtx(t))
			wantKind(t, err, KindReset)
		}
	})

	t.Run("environment proxy is ignored", func(t *testing.T) {
		t.Setenv("HTTP_PROXY", "http://"+closedAddr(t))
		t.Setenv("NO_PROXY", "")
		// 127.0.0.1 is never proxied by net/http; use another loopback
		// name for the server so that a proxy would be consulted.
		ln, err := net.Listen("tcp", "127.0.0.3:0")
		if err != nil {
			t.Skipf("cannot listen on 127.0.0.3: %v", err)
		}
		s := &http.Server{Handler: rec}
		go s.Serve(ln)
		defer s.Close()
		if err := (&HTTP{URL: "http://" + ln.Addr().String() + "/"}).Probe(probeCtx(t)); err != nil {
			t.Errorf("probe went through the environment's proxy: %v", err)
		}
	})
}

func TestHTTPSProbe(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewUnstartedServer(rec)
	// The failing cases make the server log handshake errors; they are
	// expected.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate()) // valid for example.com and 127.0.0.1
	url := srv.URL + "/check"

	tests := []struct {
		name    string
		probe   HTTP
		wantSNI string
		want    FailureKind
	}{
		{name: "SNI set, no verification (SSL_GET default)", probe: HTTP{URL: url, SNI: "chat.example.org"}, wantSNI: "chat.example.org"},
		{name: "SNI from Host without port", probe: HTTP{URL: url, Host: "vhost.example:443"}, wantSNI: "vhost.example"},
		{name: "no SNI for an IP URL", probe: HTTP{URL: url}, wantSNI: ""},
		{name: "verified with the right name", probe: HTTP{URL: url, SNI: "example.com", VerifyCert: true, RootCAs: roots}, wantSNI: "example.com"},
		{name: "verified by IP", probe: HTTP{URL: url, VerifyCert: true, RootCAs: roots}},
		{name: "verification fails on a wrong name", probe: HTTP{URL: url, SNI: "wrong.example", VerifyCert: true, RootCAs: roots}, want: KindTLS},
		{name: "verification fails on an unknown authority", probe: HTTP{URL: url, VerifyCert: true, RootCAs: x509.NewCertPool()}, want: KindTLS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.probe.Probe(probeCtx(t))
			wantKind(t, err, tc.want)
			if tc.want != "" {
				return
			}
			if _, path, sni, _ := rec.seen(); sni != tc.wantSNI || path != "/check" {
				t.Errorf("server saw SNI %q path %q, want %q /check", sni, path, tc.wantSNI)
			}
		})
	}

	t.Run("TLS to a plain HTTP server", func(t *testing.T) {
		plain := httptest.NewServer(rec)
		defer plain.Close()
		err := (&HTTP{URL: "https://" + plain.Listener.Addr().String() + "/"}).Probe(probeCtx(t))
		wantKind(t, err, KindTLS)
	})
}

func TestExecProbe(t *testing.T) {
	t.Run("exit 0 is up", func(t *testing.T) {
		if err := (&Exec{Argv: []string{"/bin/sh", "-c", "exit 0"}}).Probe(probeCtx(t)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("non-zero exit is down, with code and output", func(t *testing.T) {
		err := (&Exec{Argv: []string{"/bin/sh", "-c", "echo starting; echo backend 3 is gone >&2; exit 3"}}).Probe(probeCtx(t))
		wantKind(t, err, KindExit)
		if code, ok := ExitCode(err); !ok || code != 3 {
			t.Errorf("ExitCode(%v) = %d, %v; want 3, true", err, code, ok)
		}
		if err == nil || !strings.Contains(err.Error(), "backend 3 is gone") {
			t.Errorf("error %v does not quote the script's last line", err)
		}
	})
	t.Run("killed by a signal has no exit code", func(t *testing.T) {
		err := (&Exec{Argv: []string{"/bin/sh", "-c", "kill -9 $$"}}).Probe(probeCtx(t))
		wantKind(t, err, KindExit)
		if code, ok := ExitCode(err); ok {
			t.Errorf("ExitCode(%v) = %d, true; want false", err, code)
		}
	})
	t.Run("runs as another user", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("switching user needs root")
		}
		p := &Exec{Argv: []string{"/bin/sh", "-c", `test "$(id -u)" = 65534`},
			Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		if err := p.Probe(probeCtx(t)); err != nil {
			t.Fatalf("script as uid 65534: %v", err)
		}
	})
	t.Run("environment is passed", func(t *testing.T) {
		p := &Exec{Argv: []string{"/bin/sh", "-c", `test "$CHECK_TARGET" = 198.18.0.5`}, Env: []string{"CHECK_TARGET=198.18.0.5"}}
		if err := p.Probe(probeCtx(t)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("missing program", func(t *testing.T) {
		err := (&Exec{Argv: []string{"/nonexistent/check-script"}}).Probe(probeCtx(t))
		wantKind(t, err, KindSpawn)
	})
	t.Run("empty command", func(t *testing.T) {
		wantKind(t, (&Exec{}).Probe(probeCtx(t)), KindConfig)
	})
	t.Run("success despite a child holding the output", func(t *testing.T) {
		dir := t.TempDir()
		pidFile := filepath.Join(dir, "bg.pid")
		script := fmt.Sprintf("sleep 300 & echo $! > %s; exit 0", pidFile)
		err := (&Exec{Argv: []string{"/bin/sh", "-c", script}}).Probe(probeCtx(t))
		if pid, perr := readPID(pidFile); perr == nil {
			killPID(pid)
		}
		if err != nil {
			t.Fatalf("script exited 0 but probe says %v", err)
		}
	})
}

// TestExecTimeoutKillsProcessGroup checks that a timed-out script and the
// children it spawned are all killed. The context is cancelled once the
// script has recorded its PIDs, so a slow machine cannot make the test race
// the script's start; the deadline path is checked by TestExecTimeout.
func TestExecTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type pids struct {
		leader, child int
		err           error
	}
	found := make(chan pids, 1)
	go func() {
		defer cancel()
		var p pids
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			l, lerr := readPID(filepath.Join(dir, "leader.pid"))
			c, cerr := readPID(filepath.Join(dir, "child.pid"))
			p = pids{l, c, errors.Join(lerr, cerr)}
			if p.err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond) // polling for the script's files, bounded by deadline
		}
		found <- p
	}()
	err := (&Exec{Argv: []string{"/bin/sh", "testdata/hang.sh", dir}}).Probe(ctx)
	p := <-found
	if p.err != nil {
		t.Fatalf("the script never recorded its PIDs: %v (probe: %v)", p.err, err)
	}
	wantKind(t, err, KindCanceled)
	leader, child := p.leader, p.child
	t.Cleanup(func() { killPID(child); killPID(leader) })
	for _, pid := range []int{leader, child} {
		deadline := time.Now().Add(10 * time.Second)
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("pid %d still alive 10s after the probe was cancelled", pid)
			}
			time.Sleep(5 * time.Millisecond) // polling for the event, bounded by deadline
		}
	}
}

// TestExecTimeout checks that the probe's deadline ends a hung script and
// reads as a timeout.
func TestExecTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := (&Exec{Argv: []string{"/bin/sh", "-c", "sleep 300"}}).Probe(ctx)
	wantKind(t, err, KindTimeout)
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("probe returned %v after its 200ms deadline: the kill did not end it", took)
	}
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func killPID(pid int) {
	if p, err := os.FindProcess(pid); err == nil && pid > 1 {
		p.Kill()
	}
}

// alive reports whether pid runs; a zombie waiting for its reaper is dead.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesized command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return true
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want FailureKind
	}{
		{nil, ""},
		{context.DeadlineExceeded, KindTimeout},
		{fmt.Errorf("x: %w", context.Canceled), KindCanceled},
		{fmt.Errorf("x: %w", ErrUnexpectedStatus), KindStatus},
		{fmt.Errorf("x: %w", ErrBodyMismatch), KindBody},
		{fmt.Errorf("x: %w", ErrExitStatus), KindExit},
		{fmt.Errorf("x: %w", ErrInvalidTarget), KindConfig},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, KindRefused},
		{errors.New("something odd"), KindOther},
	}
	for _, tc := range tests {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
