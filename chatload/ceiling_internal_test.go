package chatload

import (
	"testing"
	"time"
)

func TestCeilingJudge(t *testing.T) {
	c := CeilingConfig{MaxErrorRatio: 0.01, MaxP99: 100 * time.Millisecond}
	mk := func(mod func(*StormResult)) *StormResult {
		r := &StormResult{Config: StormConfig{Rate: 100, Conns: 1000, LagWarn: 50 * time.Millisecond}}
		r.Connections.Initiated = 1000
		r.Client.CPUs = 2
		r.Client.CPUUtil = 0.5
		r.StartLag.P99 = 1
		r.Reply.All.P99 = 20
		if mod != nil {
			mod(r)
		}
		return r
	}
	tests := []struct {
		name          string
		r             *StormResult
		held, clientL bool
	}{
		{"healthy", mk(nil), true, false},
		{"errors at the limit hold", mk(func(r *StormResult) { r.Errors.Total = 10 }), true, false},
		{"errors above", mk(func(r *StormResult) { r.Errors.Total = 11 }), false, false},
		{"p99 above", mk(func(r *StormResult) { r.Reply.All.P99 = 101 }), false, false},
		{"fd-unavail is the client", mk(func(r *StormResult) { r.Errors.FdUnavail = 1; r.Errors.Total = 1 }), false, true},
		{"start lag is the client", mk(func(r *StormResult) { r.StartLag.P99 = 80 }), false, true},
		{"client CPU-bound", mk(func(r *StormResult) { r.Client.CPUUtil = 1.9 }), false, true},
	}
	for _, tt := range tests {
		st := c.judge(tt.r)
		if st.Held != tt.held || st.ClientLimited != tt.clientL {
			t.Errorf("%s: held %v client-limited %v (%s), want %v %v", tt.name, st.Held, st.ClientLimited, st.Reason, tt.held, tt.clientL)
		}
		if !st.Held && st.Reason == "" {
			t.Errorf("%s: failed without a reason", tt.name)
		}
	}
}
