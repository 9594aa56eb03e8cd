package chatd

import (
	"sync"
	"time"
)

// logEvery bounds per-client warnings (a database outage fails every
// client's commands at once): one line per message per interval, with the
// number suppressed since the last one.
const logEvery = time.Second

type rateLog struct {
	mu   sync.Mutex
	last map[string]time.Time
	skip map[string]int
}

// warnLimited logs msg at Warn at most once per logEvery.
func (s *Server) warnLimited(msg string, args ...any) {
	rl := &s.rlog
	now := time.Now()
	rl.mu.Lock()
	if rl.last == nil {
		rl.last, rl.skip = make(map[string]time.Time), make(map[string]int)
	}
	if now.Sub(rl.last[msg]) < logEvery {
		rl.skip[msg]++
		rl.mu.Unlock()
		return
	}
	skipped := rl.skip[msg]
	rl.last[msg], rl.skip[msg] = now, 0
	rl.mu.Unlock()
	if skipped > 0 {
		args = append(args, "suppressed", skipped)
	}
	s.log.Warn(msg, args...)
}
