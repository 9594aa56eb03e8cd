package fakeirc

import (
	"fmt"
	"net"
	"syscall"
)

// RefusingAddr returns a loopback address where nothing listens, so a
// connect gets ECONNREFUSED. The port was bound and released just before;
// a concurrent test could grab it again, which is unlikely and would show
// as a test failure, not a false pass.
func RefusingAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("fakeirc refusing addr: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// FullBacklog is a listener that never accepts and whose accept queue is
// already full, so the kernel drops further SYNs (Linux tcp_conn_request:
// listen overflow) and connects hang until the client's own timeout.
type FullBacklog struct {
	fd     int
	filler net.Conn
	addr   string
}

// NewFullBacklog creates the listener with backlog 0 and fills its single
// queue slot with one connection.
func NewFullBacklog() (*FullBacklog, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("fakeirc full backlog: socket: %w", err)
	}
	sa := &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("fakeirc full backlog: bind: %w", err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("fakeirc full backlog: listen: %w", err)
	}
	got, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("fakeirc full backlog: getsockname: %w", err)
	}
	port := got.(*syscall.SockaddrInet4).Port
	fb := &FullBacklog{fd: fd, addr: fmt.Sprintf("127.0.0.1:%d", port)}
	// Backlog 0 still admits one completed connection; take it.
	c, err := net.Dial("tcp", fb.addr)
	if err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("fakeirc full backlog: filler dial: %w", err)
	}
	fb.filler = c
	return fb, nil
}

// Addr is the listener's host:port.
func (f *FullBacklog) Addr() string { return f.addr }

// Close releases the listener and the filler connection.
func (f *FullBacklog) Close() {
	f.filler.Close()
	syscall.Close(f.fd)
}
