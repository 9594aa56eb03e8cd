package chatd

import (
	"io"
	"net"
	"syscall"
)

// idleConn lets an idle client's LineReader wait for input without a read
// buffer (irc.IdleWaiter): 50,000 idle clients then hold no 512-byte
// buffers. It peeks one byte without blocking through the runtime's poller,
// which also honours the read deadline.
type idleConn struct {
	net.Conn
	rc syscall.RawConn
}

// idleReader returns conn as an irc.IdleWaiter where the connection has a
// file descriptor (TCP), else conn itself.
func idleReader(conn net.Conn) io.Reader {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return conn
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return conn
	}
	return idleConn{Conn: conn, rc: rc}
}

func (c idleConn) WaitReadable() error {
	var perr error
	err := c.rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, perr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// EAGAIN: nothing yet, let the poller wait. Anything else (data,
		// end of stream, an error) is for Read to report.
		return perr != syscall.EAGAIN
	})
	return err
}
