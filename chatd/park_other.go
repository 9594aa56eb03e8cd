//go:build !linux

package chatd

import (
	"net"
	"time"
)

// parker is Linux only (epoll); elsewhere idle clients keep their reader
// goroutines.
type parker struct{}

func newParker() *parker                                         { return nil }
func (p *parker) park(c *Client, fd int32, d time.Duration) bool { return false }
func (p *parker) unpark(c *Client)                               {}
func (p *parker) close()                                         {}
func parkableFD(conn net.Conn) int32                             { return -1 }
