package chatd

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// BenchmarkChannelMessage measures one PRIVMSG into a channel of 100
// members on an in-memory SQLite node, from send to the sender's echo (which
// the tailer emits together with every member's copy). Members drain their
// sockets in the background.
func BenchmarkChannelMessage(b *testing.B) {
	for _, members := range []int{10, 100} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			n := startNode(b, testConfig(""), nil)
			for i := range members - 1 {
				c := dial(b, n.Addr(), "m")
				c.register(fmt.Sprintf("m%d", i))
				c.join("#bench")
				go func() { _, _ = io.Copy(io.Discard, c.conn) }()
			}
			s := dial(b, n.Addr(), "s")
			s.register("sender", "echo-message")
			s.join("#bench")
			r := bufio.NewReader(s.conn)
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				s.send("PRIVMSG #bench :message %d", i)
				for {
					_ = s.conn.SetReadDeadline(time.Now().Add(testTimeout))
					line, err := r.ReadString('\n')
					if err != nil {
						b.Fatal(err)
					}
					if strings.Contains(line, " PRIVMSG #bench ") {
						break
					}
				}
			}
			b.ReportMetric(float64(b.N*members)/time.Since(start).Seconds(), "deliveries/s")
		})
	}
}
