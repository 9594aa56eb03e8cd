package keepalivedconf

import (
	"encoding/hex"
	"strings"
	"time"

	"github.com/hachat/hachat/internal/config"
)

// checkTypes maps keepalived's checkers to vrrpd's check types.
var checkTypes = map[string]string{
	"TCP_CHECK": "tcp", "HTTP_GET": "http", "SSL_GET": "https", "MISC_CHECK": "exec",
	"SMTP_CHECK": "smtp", "DNS_CHECK": "dns", "UDP_CHECK": "udp", "PING_CHECK": "icmp",
}

// checker converts one keepalived checker into vrrpd checks: one, or one
// per url block of HTTP_GET/SSL_GET and per host block of SMTP_CHECK, all of
// which must pass, as in keepalived.
//
// keepalived retries a failed check `retry` times, delay_before_retry
// apart, before it takes the server out: that is fall = retry+1 with the
// retry interval, the health engine's RetryInterval. The defaults differ
// per checker (keepalived.conf(5)): retry 1 (DNS 3, MISC 0),
// delay_before_retry 1s (HTTP/SSL 3s, DNS the delay_loop).
func (c *converter) checker(s *Stmt, d checkerDefaults) []config.Check {
	typ := checkTypes[s.Key()]
	var urls, hosts []*Stmt
	ck := config.Check{Type: typ, Rise: 1, Host: d.virtualHost, InhibitOnFailure: d.inhibit}
	for _, k := range s.Children {
		a := k.Args()
		if c.connectOption(k, &ck) {
			continue
		}
		switch k.Key() {
		case "misc_timeout":
			d.connectTimeout = c.durationPtr(k, 1, time.Second)
		case "url":
			urls = append(urls, k)
		case "host":
			hosts = append(hosts, k)
		case "misc_path":
			ck.Command = c.command(k)
		case "helo_name":
			if len(a) == 1 {
				ck.Helo = a[0]
			}
		case "type":
			if len(a) == 1 {
				ck.QueryType = strings.ToUpper(a[0])
			}
		case "name":
			if len(a) == 1 {
				ck.QueryName = a[0]
			}
		case "payload":
			ck.Payload = c.hexString(k, a, false)
		case "require_reply":
			ck.RequireReply = true
			ck.Expect = c.hexString(k, a, true)
		case "http_protocol":
			c.info(k, "vrrpd sends HTTP/1.1 requests with Connection: close, one connection per probe")
		case "enable_sni":
			c.info(k, "vrrpd sends SNI from the virtual host whenever there is one")
		case "fast_recovery":
			c.info(k, "vrrpd checks every url of a real server at once, which is fast_recovery")
		case "misc_dynamic":
			c.loss(k, "misc_dynamic (weight from the exit code) is not supported: exit 0 is up, anything else down")
		default:
			if !c.generic(k, &d) {
				c.loss(k, "checker option not carried over")
			}
		}
	}
	c.timing(&ck, d)
	switch {
	case len(urls) > 0:
		if len(urls) > 1 {
			c.info(s, "keepalived checks the %d urls one delay_loop apart after a failure unless fast_recovery is set; vrrpd checks them together, every one must pass in both", len(urls))
		}
		return c.urls(ck, urls)
	case len(hosts) > 0:
		return c.smtpHosts(ck, hosts, d)
	case typ == "http" || typ == "https":
		c.refuse(s, "%s without a url block checks nothing in keepalived", s.Key())
		return nil
	case typ == "exec" && len(ck.Command) == 0:
		c.refuse(s, "MISC_CHECK without misc_path")
		return nil
	}
	return []config.Check{ck}
}

