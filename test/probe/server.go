package probe

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Server answers every TCP connection with its name and a newline, then
// closes. Listening on the wildcard address lets it answer on a virtual
// address whenever this host holds it, and not at all otherwise.
type Server struct {
	ln     net.Listener
	name   string
	served atomic.Int64
	wg     sync.WaitGroup
}

// Serve starts answering on ln with name.
func Serve(ln net.Listener, name string) *Server {
	s := &Server{ln: ln, name: name}
	s.wg.Add(1)
	go s.loop()
	return s
}

// Listen listens on addr (e.g. ":7000") and serves. Call it inside a netns
// Host's Do to serve in that namespace.
func Listen(addr, name string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("probe: listen %s: %w", addr, err)
	}
	return Serve(ln, name), nil
}

func (s *Server) loop() {
	defer s.wg.Done()
	reply := []byte(s.name + "\n")
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and friends: back off instead of spinning.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		s.served.Add(1)
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write(reply)
		c.Close()
	}
}

// Addr is the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Served counts connections answered.
func (s *Server) Served() int64 { return s.served.Load() }

// Close stops the server.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}
