package chatload

import (
	"bufio"
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
