//go:build !linux

package chatd

import (
	"io"
	"net"
)

// idleReader is conn itself where peeking without a buffer is not wired up.
func idleReader(conn net.Conn) io.Reader { return conn }
