package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/chatload"
)

func fakeSeries(label string, resp float64) *chatload.Series {
	var rs []*chatload.StormResult
	for range 3 {
		rs = append(rs, &chatload.StormResult{
			Connections: chatload.ConnSummary{Initiated: 1000, Succeeded: 1000},
			Reply:       chatload.ReplyTimes{All: chatload.Summary{Avg: resp, P99: 2 * resp}},
			NetIO:       chatload.NetIO{KBPerSec: 123.4},
		})
	}
	return &chatload.Series{Label: label, Points: []chatload.SeriesPoint{
		chatload.NewSeriesPoint(chatload.LoadPoint{Conns: 1000, Rate: 100}, rs)}}
}

// TestReportTable1BesidePaper checks that our figures and the paper's share
// one table, that points we did not run say so, and that the paper's
// "Error" cells are kept.
func TestReportTable1BesidePaper(t *testing.T) {
	r := &Report{Started: time.Unix(0, 0), Finished: time.Unix(60, 0), DataPlane: "nftables",
		Machine: Machine{CPUs: 2, Kernel: "6.1"},
		Table1:  &Table1Result{Direct: fakeSeries("direct", 1.5), VIP: fakeSeries("vip", 2.5)}}
	var b bytes.Buffer
	r.WriteMarkdown(&b)
	md := b.String()
	for _, want := range []string{
		"| 1000-100/s | 6.98 | 1.50 (1.50–1.50) | 5.38 | 2.50 (2.50–2.50) | 49.4 | 123.4 (123.4–123.4) | 49.40 | 123.4 (123.4–123.4) | 0 / 0 |",
		"| 3000-300/s | 1145.40 | not run | 4.99 | not run |",
		"| 4000-400/s | Error | not run | 4.52 |",
		"**nftables**",
		"2 CPUs",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestReportAvailabilityExplained(t *testing.T) {
	run := &ScenarioRun{Scenario: scenMasterOff, Rep: 1, Chat: &chatload.FailoverResult{Accepted: 10},
		DowntimeS: 0.5, Availability: WindowAvailability(40*time.Second, 500*time.Millisecond),
		PaperStyle: Availability(129*time.Second, 500*time.Millisecond), NewHolder: "lb2", VIPMovedS: 0.61,
		Sessions: 40, Kept: 40}
	r := &Report{Failovers: []*ScenarioRun{run}, Plan: Plan{Failover: FailoverPlan{Duration: 40 * time.Second}}}
	var b bytes.Buffer
	r.WriteMarkdown(&b)
	md := b.String()
	for _, want := range []string{
		"MTTR / (MTTR + MTTR)",
		"MTBF / (MTBF + MTTR)",
		"129/(129+0.50) = 99.61 %",
		"98.75 %", // (40 - 0.5) / 40
		"0.61 (lb2)",
		"40 / 40",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestJudge(t *testing.T) {
	restored := []Outage{{Start: time.Second, End: 2 * time.Second, Restored: true}}
	open := []Outage{{Start: time.Second, End: 2 * time.Second}}
	tests := []struct {
		name string
		run  ScenarioRun
		spec scenarioSpec
		res  chatload.FailoverResult
		want []string // substrings, one per expected problem
	}{
		{"clean failover", ScenarioRun{Sessions: 10, Outages: restored, VIPMovedS: 0.6}, scenarioSpecs[scenMasterOff],
			chatload.FailoverResult{}, nil},
		{"lost messages", ScenarioRun{Sessions: 10, VIPMovedS: 0.6}, scenarioSpecs[scenMasterOff],
			chatload.FailoverResult{Missing: 3}, []string{"3 accepted messages missing"}},
		{"VIP never moved", ScenarioRun{Sessions: 10, VIPMovedS: -1}, scenarioSpecs[scenMasterOff],
			chatload.FailoverResult{}, []string{"lb2 never took the VIP"}},
		{"service never back", ScenarioRun{Sessions: 10, Outages: open, VIPMovedS: 0.6}, scenarioSpecs[scenFailback],
			chatload.FailoverResult{}, []string{"never came back"}},
		{"both stopped but still up", ScenarioRun{Sessions: 10, Outages: restored}, scenarioSpecs[scenBothOff],
			chatload.FailoverResult{}, []string{"still succeeded"}},
		{"both stopped and down", ScenarioRun{Sessions: 10, Outages: open}, scenarioSpecs[scenBothOff],
			chatload.FailoverResult{Missing: 5}, nil},
		{"control run broke sessions", ScenarioRun{Scenario: scenBothUp, Sessions: 10}, scenarioSpecs[scenBothUp],
			chatload.FailoverResult{Disconnects: 2}, []string{"2 sessions broke although nothing failed"}},
		{"no sessions", ScenarioRun{Scenario: scenBothUp}, scenarioSpecs[scenBothUp],
			chatload.FailoverResult{}, []string{"no chat session"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := judge(&tc.run, tc.spec, &tc.res)
			if len(got) != len(tc.want) {
				t.Fatalf("judge = %q, want %d problems %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to mention %q", i, got[i], w)
				}
			}
		})
	}
}
