package main

// A minimal IRC client for the load shapes.

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// sourceAddr spreads clients over 127.0.0.0/8 source addresses: one source
// address has only ~28,000 ephemeral ports towards one server port.
func sourceAddr(i int) *net.TCPAddr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+i/20000), byte(2+i%200))}
}

// ircConn is a load-generator connection.
type ircConn struct {
	conn net.Conn
	r    *bufio.Reader
	nick string
}

func dialIRC(addr string, i int, nick string, caps string) (*ircConn, error) {
	d := net.Dialer{LocalAddr: sourceAddr(i), Timeout: 30 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &ircConn{conn: conn, r: bufio.NewReaderSize(conn, 4096), nick: nick}
	reg := ""
	if caps != "" {
		reg = "CAP REQ :" + caps + "\r\nCAP END\r\n"
	}
	reg += "NICK " + nick + "\r\nUSER b 0 * :bench\r\n"
	if _, err := conn.Write([]byte(reg)); err != nil {
		conn.Close()
		return nil, err
	}
	if err := c.waitFor(" 376 ", " 422 "); err != nil {
		conn.Close()
		return nil, fmt.Errorf("register %s: %w", nick, err)
	}
	return c, nil
}

func (c *ircConn) waitFor(subs ...string) error {
	_ = c.conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	defer c.conn.SetReadDeadline(time.Time{})
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "ERROR") {
			return errors.New(strings.TrimSpace(line))
		}
		for _, s := range subs {
			if strings.Contains(line, s) {
				return nil
			}
		}
	}
}

func (c *ircConn) join(ch string) error {
	if _, err := c.conn.Write([]byte("JOIN " + ch + "\r\n")); err != nil {
		return err
	}
	return c.waitFor(" 366 ")
}
