package chatload

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pipeSession returns a session over a loopback TCP connection and the
// server end. (net.Pipe has no buffer: a client answering PING while the
// server writes would deadlock, which real sockets do not.)
func pipeSession(t *testing.T) (*session, net.Conn, *IOCount, *Drops) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); srv.Close() })
	io, drops := &IOCount{}, &Drops{}
	s := &session{conn: countingConn{Conn: c, io: io}, timeout: 2 * time.Second, drops: drops,
		caps: map[string]bool{}, isupport: map[string]string{}}
	s.r = bufio.NewReaderSize(s.conn, readBuf)
	return s, srv, io, drops
}

// serverScript reads client lines and answers per the script, in order:
// for each expected client command prefix, the lines to send back.
func serverScript(t *testing.T, srv net.Conn, steps []scriptStep) chan []string {
	got := make(chan []string, 1)
	go func() {
		var lines []string
		r := bufio.NewReader(srv)
		for _, st := range steps {
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					got <- lines
					return
				}
				l = strings.TrimRight(l, "\r\n")
				lines = append(lines, l)
				if strings.HasPrefix(l, st.on) {
					break
				}
			}
			for _, out := range st.send {
				if _, err := srv.Write([]byte(out + "\r\n")); err != nil {
					got <- lines
					return
				}
			}
		}
		got <- lines
	}()
	return got
}

type scriptStep struct {
	on   string
	send []string
}

