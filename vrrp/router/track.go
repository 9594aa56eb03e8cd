package router

import "fmt"

// TrackResult is the current verdict of one tracker (an interface, a
// script, a file) on one instance. Trackers compute Delta and Fault with the
// keepalived rules (keepalived.conf(5), track_interface/track_script/
// track_file):
//
//   - interface and script, weight w > 0: +w while up, 0 while down;
//   - weight w < 0: 0 while up, w (a decrease) while down;
//   - weight 0: fault while down;
//   - file with value v: v × w, and with weight 0 any v ≠ 0 is a fault.
type TrackResult struct {
	Key    string `json:"key"` // unique per instance: "interface:eth1", "script:chk", "file:/run/x"
	Up     bool   `json:"up"`
	Delta  int    `json:"delta"`
	Fault  bool   `json:"fault"`
	Detail string `json:"detail,omitempty"` // human-readable state for vrrpctl status
}

// WeightedResult is the result of an up/down tracker with the given weight.
func WeightedResult(key string, weight int, up bool, detail string) TrackResult {
	r := TrackResult{Key: key, Up: up, Detail: detail}
	switch {
	case weight == 0:
		r.Fault = !up
	case weight > 0 && up:
		r.Delta = weight
	case weight < 0 && !up:
		r.Delta = weight
	}
	return r
}

// FileResult is the result of a tracked file holding value.
func FileResult(key string, weight, value int, detail string) TrackResult {
	r := TrackResult{Key: key, Up: value == 0, Detail: detail}
	if weight == 0 {
		r.Fault = value != 0
	} else {
		r.Delta = value * weight
	}
	return r
}

// Effective combines the configured priority with the tracker results: the
// sum of the deltas is added and the result clamped to [1,254]; the address
// owner (255) is never moved by weights (an owner is the owner). Any fault
// result faults the instance. why explains the result for status displays.
func Effective(base uint8, results []TrackResult) (prio uint8, fault bool, why string) {
	sum := 0
	var faults []string
	for _, r := range results {
		sum += r.Delta
		if r.Fault {
			faults = append(faults, r.Key)
		}
	}
	if len(faults) > 0 {
		fault = true
		why = fmt.Sprintf("fault: %v", faults)
	}
	if base == 255 {
		return 255, fault, why
	}
	p := int(base) + sum
	p = min(max(p, 1), 254)
	return uint8(p), fault, why
}
