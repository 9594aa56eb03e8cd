package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/chatload"
)

func TestParsePlanes(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      string
	}{
		{name: "default is one plane, auto", in: "", want: []string{dataplaneAuto}},
		{name: "one VM plane", in: "ipvs-vm", want: []string{dataplaneVM}},
		{name: "all three in order", in: "nft, ipvs-vm,keepalived-vm", want: []string{dataplaneNft, dataplaneVM, dataplaneKeepalivedVM}},
		{name: "unknown", in: "nft,lvs", err: `"lvs" is not one of`},
		{name: "twice", in: "nft,nft", err: "nft twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePlanes(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parsePlanes(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("parsePlanes(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// TestVMTable1Reduced: balancers under TCG get the points up to 200/s, at
// most 3 repetitions and no ceiling search.
func TestVMTable1Reduced(t *testing.T) {
	got := vmTable1(fullPlan().Table1, false)
	want := []chatload.LoadPoint{{Conns: 1000, Rate: 100}, {Conns: 2000, Rate: 200}}
	if diff := cmp.Diff(want, got.Points); diff != "" {
		t.Errorf("points (-want +got):\n%s", diff)
	}
	if got.Reps != 3 || got.CeilMax != 0 {
		t.Errorf("reps %d, ceiling max %g; want 3 and 0", got.Reps, got.CeilMax)
	}
	if high := vmTable1(Table1Plan{Points: []chatload.LoadPoint{{Conns: 3000, Rate: 300}}, Reps: 1}, false); len(high.Points) != 1 {
		t.Errorf("a series above 200/s keeps its first point; got %v", high.Points)
	}
	if q := vmTable1(quickPlan().Table1, true); len(q.Points) != 1 || q.Points[0].Rate != 100 {
		t.Errorf("a quick run keeps 1000-100/s only; got %v", q.Points)
	}
}

// TestEstablishedFromIPVSList reads `ipvsadm -Lnc` as ipvsadm 1.31 prints
// it: only established entries to the chat service count.
func TestEstablishedFromIPVSList(t *testing.T) {
	out := `IPVS connection entries
pro expire state       source             virtual            destination
TCP 14:59  ESTABLISHED 198.18.1.10:40001  198.18.1.100:6667  198.18.2.21:6667
TCP 00:58  FIN_WAIT    198.18.1.10:40002  198.18.1.100:6667  198.18.2.22:6667
TCP 14:31  ESTABLISHED 198.18.1.10:40003  198.18.1.100:6667  198.18.2.22:6667
TCP 14:31  ESTABLISHED 198.18.1.10:40004  198.18.1.100:80    198.18.2.22:80
`
	want := map[string]bool{"198.18.1.10:40001": true, "198.18.1.10:40003": true}
	if diff := cmp.Diff(want, established(out, vipChat)); diff != "" {
		t.Errorf("established (-want +got):\n%s", diff)
	}
}

// TestReportPlanesSideBySide: a run with several data planes shows each
// trial once per plane in one table, and a later plane's problem fails the
// run under its name.
func TestReportPlanesSideBySide(t *testing.T) {
	trial := func(kept int, missing int64, known int) *ScenarioRun {
		s := &ScenarioRun{Scenario: scenFailback, Rep: 1, NewHolder: "lb1", VIPMovedS: 3.6, Sessions: 32, Kept: kept,
			Chat: &chatload.FailoverResult{Accepted: 100, Missing: missing}}
		if missing > 0 {
			s.Problems = []string{fmt.Sprintf("%d accepted messages missing (must be 0)", missing)}
		}
		if known >= 0 {
			s.Sync = &SyncEvidence{KnownAtTakeover: known}
		}
		return s
	}
	r := &Report{Plan: quickPlan()}
	r.adopt([]*PlaneRun{
		{Plane: dataplaneNft, DataPlane: "nftables", Failovers: []*ScenarioRun{trial(32, 0, -1)}},
		{Plane: dataplaneKeepalivedVM, DataPlane: "keepalived + LVS", Failovers: []*ScenarioRun{trial(18, 2, 20)}},
	})
	problems := r.judge()
	var b bytes.Buffer
	r.WriteMarkdown(&b)
	md := b.String()
	for _, want := range []string{
		"| trial | nftables | keepalived + LVS |",
		"| master back (failback) #1 | 3.60; 0.00; **32/32**; 0 | 3.60; 0.00; **18/32**; 2; knew 20 |",
		"# Data plane: keepalived + LVS",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if len(problems) != 1 || !strings.HasPrefix(problems[0], "keepalived + LVS: master back (failback) (rep 1): 2 accepted messages missing") {
		t.Errorf("problems %q; want the keepalived plane's missing messages, named", problems)
	}
	if r.DataPlane != "nftables; keepalived + LVS" {
		t.Errorf("data plane %q; want both named", r.DataPlane)
	}
}

// TestSyncResend: -lvs-sync-refresh sets a time-based re-send (no period);
// 0 keeps the kernel's every-50-packets rule.
func TestSyncResend(t *testing.T) {
	for _, tc := range []struct {
		refresh         time.Duration
		period, seconds int
	}{
		{0, 50, 0},
		{time.Second, 0, 1},
		{1500 * time.Millisecond, 0, 1},
		{3 * time.Second, 0, 3},
	} {
		p, s, why := (&Topology{SyncRefresh: tc.refresh}).syncResend()
		if p != tc.period || s != tc.seconds || why == "" {
			t.Errorf("-lvs-sync-refresh %v: period %d, refresh %d s (%q); want %d, %d", tc.refresh, p, s, why, tc.period, tc.seconds)
		}
	}
}
