package chatd

import (
	"net"
	"syscall"
	"testing"
)

// TestSocketSendBufferFixed (socket(7) SO_SNDBUF): an accepted client's
// kernel send buffer is fixed at socket_send_buffer (doubled by the
// kernel), so a client that stops reading cannot make the kernel hold
// megabytes for it.
func TestSocketSendBufferFixed(t *testing.T) {
	cfg := testConfig("")
	cfg.Limits.SocketSendBuffer = 16 << 10
	n := startNode(t, cfg, nil)
	c := dial(t, n.Addr(), "a")
	c.register("reader")
	var sc *Client
	waitFor(t, "the client admitted", func() bool {
		cs := n.snapshotClients()
		if len(cs) == 1 {
			sc = cs[0]
		}
		return sc != nil
	})
	raw, err := sc.conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	if err := raw.Control(func(fd uintptr) { got, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF) }); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	if got != 2*cfg.Limits.SocketSendBuffer {
		t.Errorf("SO_SNDBUF = %d, want %d (socket_send_buffer doubled by the kernel)", got, 2*cfg.Limits.SocketSendBuffer)
	}
}
