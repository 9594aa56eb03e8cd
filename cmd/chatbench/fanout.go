package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// receiver reads a connection, timing every stamped PRIVMSG.
type receiver struct {
	own   []byte        // "nick!" prefix of this connection's own messages
	echo  chan struct{} // signalled on each own message (closed-loop senders)
	mu    sync.Mutex
	hist  *hdrhistogram.Histogram // microseconds
	seen  map[int64]struct{}      // stamp sequence numbers, to count duplicates (crossnode)
	dups  atomic.Int64
	count atomic.Int64
	on    atomic.Bool // record only inside the measurement window
}

func newReceiver() *receiver {
	return &receiver{hist: hdrhistogram.New(1, 60_000_000, 3)}
}

// stamp is the message text: the send time in Unix nanoseconds.
// A global sequence number after the time makes every stamp unique, so
// duplicates are counted exactly: "t=<unix ns>.<seq>".
func stamp() string {
	return "t=" + strconv.FormatInt(time.Now().UnixNano(), 10) + "." + strconv.FormatInt(stampSeq.Add(1), 10)
}

var stampSeq atomic.Int64

func (rc *receiver) read(c *ircConn) {
	r := bufio.NewReaderSize(c.conn, 16<<10)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			if err == bufio.ErrBufferFull {
				continue
			}
			return
		}
		if bytes.HasPrefix(line, []byte("PING")) {
			_, _ = c.conn.Write(append([]byte("PONG"), line[4:]...))
			continue
		}
		// The stamp is a single word, so it is serialized without ':'.
		i := bytes.LastIndex(line, []byte(" t="))
		if i < 0 || !bytes.Contains(line[:i], []byte(" PRIVMSG ")) {
			continue
		}
		if rc.echo != nil && bytes.HasPrefix(line, rc.own) {
			select {
			case rc.echo <- struct{}{}:
			default:
			}
		}
		if !rc.on.Load() {
			continue
		}
		tok := bytes.TrimSpace(line[i+3:])
		nsPart, seqPart, _ := bytes.Cut(tok, []byte("."))
		ns, err := strconv.ParseInt(string(nsPart), 10, 64)
		if err != nil {
			continue
		}
		lat := time.Since(time.Unix(0, ns))
		rc.count.Add(1)
		rc.mu.Lock()
		if rc.seen != nil {
			seq, _ := strconv.ParseInt(string(seqPart), 10, 64)
			if _, dup := rc.seen[seq]; dup {
				rc.dups.Add(1)
			}
			rc.seen[seq] = struct{}{}
		}
		_ = rc.hist.RecordValue(lat.Microseconds())
		rc.mu.Unlock()
	}
}

func merge(rs []*receiver) (*hdrhistogram.Histogram, int64) {
	h := hdrhistogram.New(1, 60_000_000, 3)
	var n int64
	for _, r := range rs {
		r.mu.Lock()
		h.Merge(r.hist)
		r.mu.Unlock()
		n += r.count.Load()
	}
	return h, n
}

func ms(us int64) string { return fmt.Sprintf("%.2f ms", float64(us)/1000) }

// sendLoop sends stamped messages, paced to rate, until stop. With rate 0
// and echo set it is closed-loop: the next message goes when the server has
// echoed the previous one (echo-message), so the offered load adapts to what
// the server sustains and latency stays meaningful.
func sendLoop(c *ircConn, target string, rate float64, stop *atomic.Bool, sent *atomic.Int64, echo chan struct{}) {
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	next := time.Now()
	for !stop.Load() {
		if interval > 0 {
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			next = next.Add(interval)
		}
		if _, err := c.conn.Write([]byte("PRIVMSG " + target + " :" + stamp() + "\r\n")); err != nil {
			return
		}
		sent.Add(1)
		if rate <= 0 && echo != nil {
			select {
			case <-echo:
			case <-time.After(10 * time.Second):
				return
			}
		}
	}
}

// benchFanout measures deliveries per second into one channel of members
// members, senders of which send.
func benchFanout(members, senders int, rate float64, d time.Duration, dsn string, poll time.Duration) error {
	cfg := benchConfig("fan")
	cfg.DSN = dsn
	cfg.Timers.TailPoll = poll
	srv, err := startServer(cfg)
	if err != nil {
		return err
	}
	defer srv.stop()
	conns := make([]*ircConn, members)
	rs := make([]*receiver, members)
	for i := range conns {
		caps := ""
		if i < senders {
			caps = "echo-message"
		}
		c, err := dialIRC(srv.addr, i, fmt.Sprintf("m%d", i), caps)
		if err != nil {
			return err
		}
		if err := c.join("#fan"); err != nil {
			return err
		}
		conns[i] = c
		rs[i] = newReceiver()
		if i < senders {
			rs[i].own, rs[i].echo = []byte(":"+c.nick+"!"), make(chan struct{}, 1)
		}
		go rs[i].read(c)
	}
	fmt.Printf("%d members joined #fan; %d senders, rate %s\n", members, senders, rateString(rate))
	var stop atomic.Bool
	var sent atomic.Int64
	for i := range senders {
		go sendLoop(conns[i], "#fan", rate/float64(senders), &stop, &sent, rs[i].echo)
	}
	time.Sleep(time.Second) // warm-up
	startDeliv := metric(srv.http, "chatd_deliveries_total")
	cpu0 := cpuSeconds(srv.cmd.Process.Pid)
	gen0 := cpuSeconds(os.Getpid())
	st0 := stageTimes(srv.http)
	for _, r := range rs {
		r.on.Store(true)
	}
	sent0 := sent.Load()
	start := time.Now()
	time.Sleep(d)
	for _, r := range rs {
		r.on.Store(false)
	}
	el := time.Since(start)
	endDeliv := metric(srv.http, "chatd_deliveries_total")
	cpu := cpuSeconds(srv.cmd.Process.Pid) - cpu0
	gen := cpuSeconds(os.Getpid()) - gen0
	st := stageTimes(srv.http).minus(st0)
	sentN := sent.Load() - sent0
	stop.Store(true)
	h, n := merge(rs)
	fmt.Printf("messages sent: %d (%.0f/s)\n", sentN, float64(sentN)/el.Seconds())
	fmt.Printf("deliveries received: %d (%.0f/s); server queued %.0f/s\n", n, float64(n)/el.Seconds(), (endDeliv-startDeliv)/el.Seconds())
	fmt.Printf("server CPU: %.2f cores, %.2f µs per delivery; load generator CPU %.2f cores; load average %s\n", cpu/el.Seconds(),
		cpu/(endDeliv-startDeliv)*1e6, gen/el.Seconds(), loadAvg())
	fmt.Printf("server stages (means): log append %s, commit-to-apply %s\n", st.appendMean(), st.lagMean())
	fmt.Printf("send-to-receive latency: p50 %s, p90 %s, p99 %s, max %s\n",
		ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(90)), ms(h.ValueAtQuantile(99)), ms(h.Max()))
	for _, l := range metricLines(srv.http, "chatd_disconnects_total") {
		fmt.Println("server:", l)
	}
	for _, c := range conns {
		c.conn.Close()
	}
	return nil
}

func rateString(r float64) string {
	if r <= 0 {
		return "closed loop (each sender waits for its echo)"
	}
	return fmt.Sprintf("%.0f msg/s", r)
}
