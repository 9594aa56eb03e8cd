package router

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hachat/hachat/vrrp"
)

func TestReadTrackFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		absent        bool
		want          int
	}{
		{name: "absent", absent: true, want: 0},
		{name: "zero", content: "0\n", want: 0},
		{name: "value", content: "  7 trailing words\n", want: 7},
		{name: "negative", content: "-3", want: -3},
		{name: "empty", content: "", want: 0},
		{name: "garbage", content: "on fire", want: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if !tc.absent {
				if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if v, d := ReadTrackFile(p); v != tc.want {
				t.Errorf("ReadTrackFile = %d (%s), want %d", v, d, tc.want)
			}
		})
	}
}

func TestTrackHubFansOutWithOwnWeights(t *testing.T) {
	r1, r2 := newRecorder(), newRecorder()
	a, _ := newTestInstance(t, testConfig("a", 100, srcA), r1)
	c2 := testConfig("b", 150, srcA)
	c2.Machine.VRID = 52
	b, _ := newTestInstance(t, c2, r2)
	a.start(rt0)
	b.start(rt0)
	h := NewTrackHub()
	h.Subscribe(ScriptKey("chk"), a, -20, false)
	h.Subscribe(ScriptKey("chk"), b, 0, false)
	h.Subscribe(FileKey("/run/x"), a, -5, true)
	h.SetUp(ScriptKey("chk"), false, "down")
	h.SetValue(FileKey("/run/x"), 2, "value 2")
	a.drainMail(rt0)
	b.drainMail(rt0)
	if p := a.m.EffectivePriority(); p != 70 {
		t.Errorf("a priority %d, want 100-20-10 = 70", p)
	}
	if b.m.State() != vrrp.Fault {
		t.Errorf("b state %v, want FAULT (weight 0 script down)", b.m.State())
	}
	// A late subscriber gets the known state at once.
	h.Unsubscribe(a)
	h.Subscribe(ScriptKey("chk"), a, 10, false)
	h.SetUp(ScriptKey("chk"), true, "up")
	a.drainMail(rt0)
	b.drainMail(rt0)
	if p := a.m.EffectivePriority(); p != 110 {
		t.Errorf("a priority %d, want 100+10 (file tracker gone with the unsubscribe)", p)
	}
	if b.m.State() != vrrp.Backup {
		t.Errorf("b state %v, want BACKUP after the script recovered", b.m.State())
	}
}

func TestTrackHubUnknown(t *testing.T) {
	r := newRecorder()
	in, _ := newTestInstance(t, testConfig("a", 100, srcA), r)
	h := NewTrackHub()
	h.Subscribe(InterfaceKey("eth0"), in, 0, false)
	h.Subscribe(InterfaceKey("eth9"), in, 0, false)
	h.Subscribe(ScriptKey("chk"), in, 0, false)
	h.SetUp(InterfaceKey("eth0"), true, "up")
	if got := h.Unknown(InterfaceKey("")); len(got) != 1 || got[0] != "interface:eth9" {
		t.Errorf("Unknown = %v, want [interface:eth9]", got)
	}
}
