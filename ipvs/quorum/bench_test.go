package quorum_test

import (
	"fmt"
	"testing"

	"github.com/hachat/hachat/ipvs/quorum"
)

func BenchmarkEffective(b *testing.B) {
	vs := quorum.VirtualService{Quorum: 10, Hysteresis: 2, Sorry: &quorum.SorryServer{ID: "sorry"}}
	for i := range 64 {
		vs.Servers = append(vs.Servers, quorum.RealServer{ID: fmt.Sprint(i), Weight: 1, Up: i%3 != 0, Inhibit: i%2 == 0})
	}
	for b.Loop() {
		quorum.Effective(vs, quorum.Held)
	}
}
