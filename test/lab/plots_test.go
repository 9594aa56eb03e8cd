package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPlotProbes draws two trials and checks both files exist and are not
// empty; the picture itself was checked by eye.
func TestPlotProbes(t *testing.T) {
	var up, down []Sample
	for i := range 100 {
		at := time.Duration(i) * 20 * time.Millisecond
		up = append(up, Sample{At: at, OK: true})
		down = append(down, Sample{At: at, OK: i < 50})
	}
	dir := t.TempDir()
	files, err := plotProbes(dir, []*ScenarioRun{
		{Scenario: scenBothUp, Rep: 1, Samples: up, HookAtS: 1},
		{Scenario: scenBothOff, Rep: 1, Samples: down, HookAtS: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("files = %q, want a png and an svg", files)
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil || st.Size() == 0 || filepath.Dir(f) != dir {
			t.Errorf("%s: %v, size %d", f, err, st.Size())
		}
	}
}
