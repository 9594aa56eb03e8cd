package chatload

import (
	"strings"
	"time"
)

// registrar is IRC connection registration as a pure state machine: RFC 2812
// §3.1 NICK/USER until RPL_WELCOME (001), with IRCv3 capability negotiation
// (CAP LS 302, multi-line LS replies, REQ, ACK/NAK, END) when capabilities
// are wanted. Feed it each server message; send what it returns.
type registrar struct {
	nick    string
	want    []string
	offered []string
	// Caps are the acknowledged capabilities ("-cap" in an ACK disables).
	Caps map[string]bool
}

func newRegistrar(nick string, want []string) *registrar {
	return &registrar{nick: nick, want: want, Caps: map[string]bool{}}
}

// start returns the opening lines. With capabilities wanted, CAP LS 302
// goes first so the server holds registration until CAP END.
func (g *registrar) start() []Message {
	var msgs []Message
	if len(g.want) > 0 {
		msgs = append(msgs, Message{Command: "CAP", Params: []string{"LS", "302"}})
	}
	return append(msgs,
		Message{Command: "NICK", Params: []string{g.nick}},
		Message{Command: "USER", Params: []string{g.nick, "0", "*", "chatload"}})
}

// step consumes one server message. done is true at 001; err is non-nil
// when the server refused (ERROR, 433 nick in use, 465 banned, ...).
func (g *registrar) step(m Message) (send []Message, done bool, err error) {
	switch {
	case m.Command == "001":
		return nil, true, nil
	case m.Command == "CAP" && m.Param(1) == "LS":
		// CAP * LS * :a b   (more follows)   CAP * LS :c d   (last line)
		g.offered = append(g.offered, strings.Fields(m.Last())...)
		if len(m.Params) > 3 && m.Params[2] == "*" {
			return nil, false, nil
		}
		if req := intersectCaps(g.want, g.offered); len(req) > 0 {
			return []Message{{Command: "CAP", Params: []string{"REQ", strings.Join(req, " ")}}}, false, nil
		}
		return []Message{{Command: "CAP", Params: []string{"END"}}}, false, nil
	case m.Command == "CAP" && (m.Param(1) == "ACK" || m.Param(1) == "NAK"):
		if m.Param(1) == "ACK" {
			for _, c := range strings.Fields(m.Last()) {
				g.Caps[strings.TrimPrefix(c, "-")] = !strings.HasPrefix(c, "-")
			}
		}
		return []Message{{Command: "CAP", Params: []string{"END"}}}, false, nil
	case m.Command == "421" && strings.EqualFold(m.Param(1), "CAP"):
		// A server predating IRCv3 does not know CAP and registers the
		// client on NICK/USER alone: keep waiting for 001.
		return nil, false, nil
	}
	return nil, false, refusal(m)
}

// intersectCaps returns the wanted capabilities the server offers. Offered
// entries may carry values (CAP LS 302: "sasl=PLAIN").
func intersectCaps(want, offered []string) []string {
	have := map[string]bool{}
	for _, o := range offered {
		k, _, _ := strings.Cut(o, "=")
		have[k] = true
	}
	var out []string
	for _, w := range want {
		if have[w] {
			out = append(out, w)
		}
	}
	return out
}

// register runs the registrar over the connection and returns the time
// from sending the first registration byte to 001 (the reply time).
func (s *session) register(nick string, want []string) (time.Duration, error) {
	s.nick = nick
	g := newRegistrar(nick, want)
	start := time.Now()
	if err := s.write(g.start()...); err != nil {
		return 0, &phaseError{Phase: PhaseRegister, Err: err}
	}
	deadline := start.Add(s.timeout)
	for {
		m, err := s.read(deadline)
		if err != nil {
			return 0, &phaseError{Phase: PhaseRegister, Err: err}
		}
		send, done, err := g.step(m)
		if err != nil {
			return 0, &phaseError{Phase: PhaseRegister, Err: err}
		}
		if done {
			s.caps = g.Caps
			return time.Since(start), nil
		}
		if len(send) > 0 {
			if err := s.write(send...); err != nil {
				return 0, &phaseError{Phase: PhaseRegister, Err: err}
			}
		}
	}
}