// timing fills interval, timeout, fall and retry interval from the defaults.
func (c *converter) timing(ck *config.Check, d checkerDefaults) {
	ck.Interval = d.delayLoop
	retry, dbr := 1, time.Second
	switch ck.Type {
	case "http", "https":
		dbr = 3 * time.Second
	case "dns":
		retry, dbr = 3, d.delayLoop
	case "exec":
		retry = 0
	}
	ck.Timeout = 5 * time.Second // connect_timeout's default
	if ck.Type == "exec" {
		ck.Timeout = d.delayLoop // misc_timeout's default
	}
	if d.connectTimeout != nil {
		ck.Timeout = *d.connectTimeout
	}
	if d.retry != nil {
		retry = *d.retry
	}
	if d.delayBeforeRetry != nil {
		dbr = *d.delayBeforeRetry
	}
	ck.Fall = retry + 1
	if retry > 0 {
		ck.RetryInterval = min(dbr, ck.Interval)
	}
}

// urls makes one http check per url block.
func (c *converter) urls(base config.Check, urls []*Stmt) []config.Check {
	var out []config.Check
	for _, u := range urls {
		ck := base
		ck.Status = nil
		for _, k := range u.Children {
			a := k.Args()
			switch k.Key() {
			case "path":
				if len(a) == 1 {
					ck.Path = a[0]
				}
			case "status_code":
				for _, w := range a {
					var r config.StatusRange
					if err := r.UnmarshalText([]byte(w)); err != nil {
						c.refuse(k, "%q is not a status code or range such as 200-299", w)
						continue
					}
					ck.Status = append(ck.Status, r)
				}
			case "digest":
				if len(a) == 1 {
					ck.Digest = strings.ToLower(a[0])
				}
			case "virtualhost":
				if len(a) == 1 {
					ck.Host = a[0]
				}
			default:
				c.loss(k, "url option not carried over")
			}
		}
		if ck.Type == "https" && ck.Host != "" {
			ck.SNI = ck.Host
		}
		out = append(out, ck)
	}
	return out
}

// smtpHosts makes one smtp check per host block of keepalived 1.x's
// SMTP_CHECK: the real server is up while every host answers, and the
// real server's own address is checked only if a host block names it.
func (c *converter) smtpHosts(base config.Check, hosts []*Stmt, d checkerDefaults) []config.Check {
	var out []config.Check
	for _, h := range hosts {
		ck := base
		for _, k := range h.Children {
			if !c.connectOption(k, &ck) {
				c.loss(k, "SMTP_CHECK host option not carried over")
			}
		}
		out = append(out, ck)
	}
	return out
}

// hexString reads keepalived's free-form HEX_STR ("Ab12f 3 456": each
// word an even run of digits, an odd last digit standing alone) into hex.
func (c *converter) hexString(k *Stmt, words []string, optional bool) string {
	if len(words) == 0 {
		if !optional {
			c.refuse(k, "missing hex string")
		}
		return ""
	}
	var b strings.Builder
	for _, w := range words {
		if strings.ContainsAny(w, "xX") {
			c.loss(k, "wildcard nibbles (x) are not supported: the reply must match exactly")
			w = strings.NewReplacer("x", "0", "X", "0").Replace(w)
		}
		for len(w) >= 2 {
			b.WriteString(w[:2])
			w = w[2:]
		}
		if w != "" {
			b.WriteString("0" + w)
		}
	}
	if _, err := hex.DecodeString(b.String()); err != nil {
		c.refuse(k, "not a hex string")
		return ""
	}
	return strings.ToLower(b.String())
}

// connectOption applies the address options every checker and SMTP host block
// shares (connect_ip, connect_port, bindto) and says whether k was one.
func (c *converter) connectOption(k *Stmt, ck *config.Check) bool {
	a := k.Args()
	switch k.Key() {
	case "connect_ip":
		if len(a) == 1 {
			ck.Address = c.addr(k, a[0])
		}
	case "connect_port":
		ck.Port = c.int(k, 1)
	case "bindto":
		if len(a) == 1 {
			ck.Source = c.addr(k, a[0])
		}
	default:
		return false
	}
	return true
}
