// Package control is vrrpd's control-socket protocol: one JSON request per
// connection on a unix stream socket (mode 0600, so only root or the daemon's
// user can use it), answered by one JSON response, or by a stream of JSON
// lines for "events". vrrpctl is its client.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hachat/hachat/vrrp/router"
)

// Commands.
const (
	CmdStatus      = "status"
	CmdMaintenance = "maintenance" // Instance, On
	CmdReload      = "reload"
	CmdBalancer    = "balancer"
	CmdEvents      = "events"
)

// EventSubscribed is the kind of the first event of every stream.
const EventSubscribed = "subscribed"

// Request is what a client sends.
type Request struct {
	Command  string `json:"command"`
	Instance string `json:"instance,omitempty"`
	On       bool   `json:"on,omitempty"`
}

// Response is the daemon's answer.
type Response struct {
	OK        bool            `json:"ok"`
	Error     string          `json:"error,omitempty"`
	Message   string          `json:"message,omitempty"`
	RouterID  string          `json:"router_id,omitempty"`
	Config    string          `json:"config,omitempty"`
	Instances []router.Status `json:"instances,omitempty"`
	Balancer  json.RawMessage `json:"balancer,omitempty"`
	// BalancerTable is the balancer status as an ipvsadm-like table.
	BalancerTable string `json:"balancer_table,omitempty"`
}

// Handler serves requests.
type Handler interface {
	Handle(ctx context.Context, req Request) Response
	// Subscribe returns the event stream for "events" and a function that
	// ends it.
	Subscribe() (<-chan router.InstanceEvent, func())
}

// ErrInUse means another daemon answers on the socket.
var ErrInUse = errors.New("control socket is in use by a running daemon")

// ErrNotSocket means the control socket's path names something else: a
// regular file, a directory. It is never removed to make room.
var ErrNotSocket = errors.New("exists and is not a socket: refusing to replace it; set global.control_socket to a free path or remove it yourself")

// Listen opens the socket at path with mode 0600. A socket file left by a
// daemon that died is replaced; one that answers is not, and neither is
// anything that is not a socket.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode().Type() != os.ModeSocket {
		kind := "a regular file"
		switch {
		case fi.IsDir():
			kind = "a directory"
		case fi.Mode()&os.ModeSymlink != 0:
			kind = "a symbolic link"
		case !fi.Mode().IsRegular():
			kind = "a special file"
		}
		return nil, fmt.Errorf("control: %s is %s: it %w", path, kind, ErrNotSocket)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control: %s: %w", path, ErrInUse)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control: remove stale %s: %w", path, err)
	}
	// The umask makes the socket 0600 from birth: a chmod after bind
	// would leave a window in which anyone could connect.
	old := syscall.Umask(0o177)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("control: %w", err)
	}
	return l, nil
}

// Serve answers connections on l until ctx is done.
func Serve(ctx context.Context, l net.Listener, h Handler) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("control: accept: %w", err)
		}
		go serveConn(ctx, c, h)
	}
}

func serveConn(ctx context.Context, c net.Conn, h Handler) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var req Request
	if err := json.NewDecoder(io.LimitReader(c, 64<<10)).Decode(&req); err != nil {
		json.NewEncoder(c).Encode(Response{Error: "bad request: " + err.Error()})
		return
	}
	c.SetReadDeadline(time.Time{})
	enc := json.NewEncoder(c)
	if req.Command == CmdEvents {
		ch, cancel := h.Subscribe()
		defer cancel()
		// The first line confirms the subscription: a client may act once
		// it has it and be sure to see the consequences.
		if enc.Encode(router.InstanceEvent{Time: time.Now(), Kind: EventSubscribed}) != nil {
			return
		}
		// The client ends the stream by closing; notice it.
		gone := make(chan struct{})
		go func() { io.Copy(io.Discard, c); close(gone) }()
		for {
			select {
			case ev := <-ch:
				c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if enc.Encode(ev) != nil {
					return
				}
			case <-gone:
				return
			case <-ctx.Done():
				return
			}
		}
	}
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	enc.Encode(h.Handle(ctx, req))
}

// Do sends req to the daemon at path and returns its response; a response
// with OK false is returned as an error too.
func Do(path string, req Request) (Response, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return Response{}, fmt.Errorf("control: connect to vrrpd at %s: %w", path, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return Response{}, fmt.Errorf("control: send: %w", err)
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return Response{}, fmt.Errorf("control: read response: %w", err)
	}
	if !resp.OK {
		return resp, fmt.Errorf("vrrpd: %s", resp.Error)
	}
	return resp, nil
}

// Events streams events to f until f returns false, ctx ends or the daemon
// goes away.
func Events(ctx context.Context, path string, f func(ev router.InstanceEvent, raw []byte) bool) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("control: connect to vrrpd at %s: %w", path, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := json.NewEncoder(c).Encode(Request{Command: CmdEvents}); err != nil {
		return fmt.Errorf("control: send: %w", err)
	}
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		var ev router.InstanceEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return fmt.Errorf("control: bad event: %w", err)
		}
		if !f(ev, sc.Bytes()) {
			return nil
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}
