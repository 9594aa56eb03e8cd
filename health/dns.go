package health

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DNS is keepalived's DNS_CHECK: one query over UDP (RFC 1035 §4.2.1),
// up when a response with the query's ID, the same question and RCODE
// NOERROR comes back. The answer section may be empty: the server
// answered authoritatively that it has no such record, so it is serving.
type DNS struct {
	Addr   string // host:port
	Dialer *net.Dialer
	// Name is the name queried (default "."); Type one of A, NS, CNAME,
	// SOA, MX, TXT, AAAA (default SOA), keepalived's choices.
	Name string
	Type string
}

var dnsTypes = map[string]dnsmessage.Type{
	"A": dnsmessage.TypeA, "NS": dnsmessage.TypeNS, "CNAME": dnsmessage.TypeCNAME, "SOA": dnsmessage.TypeSOA,
	"MX": dnsmessage.TypeMX, "TXT": dnsmessage.TypeTXT, "AAAA": dnsmessage.TypeAAAA,
}

// Probe sends the query and judges the response.
func (q *DNS) Probe(ctx context.Context) error {
	name := q.Name
	if name == "" {
		name = "."
	}
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	typ, ok := dnsTypes[strings.ToUpper(q.Type)]
	if q.Type == "" {
		typ, ok = dnsmessage.TypeSOA, true
	}
	n, err := dnsmessage.NewName(name)
	if !ok || err != nil {
		return fmt.Errorf("dns check %s: query %q %q: %w", q.Addr, q.Name, q.Type, ErrInvalidTarget)
	}
	var idb [2]byte
	rand.Read(idb[:])
	id := binary.BigEndian.Uint16(idb[:])
	msg, err := (&dnsmessage.Message{Header: dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: n, Type: typ, Class: dnsmessage.ClassINET}}}).Pack()
	if err != nil {
		return fmt.Errorf("dns check %s: %w: %w", q.Addr, ErrInvalidTarget, err)
	}
	d := q.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	c, err := d.DialContext(ctx, "udp", q.Addr)
	if err != nil {
		return fmt.Errorf("dns check %s: %w", q.Addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := c.Write(msg); err != nil {
		return fmt.Errorf("dns check %s: %w", q.Addr, ctxErr(ctx, err))
	}
	buf := make([]byte, 65535)
	for {
		k, err := c.Read(buf)
		if err != nil {
			return fmt.Errorf("dns check %s: %w", q.Addr, ctxErr(ctx, err))
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:k])
		if err != nil || h.ID != id || !h.Response {
			continue // not the answer to this query: keep waiting
		}
		got, err := p.Question()
		if err != nil || got.Type != typ || got.Class != dnsmessage.ClassINET || !strings.EqualFold(got.Name.String(), name) {
			return fmt.Errorf("dns check %s: the response is for another question: %w", q.Addr, ErrBadReply)
		}
		if h.RCode != dnsmessage.RCodeSuccess {
			return fmt.Errorf("dns check %s: %s: %w", q.Addr, h.RCode, ErrBadReply)
		}
		return nil
	}
}
