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
		"| 1000-100/s | 6.98 | 1.50 (1.50–1.50) | 5.38 | 2.50 (2.50–2.50) | 49.4 | 123.4 (123.4–123.4) | 49.4 | 123.4 (123.4–123.4) | 0 / 0 |",
		"| 3000-300/s | 1145.4 | not run | 4.99 | not run |",
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
	open := []Outage{{Start: time.Second, End: 3 * time.Second}}
	blip := []Outage{{Start: time.Second, End: time.Second + 300*time.Millisecond}}
	tests := []struct {
		name     string
		run      ScenarioRun
		spec     scenarioSpec
		res      chatload.FailoverResult
		problems []string // substrings, one per expected problem
		findings []string
	}{
		{"clean failover", ScenarioRun{Sessions: 10, Kept: 10, Outages: restored, VIPMovedS: 0.6}, scenarioSpecs[scenMasterOff],
			chatload.FailoverResult{}, nil, nil},
		{"lost messages", ScenarioRun{Sessions: 10, Kept: 10, VIPMovedS: 0.6}, scenarioSpecs[scenMasterOff],
			chatload.FailoverResult{Missing: 3}, []string{"3 accepted messages missing"}, nil},
		{"VIP never moved", ScenarioRun{Sessions: 10, Kept: 10, VIPMovedS: -1}, scenarioSpecs[scenMasterOff],
			chatload.FailoverResult{}, []string{"lb2 never took the VIP"}, nil},
		{"service never back", ScenarioRun{Sessions: 10, Kept: 10, Outages: open, VIPMovedS: 0.6}, scenarioSpecs[scenFailback],
			chatload.FailoverResult{}, []string{"never came back"}, nil},
		{"late blip is a finding", ScenarioRun{Sessions: 10, Kept: 10, Outages: blip, VIPMovedS: 0.6}, scenarioSpecs[scenFailback],
			chatload.FailoverResult{}, nil, []string{"never came back"}},
		{"sessions broke at takeover", ScenarioRun{Sessions: 10, Kept: 4, VIPMovedS: 0.6}, scenarioSpecs[scenFailback],
			chatload.FailoverResult{}, nil, []string{"6 of 10 established sessions broke"}},
		{"both stopped but still up", ScenarioRun{Sessions: 10, Outages: restored}, scenarioSpecs[scenBothOff],
			chatload.FailoverResult{}, nil, []string{"still succeeded"}},
		{"both stopped and down", ScenarioRun{Sessions: 10, Outages: open}, scenarioSpecs[scenBothOff],
			chatload.FailoverResult{Missing: 5}, nil, nil},
		{"control run broke sessions", ScenarioRun{Scenario: scenBothUp, Sessions: 10}, scenarioSpecs[scenBothUp],
			chatload.FailoverResult{Disconnects: 2}, nil, []string{"2 sessions broke although nothing failed"}},
		{"no sessions", ScenarioRun{Scenario: scenBothUp}, scenarioSpecs[scenBothUp],
			chatload.FailoverResult{}, []string{"no chat session"}, nil},
	}
	match := func(t *testing.T, kind string, got, want []string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s = %q, want %d: %q", kind, got, len(want), want)
		}
		for i, w := range want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s %d = %q, want it to mention %q", kind, i, got[i], w)
			}
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			problems, findings := judge(&tc.run, tc.spec, &tc.res)
			match(t, "problems", problems, tc.problems)
			match(t, "findings", findings, tc.findings)
		})
	}
}
