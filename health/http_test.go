package health

import (
	"context"
	"crypto/md5"
	"crypto/x509"
	"encoding/hex"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

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
