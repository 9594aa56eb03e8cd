package chatload_test

import (
	"context"
	"testing"
	"time"

	"github.com/hachat/hachat/chatload"
	"github.com/hachat/hachat/chatload/fakeirc"
)

// BenchmarkStormLoopback measures how many connections per second chatload
// can drive on loopback against the in-process fake server: each does CAP
// negotiation, registration, one echoed PRIVMSG and QUIT. The fake shares
// the CPU, so this is a floor for chatload's own capacity; the offered rate
// is far above what is achieved, so the figure is the achieved conn/s.
func BenchmarkStormLoopback(b *testing.B) {
	for _, tc := range []struct {
		name     string
		messages int
		noCaps   bool
	}{
		{"register+1msg+quit", 1, false},
		{"register+quit,nocaps", 0, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			nd, err := fakeirc.New(fakeirc.Normal)
			if err != nil {
				b.Fatal(err)
			}
			defer nd.Kill()
			b.ResetTimer()
			res, err := chatload.RunStorm(context.Background(), chatload.StormConfig{
				Servers: []string{nd.Addr()}, Conns: b.N, Rate: 1e6, Messages: tc.messages, NoCaps: tc.noCaps,
				Timeout: 10 * time.Second, MaxOpen: 512,
			})
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if res.Errors.Total != 0 {
				b.Fatalf("errors %+v %v", res.Errors, res.ErrorSamples)
			}
			b.ReportMetric(res.ConnRate, "conn/s")
			b.ReportMetric(res.Reply.All.P99, "p99-reply-ms")
			b.ReportMetric(100*res.Client.CPUUtil, "cpu%")
		})
	}
}

func BenchmarkRecorderRecord(b *testing.B) {
	r := chatload.NewRecorder()
	for i := 0; i < b.N; i++ {
		r.Record(time.Duration(i%5000) * time.Microsecond)
	}
}

func BenchmarkParseMessage(b *testing.B) {
	line := "@batch=h1;msgid=m123;time=2026-11-27T07:00:00.000Z :cabc1!cabc1@fake PRIVMSG #cabc-0 :cabc 42 1764226800000000000 0 xxxxxxxxxxxxxxxx\r\n"
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := chatload.ParseMessage(line); err != nil {
			b.Fatal(err)
		}
	}
}
