package router

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/vrrp"
)

// DropQueueFull is counted when an instance's receive queue is full: its
// loop is starved, and the advert is lost as if the network had lost it.
const DropQueueFull vrrp.DropReason = "receive_queue_full"

// AllDropReasons is DropReasons plus the reasons only the runtime produces.
var AllDropReasons = append(append([]vrrp.DropReason(nil), vrrp.DropReasons...), DropQueueFull)

// InstanceDropReasons are the reasons an Instance counts itself (in
// Deliver and its loop); the rest are counted by the Demux of the interface.
var InstanceDropReasons = []vrrp.DropReason{vrrp.DropUnknownPeer, vrrp.DropLocalEcho, DropQueueFull,
	vrrp.DropChecksumForm, vrrp.DropVersionMismatch, vrrp.DropIntervalMismatch, vrrp.DropV2Duplicate,
	vrrp.DropAuthType, vrrp.DropAuthPassword}

// dropIndex maps a reason to its slot in DropCounts.
var dropIndex = func() map[vrrp.DropReason]int {
	m := make(map[vrrp.DropReason]int, len(AllDropReasons))
	for i, r := range AllDropReasons {
		m[r] = i
	}
	return m
}()

// DropCounts counts dropped packets by reason without locks or allocation,
// so the receive path can count at any rate.
type DropCounts struct {
	n [32]atomic.Uint64
}

// Add counts one drop of reason r. Unknown reasons are not counted: every
// reason the code produces is in AllDropReasons, and a test checks it.
func (d *DropCounts) Add(r vrrp.DropReason) {
	if i, ok := dropIndex[r]; ok {
		d.n[i].Add(1)
	}
}

// AddErr counts err if it is a *DropError and reports whether it was.
func (d *DropCounts) AddErr(err error) (vrrp.DropReason, bool) {
	var de *vrrp.DropError
	if !errors.As(err, &de) {
		return "", false
	}
	d.Add(de.Reason)
	return de.Reason, true
}

// Get returns the count for r.
func (d *DropCounts) Get(r vrrp.DropReason) uint64 {
	if i, ok := dropIndex[r]; ok {
		return d.n[i].Load()
	}
	return 0
}

// Snapshot returns the non-zero counts.
func (d *DropCounts) Snapshot() map[vrrp.DropReason]uint64 {
	m := map[vrrp.DropReason]uint64{}
	for i, r := range AllDropReasons {
		if v := d.n[i].Load(); v > 0 {
			m[r] = v
		}
	}
	return m
}

// dropLog logs refused packets at debug level, at most one line per reason
// every dropLogEvery, with how many were not logged since: a flood of bad
// packets must not turn into a flood of log lines. Safe for concurrent use.
type dropLog struct {
	log  *slog.Logger
	mu   sync.Mutex
	last map[vrrp.DropReason]time.Time
	skip map[vrrp.DropReason]uint64
}

const dropLogEvery = 5 * time.Second

// note logs one drop of reason r if the logger takes debug lines and the
// reason was not logged within dropLogEvery before now.
func (l *dropLog) note(now time.Time, r vrrp.DropReason, attrs ...any) {
	if l == nil || l.log == nil || !l.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	l.mu.Lock()
	if l.last == nil {
		l.last, l.skip = map[vrrp.DropReason]time.Time{}, map[vrrp.DropReason]uint64{}
	}
	if t, ok := l.last[r]; ok && now.Sub(t) < dropLogEvery {
		l.skip[r]++
		l.mu.Unlock()
		return
	}
	skipped := l.skip[r]
	l.last[r], l.skip[r] = now, 0
	l.mu.Unlock()
	l.log.Debug("vrrp advert dropped (one line per reason every 5s)",
		append([]any{"reason", string(r), "not_logged_since", skipped}, attrs...)...)
}
