package chatd

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	fuzzOnce sync.Once
	fuzzNode *testNode
)

// FuzzServerLines feeds arbitrary lines to a registered client of a live
// node. Whatever the lines, the node must keep serving: the client either
// got disconnected with ERROR or still answers PING, and no handler panicked.
func FuzzServerLines(f *testing.F) {
	for _, s := range []string{
		"JOIN #a\nPRIVMSG #a :hi\nPART #a",
		"MODE #a +kl\nMODE #a +o\nMODE #a -k+l x -5",
		"CHATHISTORY BETWEEN #a msgid=x timestamp=bad 5\nCHATHISTORY TARGETS * * -1",
		"AUTHENTICATE PLAIN\nAUTHENTICATE +\nREGISTER * * x",
		"@label=x;+a=b TAGMSG ,,,\nPRIVMSG ,#a,,b :x\nKICK #a nobody",
		"NICK\nNICK :\nNICK ###\nUSER a b c d\nCAP REQ :-sasl\nCAP FOO",
		"WHO\nWHOIS\nWHOIS a b\nNAMES ,,\nLIST\nTOPIC #nope :x\nJOIN #a,#b k1,k2,k3",
		"PRIVMSG #a :\x01ACTION waves\x01\nNOTICE x :y\nAWAY\nISON\nUSERHOST a b c d e f",
		"WHO * %tcuihsnfdlaor,1\nWHO #a %\nWHO a* o\nWHO ,,, %,,\nWHOWAS\nWHOWAS x -1\nLIST >x,<,!,*",
		"MONITOR + a,,b\nMONITOR - \nMONITOR S\nMONITOR L\nMONITOR C\nMONITOR X",
		"MODE #a +eIb\nMODE #a +eI a b\nMODE #a e\nMODE me +iwo\nMODE me -o+Z\nPRIVMSG @#a,+#a,@,+ :x",
		"OPER a b\nKILL me x\nWALLOPS x\nREHASH\nINFO\nSETNAME :\nSETNAME :x\nINVITE\nKICK #a,#b a,b,c,d,e",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script string) { fuzzScript(t, script) })
}

// fuzzScript plays script on a fresh connection to the shared fuzz node,
// registered with caps, and fails if any handler panicked. The server may
// close the connection: that is allowed.
func fuzzScript(t *testing.T, script string, caps ...string) {
	fuzzOnce.Do(func() {
		cfg := testConfig("fuzz")
		cfg.Limits.HistoryMax = 20
		fuzzNode = startNodeNoCleanup(cfg)
	})
	n := fuzzNode
	srvEnd, cliEnd := net.Pipe()
	defer cliEnd.Close()
	n.ServeConn(srvEnd)
	c := &tclient{t: t, name: "fz", conn: cliEnd, r: bufio.NewReader(cliEnd)}
	c.register(uniqueNick(), caps...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = cliEnd.SetWriteDeadline(time.Now().Add(testTimeout))
		_, _ = cliEnd.Write([]byte(strings.ReplaceAll(script, "\r", "") + "\r\nPING :fuzz-end\r\n"))
	}()
	for {
		m, err := c.next()
		if err != nil || (m.Command == "PONG" && m.Param(1) == "fuzz-end") {
			break
		}
	}
	cliEnd.Close()
	<-done
	if v := counterValue(t, n.m.panics); v != 0 {
		t.Fatalf("%v handler panics", v)
	}
}
