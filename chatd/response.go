package chatd

import (
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/chatd/caps"
	"github.com/hachat/hachat/chatd/irc"
)

// capSet is a client's negotiated IRCv3 capabilities; the table lives in
// the leaf package caps, these names keep the server's code short.
type capSet = caps.Set

const (
	capServerTime          = caps.ServerTime
	capMessageTags         = caps.MessageTags
	capBatch               = caps.Batch
	capEchoMessage         = caps.EchoMessage
	capLabeledResponse     = caps.LabeledResponse
	capSASL                = caps.SASL
	capChathistory         = caps.Chathistory
	capAccountRegistration = caps.AccountRegistration
	capAccountTag          = caps.AccountTag
	capCapNotify           = caps.CapNotify
	capMultiPrefix         = caps.MultiPrefix
	capUserhostInNames     = caps.UserhostInNames
	capAwayNotify          = caps.AwayNotify
	capAccountNotify       = caps.AccountNotify
	capExtendedJoin        = caps.ExtendedJoin
	capChghost             = caps.Chghost
	capSetname             = caps.Setname
	capInviteNotify        = caps.InviteNotify
	capStandardReplies     = caps.StandardReplies
	capExtendedMonitor     = caps.ExtendedMonitor
)

// renderCaps are the capabilities that change how a broadcast is rendered.
const renderCaps = caps.Render

// response collects the replies to one command so labeled-response can wrap
// them (IRCv3 labeled-response: one reply carries the label, several go in a
// labeled-response BATCH, none yields ACK).
type response struct {
	c      *Client
	label  string
	msgs   []irc.Message
	sent   atomic.Bool // the hook (tailer) and the handler may both flush
	queued int         // lines queued by flush, for yielding
	// pace, if set, is charged the bytes queued every yieldLines lines and
	// may wait (CHATHISTORY: the node's history byte rate).
	pace    func(n int)
	pending int // bytes queued since pace was last charged
}

// yieldLines is how many reply lines a command renders and queues before
// it yields its core. A long reply (a CHATHISTORY page of 1000, the NAMES
// of a big channel) is CPU-bound and never blocks; without yielding, the
// goroutines it readies (the client's writer, the tailer, other clients'
// writers with live messages) wait in its core's run queue until the
// scheduler preempts it, up to 10 ms. Yielding every few dozen lines lets
// live delivery in between at the cost of a scheduler round trip.
const yieldLines = 64

// sendLine renders and queues one reply line, yielding (or pacing) every
// yieldLines.
func (r *response) sendLine(m irc.Message) {
	b, err := m.Bytes()
	if err != nil {
		return
	}
	r.c.sendReply(b)
	r.queued++
	r.pending += len(b)
	if r.queued%yieldLines == 0 {
		r.charge()
		runtime.Gosched()
	}
}

// charge passes the bytes queued since the last charge to pace.
func (r *response) charge() {
	if r.pace != nil && r.pending > 0 {
		r.pace(r.pending)
	}
	r.pending = 0
}

func (c *Client) newResponse(m irc.Message) *response {
	r := &response{c: c}
	if c.hasCap(capLabeledResponse) {
		r.label, _ = m.Tag("label")
	}
	return r
}

func (r *response) add(m irc.Message) { r.msgs = append(r.msgs, m) }

func (r *response) numeric(code string, params ...string) {
	r.add(r.c.s.numeric(r.c, code, params...))
}

func (r *response) fail(command, code string, params ...string) {
	r.add(r.c.s.serverMsg("FAIL", append([]string{command, code}, params...)...))
}

var batchSeq atomic.Uint64

func newBatchID() string { return "b" + strconv.FormatUint(batchSeq.Add(1), 36) }

// flush sends the collected replies once.
func (r *response) flush() {
	if r.sent.Swap(true) {
		return
	}
	defer r.charge()
	c := r.c
	if r.label == "" {
		for i := range r.msgs {
			r.sendLine(r.msgs[i])
		}
		return
	}
	switch len(r.msgs) {
	case 0:
		ack := c.s.serverMsg("ACK")
		ack.Tags = []irc.Tag{{Key: "label", Value: r.label}}
		r.sendLine(ack)
	case 1:
		m := r.msgs[0]
		m.Tags = append([]irc.Tag{{Key: "label", Value: r.label}}, m.Tags...)
		r.sendLine(m)
	default:
		if oneBatch(r.msgs) {
			// The reply is one batch already (a multiline echo): the
			// label goes on its start, as on a single reply.
			r.msgs[0].Tags = append([]irc.Tag{{Key: "label", Value: r.label}}, r.msgs[0].Tags...)
			for i := range r.msgs {
				r.sendLine(r.msgs[i])
			}
			return
		}
		if !c.hasCap(capBatch) {
			// labeled-response without batch: only the first line can
			// carry the label.
			m := r.msgs[0]
			m.Tags = append([]irc.Tag{{Key: "label", Value: r.label}}, m.Tags...)
			r.sendLine(m)
			for i := 1; i < len(r.msgs); i++ {
				r.sendLine(r.msgs[i])
			}
			return
		}
		id := newBatchID()
		start := c.s.serverMsg("BATCH", "+"+id, "labeled-response")
		start.Tags = []irc.Tag{{Key: "label", Value: r.label}}
		r.sendLine(start)
		for _, m := range r.msgs {
			if _, inner := m.Tag("batch"); !inner {
				m.Tags = append([]irc.Tag{{Key: "batch", Value: id}}, m.Tags...)
			}
			r.sendLine(m)
		}
		r.sendLine(c.s.serverMsg("BATCH", "-"+id))
	}
}

// oneBatch reports whether msgs are exactly one batch: BATCH +id first,
// BATCH -id last, everything between inside it (or in a batch nested in it).
func oneBatch(msgs []irc.Message) bool {
	first, last := msgs[0], msgs[len(msgs)-1]
	if first.Command != "BATCH" || last.Command != "BATCH" || len(first.Param(0)) < 2 || first.Param(0)[0] != '+' {
		return false
	}
	id := first.Param(0)[1:]
	if last.Param(0) != "-"+id {
		return false
	}
	open := map[string]bool{id: true}
	for _, m := range msgs[1 : len(msgs)-1] {
		if b, _ := m.Tag("batch"); !open[b] {
			return false
		}
		if m.Command == "BATCH" && strings.HasPrefix(m.Param(0), "+") {
			open[m.Param(0)[1:]] = true
		}
	}
	return true
}

// serverMsg is a message from the server itself.
func (s *Server) serverMsg(command string, params ...string) irc.Message {
	return irc.Message{Source: s.cfg.ServerName, Command: command, Params: params}
}

// numeric is a numeric reply addressed to c (its nick, or "*" before NICK).
func (s *Server) numeric(c *Client, code string, params ...string) irc.Message {
	return irc.Message{Source: s.cfg.ServerName, Command: code, Params: append([]string{c.nickOrStar()}, params...)}
}

// serverTime formats t as IRCv3 server-time (ISO 8601 UTC, milliseconds).
func serverTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
