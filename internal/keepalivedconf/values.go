package keepalivedconf

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// int reads the integer at word i of s; a bad one is noted and gives 0.
func (c *converter) int(s *Stmt, i int) int {
	if i >= len(s.Words) {
		c.refuse(s, "missing number")
		return 0
	}
	n, err := strconv.Atoi(s.Words[i])
	if err != nil {
		c.refuse(s, "not a whole number: %q", s.Words[i])
		return 0
	}
	return n
}

// duration reads word i as a number of units (keepalived writes seconds,
// possibly fractional: advert_int 0.1), rounded to the millisecond.
func (c *converter) duration(s *Stmt, i int, unit time.Duration) time.Duration {
	if i >= len(s.Words) {
		c.refuse(s, "missing number")
		return 0
	}
	f, err := strconv.ParseFloat(s.Words[i], 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		c.refuse(s, "not a non-negative number: %q", s.Words[i])
		return 0
	}
	return time.Duration(math.Round(f*float64(unit)/float64(time.Millisecond))) * time.Millisecond
}

func (c *converter) durationPtr(s *Stmt, i int, unit time.Duration) *time.Duration {
	d := c.duration(s, i, unit)
	return &d
}

// command reads a keepalived script string ("/path/to/x arg1 'arg 2'", or
// several words) into an argv. keepalived runs it without a shell (it
// splits the string and execs it, resolving a bare name through PATH);
// here a bare name is resolved through PATH on the importing host, since
// vrrpd wants an absolute path. Shell syntax (redirections, pipes,
// variables) cannot be carried over: it is refused with advice.
func (c *converter) command(s *Stmt) []string {
	if len(s.Args()) == 0 {
		c.refuse(s, "no command given")
		return nil
	}
	// The lexer already grouped double-quoted words; a quoted whole
	// command is one word to split again, with single quotes grouping.
	var argv []string
	for _, w := range s.Args() {
		if strings.ContainsAny(w, " \t") {
			if parts, err := splitLine(strings.ReplaceAll(w, "'", "\"")); err == nil {
				argv = append(argv, parts...)
				continue
			}
		}
		argv = append(argv, w)
	}
	if len(argv) == 0 {
		c.refuse(s, "no command given")
		return nil
	}
	if strings.ContainsAny(argv[0], "<>|&;$`(){}*?") {
		c.refuse(s, "%q is shell syntax, which keepalived runs only where /bin/sh is bash (its own sample says so; Debian's is dash): write it as \"/bin/bash -c '...'\" or use a TCP_CHECK-style check", argv[0])
		return argv
	}
	if !strings.Contains(argv[0], "/") {
		p, err := c.opts.LookPath(argv[0])
		if err != nil {
			c.refuse(s, "%q is not in PATH on this host: give its absolute path", argv[0])
			return argv
		}
		c.info(s, "%s resolved through PATH to %s", argv[0], p)
		argv[0] = p
	}
	return argv
}

func (c *converter) addrPort(s *Stmt, ip, port string) (netip.AddrPort, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		c.refuse(s, "not an address: %v", err)
		return netip.AddrPort{}, false
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		c.refuse(s, "not a port: %q", port)
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, uint16(p)), true
}
