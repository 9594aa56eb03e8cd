package chatload

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestResumePagesCountForeignLines: a history page full of lines this run
// did not write (a probe, another client) is still a full page, so the
// client must ask for the next one from the page's last msgid.
func TestResumePagesCountForeignLines(t *testing.T) {
	s, srv, _, _ := pipeSession(t)
	cfg, err := FailoverConfig{Steady: SteadyConfig{Servers: []string{"x:1"}, Members: 2, Rate: 10,
		Duration: time.Second, NickPrefix: "crun"}, CueAfter: 0}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	r := newChatRun(cfg.Steady)
	r.fo = &cfg
	fs := &failoverState{r: r, fo: &cfg, detect: NewRecorder(), reconnT: NewRecorder(),
		outage: NewRecorder(), resume: NewRecorder(), affected: map[int]bool{}}
	r.fs = fs
	m := r.members[1]
	m.msgids = map[string]bool{}
	m.lastMsgid = "m1"
	s.caps = map[string]bool{"draft/chathistory": true, "batch": true}
	s.isupport["CHATHISTORY"] = "3"
	fs.startResume(m, s, time.Now())

	ch := r.chans[0]
	lines := []string{
		":srv BATCH +h1 chathistory " + ch,
		"@batch=h1;msgid=m2 :other!u@h PRIVMSG " + ch + " :hello from a human",
		"@batch=h1;msgid=m3 :crun0!u@h PRIVMSG " + ch + " :" + probeText("crun", ch),
		"@batch=h1;msgid=m4 :crun0!u@h PRIVMSG " + ch + " :" + body{run: "crun", seq: 0, intended: time.Now(), server: 0}.text(40),
		":srv BATCH -h1",
	}
	for _, l := range lines {
		msg, err := ParseMessage(l)
		if err != nil {
			t.Fatal(err)
		}
		r.handle(m, s, msg)
	}
	rd := bufio.NewReader(srv)
	_ = srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []string
	for i := 0; i < 2; i++ {
		l, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("reading client lines: %v (so far %q)", err, got)
		}
		got = append(got, strings.TrimSpace(l))
	}
	want := []string{"CHATHISTORY AFTER " + ch + " msgid=m1 3", "CHATHISTORY AFTER " + ch + " msgid=m4 3"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("client asked %q, want %q", got, want)
	}
	if !m.resuming || r.replayed.Load() != 1 {
		t.Errorf("resuming %v replayed %d, want still resuming and 1 replayed", m.resuming, r.replayed.Load())
	}
	// A short last page ends the resume.
	for _, l := range []string{":srv BATCH +h2 chathistory " + ch, ":srv BATCH -h2"} {
		msg, _ := ParseMessage(l)
		r.handle(m, s, msg)
	}
	if m.resuming || fs.resume.Count() != 1 {
		t.Errorf("resuming %v resume records %d, want done and 1", m.resuming, fs.resume.Count())
	}
}

// discardConn swallows writes; reads report EOF. It lets handlers that
// answer the server run without a socket.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (discardConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (discardConn) Close() error                     { return nil }
func (discardConn) SetDeadline(time.Time) error      { return nil }
func (discardConn) SetReadDeadline(time.Time) error  { return nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzHandleServerLines: no line a server sends may crash a chat client,
// whatever state resume is in.
func FuzzHandleServerLines(f *testing.F) {
	f.Add(":srv BATCH +h1 chathistory #crun-0\n@batch=h1;msgid=m2 :x PRIVMSG #crun-0 :crun 1 5 0\n:srv BATCH -h1\n")
	f.Add("FAIL CHATHISTORY\nPONG\nBATCH\n@batch= PRIVMSG\n:a PRIVMSG #crun-0 :crun 99999999999 -1 -5\n")
	f.Fuzz(func(t *testing.T, data string) {
		cfg, err := FailoverConfig{Steady: SteadyConfig{Servers: []string{"x:1"}, Members: 2, Rate: 10,
			Duration: time.Second, NickPrefix: "crun"}}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		r := newChatRun(cfg.Steady)
		r.fo = &cfg
		r.fs = &failoverState{r: r, fo: &cfg, detect: NewRecorder(), reconnT: NewRecorder(),
			outage: NewRecorder(), resume: NewRecorder(), affected: map[int]bool{}}
		m := r.members[1]
		m.msgids = map[string]bool{}
		s := &session{conn: countingConn{Conn: discardConn{}, io: &IOCount{}}, drops: &Drops{}, timeout: time.Second,
			caps: map[string]bool{"draft/chathistory": true, "batch": true}, isupport: map[string]string{"CHATHISTORY": "2"}}
		r.fs.startResume(m, s, time.Now())
		for _, line := range strings.Split(data, "\n") {
			msg, err := ParseMessage(line)
			if err != nil {
				continue
			}
			r.handle(m, s, msg)
			g := newRegistrar("n", wantedCaps)
			_, _, _ = g.step(msg)
		}
	})
}
