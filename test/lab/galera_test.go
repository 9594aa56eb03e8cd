package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/hachat/hachat/chatload"
	"github.com/hachat/hachat/internal/mariadbtest"
)

// TestReportDatabaseTrial checks the database trial's section: the figures only it has, beside the
// sessions and messages every trial reports, and that a writer that never came back fails the lab.
func TestReportDatabaseTrial(t *testing.T) {
	ok := &ScenarioRun{Scenario: scenDBWriterKilled, Rep: 1, Chat: &chatload.FailoverResult{Accepted: 300},
		Sessions: 32, Kept: 32}
	ok.Chat.MaxGap.Max = 4760
	topo := &Topology{}
	topo.dbTrial = &DBTrial{Killed: "db1", WritesBackS: 4.59}
	topo.noteDBTrial(ok)
	dead := &ScenarioRun{Scenario: scenDBWriterKilled, Rep: 2, Chat: &chatload.FailoverResult{Accepted: 10},
		Sessions: 32, Kept: 32}
	topo.dbTrial = &DBTrial{Killed: "db1", WritesBackS: -1, Error: "no writable node"}
	topo.noteDBTrial(dead)

	r := &Report{DB: dbGalera, Failovers: []*ScenarioRun{ok, dead}}
	var b bytes.Buffer
	r.writeDBTrials(&b)
	md := b.String()
	for _, want := range []string{
		"| database writer killed #1 | 4.76 | 4.59 | 32 / 32 | 300 / 0 |",
		"| database writer killed #2 | 0.00 | never | 32 / 32 | 10 / 0 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if len(ok.Problems) != 0 || len(dead.Problems) != 1 || !strings.Contains(dead.Problems[0], "never succeeded again") {
		t.Errorf("problems: recovered %q, never recovered %q", ok.Problems, dead.Problems)
	}
	var single bytes.Buffer
	(&Report{DB: dbMariaDB}).writeDBTrials(&single)
	if !strings.Contains(single.String(), "single point of failure") {
		t.Errorf("single-server report: %s", single.String())
	}
}

// TestFailoverScenariosDatabaseTrial checks that the database trial runs only on the Galera tier, before
// "both stopped" (which leaves the service down).
func TestFailoverScenariosDatabaseTrial(t *testing.T) {
	single := (&Topology{}).failoverScenarios()
	for _, s := range single {
		if s == scenDBWriterKilled {
			t.Fatalf("single-server lab runs the database trial: %q", single)
		}
	}
	gal := (&Topology{galeraState: galeraState{Galera: &mariadbtest.Cluster{}}}).failoverScenarios()
	i, j := slices.Index(gal, scenDBWriterKilled), slices.Index(gal, scenBothOff)
	if i < 0 || j != i+1 || len(gal) != len(single)+1 {
		t.Fatalf("Galera lab's trials: %q", gal)
	}
}
