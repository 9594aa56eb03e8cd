package router

import "sync"

// TrackHub fans tracker states out to the instances that track them. A
// tracker is named by a key ("interface:eth1", "script:chk", "file:/run/x")
// and shared: one script runs once however many instances track it, each
// with its own weight.
type TrackHub struct {
	mu    sync.Mutex
	subs  map[string][]trackSub
	state map[string]trackState
}

type trackSub struct {
	in     *Instance
	weight int
	file   bool
}

type trackState struct {
	up     bool
	value  int
	detail string
}

// NewTrackHub returns an empty hub.
func NewTrackHub() *TrackHub {
	return &TrackHub{subs: map[string][]trackSub{}, state: map[string]trackState{}}
}

// Subscribe makes in track key with weight. file selects the file rule
// (value × weight) instead of the up/down rule. A known state is pushed at
// once.
func (h *TrackHub) Subscribe(key string, in *Instance, weight int, file bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := trackSub{in, weight, file}
	h.subs[key] = append(h.subs[key], s)
	if st, ok := h.state[key]; ok {
		in.SetTrack(s.result(key, st))
	}
}

// Unsubscribe removes every subscription of in, and their results from in.
func (h *TrackHub) Unsubscribe(in *Instance) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, l := range h.subs {
		out := l[:0]
		for _, s := range l {
			if s.in != in {
				out = append(out, s)
			} else {
				in.RemoveTrack(k)
			}
		}
		if len(out) == 0 {
			delete(h.subs, k)
		} else {
			h.subs[k] = out
		}
	}
}

// Keys returns the keys somebody tracks.
func (h *TrackHub) Keys() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ks []string
	for k := range h.subs {
		ks = append(ks, k)
	}
	return ks
}

// Unknown returns the tracked keys with the given prefix that have no
// state yet (an interface that does not exist sends no link updates).
func (h *TrackHub) Unknown(prefix string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ks []string
	for k := range h.subs {
		if _, ok := h.state[k]; !ok && len(k) > len(prefix) && k[:len(prefix)] == prefix {
			ks = append(ks, k)
		}
	}
	return ks
}

// SetUp records an up/down tracker state.
func (h *TrackHub) SetUp(key string, up bool, detail string) {
	v := 0
	if !up {
		v = 1
	}
	h.set(key, trackState{up: up, value: v, detail: detail})
}

// SetValue records a file tracker value.
func (h *TrackHub) SetValue(key string, value int, detail string) {
	h.set(key, trackState{up: value == 0, value: value, detail: detail})
}

func (h *TrackHub) set(key string, st trackState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if old, ok := h.state[key]; ok && old == st {
		return
	}
	h.state[key] = st
	for _, s := range h.subs[key] {
		s.in.SetTrack(s.result(key, st))
	}
}

func (s trackSub) result(key string, st trackState) TrackResult {
	if s.file {
		return FileResult(key, s.weight, st.value, st.detail)
	}
	return WeightedResult(key, s.weight, st.up, st.detail)
}

// Key helpers.
func InterfaceKey(name string) string { return "interface:" + name }
func ScriptKey(name string) string    { return "script:" + name }
func FileKey(path string) string      { return "file:" + path }

func describeUp(up bool) string {
	if up {
		return "up"
	}
	return "down"
}
