package chatd

import (
	"net"
	"sync"
	"syscall"
	"time"
)

// parker holds idle clients' connections without a goroutine each. A
// client that has sent nothing for idle_park parks: its reader goroutine
// registers the socket with the parker's epoll set (one-shot) and ends,
// which frees its stack (2 KiB at least) and goroutine (about 0.4 KiB), the
// bulk of an idle client's memory. Input, the client's read deadline (ping
// or registration timeout) or its closing starts a new reader goroutine
// where the old one stopped: the LineReader, holding nothing when a client
// parks, and the rest of the reader's state live in the Client.
//
// One goroutine serves the set, blocked in epoll_wait. The set is level
// triggered, so input that arrived before the socket was added wakes it at
// once; one-shot, so a socket wakes its client once, and is removed then.
type parker struct {
	epfd         int
	wakeR, wakeW int // a pipe in the set: a byte on it stops the loop

	mu     sync.Mutex
	parked map[int32]*Client // by socket
	closed bool
	done   chan struct{}
}

// newParker returns nil if the kernel refuses an epoll set: clients then
// keep their reader goroutines.
func newParker() *parker {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	var pipe [2]int
	if err := syscall.Pipe2(pipe[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(pipe[0])}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, pipe[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(pipe[0])
		syscall.Close(pipe[1])
		return nil
	}
	p := &parker{epfd: epfd, wakeR: pipe[0], wakeW: pipe[1], parked: map[int32]*Client{}, done: make(chan struct{})}
	go p.loop()
	return p
}

func (p *parker) loop() {
	defer close(p.done)
	evs := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(p.epfd, evs, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range evs[:n] {
			if ev.Fd == int32(p.wakeR) {
				return
			}
			p.wake(ev.Fd, nil, false)
		}
	}
}

// park adds c's socket fd to the set and reports whether it did: c's
// reader goroutine must then end at once, and c.resume runs on a new one
// when input arrives, after d (the read deadline) or when c closes. A
// closing client is not parked (its writer wakes the reader before it
// closes the socket, and the descriptor must not be reused under us).
func (p *parker) park(c *Client, fd int32, d time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || c.isClosing() {
		return false
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: fd}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev); err != nil {
		return false
	}
	p.parked[fd] = c
	c.parkUntil = time.Now().Add(d)
	if c.parkTimer == nil {
		c.parkTimer = time.AfterFunc(d, func() { p.wake(fd, c, true) })
	} else {
		c.parkTimer.Reset(d)
	}
	return true
}

// wake takes the client parked on fd out of the set (only if it is want,
// when want is not nil) and resumes its reader; timedOut says its read
// deadline passed.
func (p *parker) wake(fd int32, want *Client, timedOut bool) {
	p.mu.Lock()
	c := p.parked[fd]
	// A timer that fired while c was being woken for input belongs to an
	// earlier parking: its time is before the current one's deadline.
	if c == nil || (want != nil && c != want) || (timedOut && time.Now().Before(c.parkUntil)) {
		p.mu.Unlock()
		return
	}
	delete(p.parked, fd)
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	if !timedOut {
		// Under mu: once c is resumed it may park again and Reset the
		// timer, which a late Stop would cancel.
		c.parkTimer.Stop()
	}
	p.mu.Unlock()
	go c.resume(timedOut)
}

// unpark resumes c's reader if it is parked, before its socket is closed.
func (p *parker) unpark(c *Client) {
	if p != nil && c.fd >= 0 {
		p.wake(c.fd, c, false)
	}
}

// close stops the loop. Clients still parked (none after a shutdown, which
// closes every client first) are resumed so they see their sockets close.
func (p *parker) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	left := make([]*Client, 0, len(p.parked))
	for _, c := range p.parked {
		left = append(left, c)
	}
	p.mu.Unlock()
	for _, c := range left {
		p.wake(c.fd, c, false)
	}
	_, _ = syscall.Write(p.wakeW, []byte{0})
	<-p.done
	syscall.Close(p.epfd)
	syscall.Close(p.wakeR)
	syscall.Close(p.wakeW)
}

// parkableFD is conn's socket if the parker can watch it (plain TCP; a TLS
// connection may hold decrypted input the socket does not show), else -1.
func parkableFD(conn net.Conn) int32 {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return -1
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := int32(-1)
	if err := rc.Control(func(s uintptr) { fd = int32(s) }); err != nil {
		return -1
	}
	return fd
}
