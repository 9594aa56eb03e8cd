package chatload

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// bitset marks message sequence numbers; it grows on demand.
type bitset []uint64

func (b *bitset) set(i int64) {
	w := int(i / 64)
	for len(*b) <= w {
		*b = append(*b, 0)
	}
	(*b)[w] |= 1 << uint(i%64)
}

func (b bitset) clear(i int64) {
	if w := int(i / 64); w < len(b) {
		b[w] &^= 1 << uint(i%64)
	}
}

func (b bitset) has(i int64) bool {
	w := int(i / 64)
	return w < len(b) && b[w]&(1<<uint(i%64)) != 0
}

func (b bitset) count() int64 {
	var n int64
	for _, w := range b {
		for ; w != 0; w &= w - 1 {
			n++
		}
	}
	return n
}

// body is what chatload puts in a PRIVMSG of the steady and failover runs:
// "<run> <seq> <intended unix ns> <sender's server index> <padding>". The
// intended send time travels with the message, so every receiver measures
// fan-out latency from it (one clock: all clients run in this process).
type body struct {
	run      string
	seq      int64
	intended time.Time
	server   int
}

func (b body) text(size int) string {
	return messageText(fmt.Sprintf("%s %d %d %d", b.run, b.seq, b.intended.UnixNano(), b.server), size)
}

// parseBody reads a body of run; ok is false for foreign or malformed text,
// such as history left in a channel by an earlier run.
func parseBody(run, text string) (body, bool) {
	f := strings.SplitN(text, " ", 5)
	if len(f) < 4 || f[0] != run {
		return body{}, false
	}
	seq, err1 := strconv.ParseInt(f[1], 10, 64)
	ns, err2 := strconv.ParseInt(f[2], 10, 64)
	srv, err3 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil || err3 != nil || seq < 0 {
		return body{}, false
	}
	return body{run: run, seq: seq, intended: time.Unix(0, ns), server: srv}, true
}

// probeText is the barrier message: once every member has seen its
// channel's probe, memberships have propagated across nodes.
func probeText(run, channel string) string { return run + " probe " + channel }
