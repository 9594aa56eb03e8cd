package vrrp

import (
	"testing"
	"time"
)

// BenchmarkStep measures the two hot paths: a Backup obeying a Master's
// advert and a Master's Adver_Timer.
func BenchmarkStep(b *testing.B) {
	b.Run("BackupAdvert", func(b *testing.B) {
		m, _ := NewMachine(MachineConfig{VRID: 51, Priority: 100, AdvertInterval: 10 * time.Millisecond, Preempt: true, PrimaryAddr: self4})
		m.Step(t0, Startup{})
		ev := AdvertReceived{Advert: adv(150, 10*time.Millisecond), Src: upper4}
		now := t0
		b.ReportAllocs()
		for b.Loop() {
			now = now.Add(10 * time.Millisecond)
			m.Step(now, ev)
		}
		if m.State() != Backup {
			b.Fatal(m.State())
		}
	})
	b.Run("MasterAdverTimer", func(b *testing.B) {
		m, _ := NewMachine(MachineConfig{VRID: 51, Priority: 255, AdvertInterval: 10 * time.Millisecond, PrimaryAddr: self4})
		m.Step(t0, Startup{})
		b.ReportAllocs()
		for b.Loop() {
			m.Step(m.Deadline(), TimerExpired{})
		}
		if m.State() != Master {
			b.Fatal(m.State())
		}
	})
}