func TestRegisterNegotiatesCapLS302Multiline(t *testing.T) {
	s, srv, io, _ := pipeSession(t)
	got := serverScript(t, srv, []scriptStep{
		{on: "USER", send: []string{
			":s CAP * LS * :multi-prefix sasl=PLAIN,EXTERNAL",
			":s CAP * LS :echo-message batch",
		}},
		{on: "CAP REQ", send: []string{":s CAP * ACK :echo-message batch"}},
		{on: "CAP END", send: []string{"PING :abc", ":s 001 n :hi", ":s 005 n CHATHISTORY=50 NICKLEN=30 :are supported"}},
		{on: "PONG"},
	})
	if _, err := s.register("n", []string{"echo-message", "draft/chathistory", "batch"}); err != nil {
		t.Fatal(err)
	}
	// 005 follows 001; reading it records the tokens.
	if m, err := s.read(time.Now().Add(2 * time.Second)); err != nil || m.Command != "005" {
		t.Fatalf("read after 001: %v %v, want the 005", m, err)
	}
	// The script ends once it has read the PONG.
	want := []string{"CAP LS 302", "NICK n", "USER n 0 * chatload", "CAP REQ :echo-message batch", "CAP END", "PONG abc"}
	if diff := cmp.Diff(want, <-got); diff != "" {
		t.Errorf("client lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]bool{"echo-message": true, "batch": true}, s.caps); diff != "" {
		t.Errorf("caps (-want +got):\n%s", diff)
	}
	if s.isupport["CHATHISTORY"] != "50" || s.isupport["NICKLEN"] != "30" {
		t.Errorf("isupport = %v", s.isupport)
	}
	if io.Sent() == 0 || io.Recv() == 0 {
		t.Errorf("byte counts %d/%d", io.Sent(), io.Recv())
	}
}

func TestReadKeepsLineCutByDeadline(t *testing.T) {
	s, srv, _, _ := pipeSession(t)
	go func() { _, _ = srv.Write([]byte(":a PRIV")) }()
	if _, err := s.read(time.Now().Add(100 * time.Millisecond)); !isTimeout(err) {
		t.Fatalf("first read: %v, want timeout", err)
	}
	go func() { _, _ = srv.Write([]byte("MSG #c :hello\r\n")) }()
	m, err := s.read(time.Now().Add(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if m.Command != "PRIVMSG" || m.Param(1) != "hello" {
		t.Errorf("got %q, want the whole PRIVMSG", m.String())
	}
}

func TestReadDropsWithNamedReasons(t *testing.T) {
	s, srv, _, drops := pipeSession(t)
	go func() {
		_, _ = srv.Write([]byte(":x " + strings.Repeat("A", maxLine+10) + "\r\n"))
		_, _ = srv.Write([]byte(":x " + strings.Repeat("B", 3*readBuf) + "\r\n")) // long but legal
		_, _ = srv.Write([]byte(":only-source\r\n\r\n"))
		_, _ = srv.Write([]byte(":s NOTICE n :ok\r\n"))
	}()
	m, err := s.read(time.Now().Add(2 * time.Second))
	if err != nil || m.Command != strings.Repeat("B", 3*readBuf) {
		t.Fatalf("read = %.40q %v, want the long B line whole", m.Command, err)
	}
	m, err = s.read(time.Now().Add(2 * time.Second))
	if err != nil || m.Command != "NOTICE" {
		t.Fatalf("read = %v %v, want the NOTICE", m, err)
	}
	want := map[DropReason]int64{DropLineTooLong: 1, DropUnparsable: 1}
	if diff := cmp.Diff(want, drops.Snapshot()); diff != "" {
		t.Errorf("drops (-want +got):\n%s", diff)
	}
}

func TestReadEOFIsPrematureClose(t *testing.T) {
	s, srv, _, _ := pipeSession(t)
	srv.Close()
	_, err := s.read(time.Now().Add(time.Second))
	if !errors.Is(err, ErrPrematureClose) || Classify(err) != ConnReset {
		t.Errorf("err %v class %q, want premature close → connreset", err, Classify(err))
	}
}

func TestMessageWithoutEchoUsesPing(t *testing.T) {
	s, srv, _, _ := pipeSession(t)
	s.nick = "n"
	got := serverScript(t, srv, []scriptStep{
		{on: "PING", send: []string{":s PONG", ":s PONG s :tok-other", ":s PONG s :tok1"}},
	})
	if _, err := s.message("#c", "hello", "tok1"); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	want := []string{"PRIVMSG #c hello", "PING tok1"}
	if diff := cmp.Diff(want, <-got); diff != "" {
		t.Errorf("client lines (-want +got):\n%s", diff)
	}
}

func TestJoinRefusedIsOther(t *testing.T) {
	s, srv, _, _ := pipeSession(t)
	s.nick = "n"
	serverScript(t, srv, []scriptStep{{on: "JOIN", send: []string{":s 471 n #c :Cannot join channel (+l)"}}})
	_, err := s.join("#c")
	var se *ServerError
	if !errors.As(err, &se) || se.Command != "471" || Classify(err) != Other || PhaseOf(err) != PhaseJoin {
		t.Errorf("err %v class %q phase %q", err, Classify(err), PhaseOf(err))
	}
}

// FuzzReadLine: whatever the bytes, readLine returns exactly the complete
// lines of at most maxLine bytes, in order, and counts every longer one.
func FuzzReadLine(f *testing.F) {
	f.Add([]byte("a\r\nb\n"), 0)
	f.Add([]byte(strings.Repeat("x", 3*readBuf)+"\n"+"y\n"), 0)
	f.Add([]byte("z\n"), maxLine+1)
	f.Fuzz(func(t *testing.T, data []byte, longPad int) {
		if longPad < 0 || longPad > 2*maxLine {
			return
		}
		if longPad > 0 { // splice in one long line, maybe over the limit
			data = append(append(data, bytes.Repeat([]byte{'L'}, longPad)...), '\n')
		}
		var want []string
		var tooLong int64
		rest := string(data)
		for {
			i := strings.IndexByte(rest, '\n')
			if i < 0 {
				break
			}
			if line := rest[:i+1]; len(line) > maxLine {
				tooLong++
			} else {
				want = append(want, line)
			}
			rest = rest[i+1:]
		}
		s := &session{drops: &Drops{}, r: bufio.NewReaderSize(bytes.NewReader(data), readBuf)}
		var got []string
		for {
			l, err := s.readLine()
			if err != nil {
				break
			}
			got = append(got, l)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("lines (-want +got):\n%s", diff)
		}
		if n := s.drops.Snapshot()[DropLineTooLong]; n != tooLong {
			t.Fatalf("dropped %d long lines, want %d", n, tooLong)
		}
	})
}

func TestIdleAnswersPingAndReportsClose(t *testing.T) {
	s, srv, _, _ := pipeSession(t)
	_, _ = srv.Write([]byte("PING :keep\r\n"))
	if err := s.idle(100*time.Millisecond, PhaseHold); err != nil {
		t.Fatalf("idle: %v", err)
	}
	_ = srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, err := bufio.NewReader(srv).ReadString('\n'); err != nil || l != "PONG keep\r\n" {
		t.Errorf("server got %q %v, want the PONG", l, err)
	}
	s2, srv2, _, _ := pipeSession(t)
	srv2.Close()
	err := s2.idle(time.Second, PhaseHold)
	if Classify(err) != ConnReset || PhaseOf(err) != PhaseHold {
		t.Errorf("idle on a closed connection: %v (class %q phase %q)", err, Classify(err), PhaseOf(err))
	}
}
