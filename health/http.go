package health

import (
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// DefaultMaxBody is how much of a response body an HTTP check reads when it
// has a body regular expression or digest to compare.
const DefaultMaxBody = 64 << 10

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Lo, Hi int }

func (r StatusRange) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(r.Lo)
	}
	return fmt.Sprintf("%d-%d", r.Lo, r.Hi)
}

// DefaultExpectStatus is what an HTTP check accepts when it names no status
// code: any 2xx, as keepalived's HTTP_GET does without status_code.
var DefaultExpectStatus = []StatusRange{{200, 299}}

// ParseStatusRanges parses a comma-separated list of status codes and
// inclusive ranges, keepalived's status_code syntax: "200", "200-299,301".
// Every code must lie in 100-599. It is the inverse of [FormatStatusRanges].
func ParseStatusRanges(s string) ([]StatusRange, error) {
	var out []StatusRange
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		lo, hi, isRange := strings.Cut(f, "-")
		l, err := parseStatus(lo)
		if err != nil {
			return nil, fmt.Errorf("status code range %q: %w", f, err)
		}
		h := l
		if isRange {
			if h, err = parseStatus(hi); err != nil {
				return nil, fmt.Errorf("status code range %q: %w", f, err)
			}
		}
		if h < l {
			return nil, fmt.Errorf("status code range %q: upper bound below lower bound: %w", f, ErrInvalidTarget)
		}
		out = append(out, StatusRange{l, h})
	}
	return out, nil
}

func parseStatus(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 100 || n > 599 {
		return 0, fmt.Errorf("%q is not an HTTP status code (100-599): %w", s, ErrInvalidTarget)
	}
	return n, nil
}

// HTTP is keepalived's HTTP_GET and SSL_GET: one GET request whose status
// code, and optionally body, decide the result. Every probe opens a fresh
// connection (no keep-alive), so a dead server cannot hide behind a pooled
// connection, and redirects are not followed: a 301 is a status to judge.
// Proxy settings from the environment are ignored.
type HTTP struct {
	// URL is the full request URL; its host:port is the address to
	// connect to (the real server, or keepalived's connect_ip and
	// connect_port), its scheme "http" or "https" selects TLS.
	URL string
	// Host, when set, is sent as the Host header (keepalived's
	// virtualhost).
	Host string
	// SNI is the TLS server name sent in the ClientHello (RFC 6066 §3) and
	// checked against the certificate when VerifyCert is set. It defaults
	// to the host part of Host, then to the URL's host; an IP address is
	// never sent as SNI.
	SNI string
	// ExpectStatus lists the accepted status codes; empty means
	// DefaultExpectStatus.
	ExpectStatus []StatusRange
	// BodyRegexp, when set, must match the first MaxBody bytes of the body.
	BodyRegexp *regexp.Regexp
	// Digest, when set, is the hex MD5 of the first MaxBody bytes of the
	// body, as keepalived's genhash prints it.
	Digest string
	// MaxBody bounds the bytes read for BodyRegexp and Digest; zero means
	// DefaultMaxBody.
	MaxBody int64
	// VerifyCert turns on certificate verification. It is off by default,
	// like keepalived's SSL_GET: a health check asks whether the server
	// answers, and real servers often carry certificates for the virtual
	// name only.
	VerifyCert bool
	// RootCAs verifies certificates when VerifyCert is set; nil means the
	// system roots.
	RootCAs *x509.CertPool
	// Dialer, when set, makes the connection (bind a source address with
	// its LocalAddr).
	Dialer *net.Dialer
	// UserAgent is sent as User-Agent; empty means "hachat-health/1".
	UserAgent string
}

// Probe sends the GET and judges the answer.
func (h *HTTP) Probe(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return fmt.Errorf("http check %s: %w: %w", h.URL, ErrInvalidTarget, err)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("http check %s: scheme must be http or https: %w", h.URL, ErrInvalidTarget)
	}
	if h.Host != "" {
		req.Host = h.Host
	}
	ua := h.UserAgent
	if ua == "" {
		ua = "hachat-health/1"
	}
	req.Header.Set("User-Agent", ua)
	req.Close = true

	d := h.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	tr := &http.Transport{
		Proxy:              nil,
		DialContext:        d.DialContext,
		TLSClientConfig:    h.tlsConfig(),
		DisableKeepAlives:  true,
		DisableCompression: true, // the digest is over the bytes as sent
		ForceAttemptHTTP2:  false,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		if strings.Contains(err.Error(), plainHTTPMessage) {
			// net/http replaces the tls.RecordHeaderError by a plain
			// error; keep the fact that TLS failed.
			return fmt.Errorf("http check %s: %w: %w", h.URL, errPlainHTTP, err)
		}
		return fmt.Errorf("http check %s: %w", h.URL, err)
	}
	defer resp.Body.Close()

	expect := h.ExpectStatus
	if len(expect) == 0 {
		expect = DefaultExpectStatus
	}
	if !statusIn(resp.StatusCode, expect) {
		return fmt.Errorf("http check %s: status %d, want %s: %w", h.URL, resp.StatusCode, rangesString(expect), ErrUnexpectedStatus)
	}
	if h.BodyRegexp == nil && h.Digest == "" {
		return nil
	}
	max := h.MaxBody
	if max <= 0 {
		max = DefaultMaxBody
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max))
	if err != nil {
		return fmt.Errorf("http check %s: read body: %w", h.URL, err)
	}
	if h.BodyRegexp != nil && !h.BodyRegexp.Match(body) {
		return fmt.Errorf("http check %s: body does not match %q: %w", h.URL, h.BodyRegexp, ErrBodyMismatch)
	}
	if h.Digest != "" {
		sum := md5.Sum(body)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, h.Digest) {
			return fmt.Errorf("http check %s: body digest %s, want %s: %w", h.URL, got, h.Digest, ErrBodyMismatch)
		}
	}
	return nil
}

// plainHTTPMessage is net/http's error text when a TLS client gets an HTTP
// answer; the error has no type to test for.
const plainHTTPMessage = "server gave HTTP response to HTTPS client"

var errPlainHTTP = errors.New("TLS handshake answered in plain HTTP")

func (h *HTTP) tlsConfig() *tls.Config {
	sni := h.SNI
	if sni == "" && h.Host != "" {
		sni = h.Host
		if host, _, err := net.SplitHostPort(h.Host); err == nil {
			sni = host
		}
	}
	// An empty ServerName lets net/http use the URL's host; crypto/tls
	// never sends an IP address as SNI.
	return &tls.Config{
		ServerName:         sni,
		InsecureSkipVerify: !h.VerifyCert, //nolint:gosec // keepalived SSL_GET semantics, see VerifyCert
		RootCAs:            h.RootCAs,
	}
}

func statusIn(code int, rs []StatusRange) bool {
	for _, r := range rs {
		if code >= r.Lo && code <= r.Hi {
			return true
		}
	}
	return false
}

// FormatStatusRanges renders ranges in the syntax ParseStatusRanges reads.
func FormatStatusRanges(rs []StatusRange) string { return rangesString(rs) }

// StatusCodes turns a list of single codes (a config's "status: [200, 204]")
// into ranges.
func StatusCodes(codes ...int) []StatusRange {
	out := make([]StatusRange, len(codes))
	for i, c := range codes {
		out[i] = StatusRange{c, c}
	}
	return out
}

func rangesString(rs []StatusRange) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}
