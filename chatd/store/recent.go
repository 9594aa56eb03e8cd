package store

import (
	"maps"
	"slices"
	"sync"
	"unicode/utf8"
)

// recentEvents holds copies of the events this Store committed last, by log position, so that Tail
// can hand a node's own events to its tailer without reading back what it has just written (a
// registration storm on SQLite spent a tenth of chatd's CPU in that read).
//
// Why this keeps Tail's contract (doc.go): an event enters only after its transaction committed, with
// the position the counter gave it, and positions are unique; so the event at position p in the ring
// is the row at position p. Tail serves from the ring only a run after+1, after+2, ... with no
// position missing, and only if the run ends past everything this Store committed; if it stops below
// one of its own positions (another node's event came between, or one was not kept), Tail reads the
// database from the cursor as before. It therefore returns rows it would have read, in order, and the
// next call resumes after the last: nothing skipped, nothing repeated. Positions above the run that
// other nodes commit are read when their nudge (or the poll) wakes the tailer, as without the ring.
//
// A copy is what the database would return: time in milliseconds, UTC; empty Params and Tags nil. An
// event whose Params or Tags hold invalid UTF-8 (JSON would replace it) is left out, so Tail reads it.
type recentEvents struct {
	mu    sync.Mutex
	slots [recentSize]Event // slot p % recentSize; Seq 0 is empty
	max   int64             // the highest position added
}

// recentSize bounds the ring: a tailer more than this far behind reads the database.
const recentSize = 1024

// add records committed events (Seq set).
func (r *recentEvents) add(evs []*Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range evs {
		r.max = max(r.max, ev.Seq)
		slot := &r.slots[ev.Seq%recentSize]
		if ev.Seq <= 0 || !jsonExact(ev) {
			slot.Seq = 0
			continue
		}
		*slot = copyAsStored(ev)
	}
}

// after returns up to limit events at after+1, after+2, ... as long as the ring holds each; whole
// is false when the run stops at a position below one this Store committed (another node's event, or
// one not kept), which only the database has.
func (r *recentEvents) after(after int64, limit int) (evs []Event, whole bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for p := after + 1; len(out) < limit; p++ {
		slot := &r.slots[p%recentSize]
		if slot.Seq != p {
			break
		}
		ev := *slot
		// Callers own what Tail returns: copy the reference types.
		ev.Params = slices.Clone(ev.Params)
		ev.Tags = maps.Clone(ev.Tags)
		out = append(out, ev)
	}
	return out, len(out) == limit || after+int64(len(out)) >= r.max
}

func copyAsStored(ev *Event) Event {
	c := *ev
	c.Time = fromMS(ms(ev.Time))
	c.Params, c.Tags = nil, nil
	if len(ev.Params) > 0 {
		c.Params = slices.Clone(ev.Params)
	}
	if len(ev.Tags) > 0 {
		c.Tags = maps.Clone(ev.Tags)
	}
	return c
}

// jsonExact reports whether Params and Tags survive their JSON column unchanged.
func jsonExact(ev *Event) bool {
	for _, p := range ev.Params {
		if !utf8.ValidString(p) {
			return false
		}
	}
	for k, v := range ev.Tags {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return false
		}
	}
	return true
}
