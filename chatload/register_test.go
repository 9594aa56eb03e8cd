package chatload

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRegistrarSteps feeds server lines and checks the client's answers,
// clause by clause of RFC 2812 §3.1 and the IRCv3 capability negotiation.
func TestRegistrarSteps(t *testing.T) {
	type step struct {
		in   string
		send []string
		done bool
		err  error
	}
	tests := []struct {
		name     string
		want     []string
		start    []string
		steps    []step
		wantCaps map[string]bool
	}{
		{
			name:  "RFC 2812 3.1 without capabilities",
			start: []string{"NICK n", "USER n 0 * chatload"},
			steps: []step{
				{in: ":s NOTICE * :*** Looking up your hostname"},
				{in: ":s 001 n :Welcome", done: true},
			},
			wantCaps: map[string]bool{},
		},
		{
			name:  "CAP LS 302 multi-line, REQ the intersection, ACK, END",
			want:  []string{"echo-message", "draft/chathistory", "batch"},
			start: []string{"CAP LS 302", "NICK n", "USER n 0 * chatload"},
			steps: []step{
				{in: ":s CAP * LS * :multi-prefix sasl=PLAIN,EXTERNAL"},
				{in: ":s CAP * LS :echo-message batch", send: []string{"CAP REQ :echo-message batch"}},
				{in: ":s CAP * ACK :echo-message batch", send: []string{"CAP END"}},
				{in: ":s 001 n :Welcome", done: true},
			},
			wantCaps: map[string]bool{"echo-message": true, "batch": true},
		},
		{
			name:  "server offers none of them: END at once",
			want:  []string{"echo-message"},
			start: []string{"CAP LS 302", "NICK n", "USER n 0 * chatload"},
			steps: []step{
				{in: ":s CAP * LS :multi-prefix", send: []string{"CAP END"}},
				{in: ":s 001 n :Welcome", done: true},
			},
			wantCaps: map[string]bool{},
		},
		{
			name:  "NAK still ends negotiation",
			want:  []string{"echo-message"},
			start: []string{"CAP LS 302", "NICK n", "USER n 0 * chatload"},
			steps: []step{
				{in: ":s CAP * LS :echo-message", send: []string{"CAP REQ echo-message"}},
				{in: ":s CAP * NAK :echo-message", send: []string{"CAP END"}},
				{in: ":s 001 n :Welcome", done: true},
			},
			wantCaps: map[string]bool{},
		},
		{
			name:  "server without CAP answers 421 and registers anyway",
			want:  []string{"echo-message"},
			start: []string{"CAP LS 302", "NICK n", "USER n 0 * chatload"},
			steps: []step{
				{in: ":s 421 n CAP :Unknown command"},
				{in: ":s 001 n :Welcome", done: true},
			},
			wantCaps: map[string]bool{},
		},
		{
			name:  "other unknown commands are refusals",
			start: []string{"NICK n", "USER n 0 * chatload"},
			steps: []step{
				{in: ":s 421 n FOO :Unknown command", err: ErrServerRefused},
			},
			wantCaps: map[string]bool{},
		},
		{
			name:  "nick in use is a refusal",
			start: []string{"NICK n", "USER n 0 * chatload"},
			steps: []step{
				{in: ":s 433 * n :Nickname is already in use", err: ErrServerRefused},
			},
			wantCaps: map[string]bool{},
		},
	}
	str := func(ms []Message) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.String())
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newRegistrar("n", tt.want)
			if diff := cmp.Diff(tt.start, str(g.start())); diff != "" {
				t.Errorf("start (-want +got):\n%s", diff)
			}
			for i, st := range tt.steps {
				m, err := ParseMessage(st.in)
				if err != nil {
					t.Fatal(err)
				}
				send, done, err := g.step(m)
				if !errors.Is(err, st.err) || done != st.done {
					t.Fatalf("step %d %q: done %v err %v, want %v %v", i, st.in, done, err, st.done, st.err)
				}
				if diff := cmp.Diff(st.send, str(send)); diff != "" {
					t.Errorf("step %d %q sends (-want +got):\n%s", i, st.in, diff)
				}
			}
			if diff := cmp.Diff(tt.wantCaps, g.Caps); diff != "" {
				t.Errorf("caps (-want +got):\n%s", diff)
			}
		})
	}
}
