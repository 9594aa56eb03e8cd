package chatload

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// knownStorm is a fixed result, so the rendered reports can be compared
// byte for byte with the golden files.
func knownStorm() *StormResult {
	s := Summary{Count: 4, Min: 1, Avg: 2.5, Max: 4, Median: 2, Stddev: 1.29, P50: 2, P90: 4, P99: 4, P999: 4}
	r := &StormResult{
		Config: StormConfig{Servers: []string{"198.18.0.10:6667"}, Conns: 4, Rate: 100, Messages: 1,
			MessageSize: 64, Timeout: 5 * time.Second, LagWarn: 50 * time.Millisecond, Caps: []string{"echo-message"}},
		DurationS:      0.05,
		Connections:    ConnSummary{Initiated: 4, Succeeded: 3, Failed: 1},
		ConnRate:       80,
		MsPerConn:      12.5,
		MaxConcurrent:  2,
		ConnectionTime: s, ConnectTime: s, WelcomeTime: s, StartLag: s,
		Reply:         ReplyTimes{All: s, Register: s, Message: s},
		ReplyRate:     RateStats{Min: 10, Avg: 12, Max: 14, Stddev: 2.83, Samples: 2},
		NetIO:         NetIO{SentBytes: 2048, RecvBytes: 3072, KBPerSec: 100, Mbps: 0.8192},
		ErrorsByPhase: map[Phase]int64{PhaseRegister: 1},
		ErrorSamples:  []string{"client-timo: register: read tcp: i/o timeout"},
		Timeline:      []TimelineBin{{StartS: 0, Started: 4, Replies: 6, Errors: 1}},
		Client:        ClientStats{FDSoft: 1024, FDHard: 4096, FDRaised: true, CPUs: 2, CPUUtil: 0.1, MaxOpen: 4, MaxConcurrent: 2},
		Warnings:      []string{"client: example warning"},
	}
	r.Errors.Add(ClientTimo)
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-golden +got):\n%s", name, diff)
	}
}

// TestStormReportsGolden pins the JSON field names (the lab and other
// tools read them) and the text and Markdown layouts.
func TestStormReportsGolden(t *testing.T) {
	r := knownStorm()
	var js, md, txt bytes.Buffer
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	golden(t, "storm.golden.json", js.Bytes())
	golden(t, "storm.golden.md", md.Bytes())
	golden(t, "storm.golden.txt", txt.Bytes())
}

func TestSeriesMarkdownGolden(t *testing.T) {
	r := knownStorm()
	s := &Series{Label: "known", Points: []SeriesPoint{NewSeriesPoint(LoadPoint{Conns: 4, Rate: 100}, []*StormResult{r, r})}}
	s.Points[0].Results = nil
	var md bytes.Buffer
	if err := s.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	golden(t, "series.golden.md", md.Bytes())
}
