package chatd

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hachat/hachat/chatd/store"
)

// registerGalera exports the Galera store's counters (store.GaleraStats) when st runs on a Galera
// cluster, so an operator sees failovers, retries and refused writes; nothing on other stores.
func (m *metrics) registerGalera(st store.Store) {
	if _, ok := store.GaleraStatsOf(st); !ok {
		return
	}
	read := func(f func(store.GaleraStats) int64) func() float64 {
		return func() float64 {
			gs, _ := store.GaleraStatsOf(st)
			return float64(f(gs))
		}
	}
	for _, c := range []struct {
		name, help string
		f          func(store.GaleraStats) int64
	}{
		{"chatd_galera_failovers_total", "Writer changes after the first choice.",
			func(g store.GaleraStats) int64 { return g.Failovers }},
		{"chatd_galera_tx_retries_total", "Transactions run again: certification failure, lock wait timeout, non-Primary node, lost connection.",
			func(g store.GaleraStats) int64 { return g.Retries }},
		{"chatd_galera_unknown_commits_total", "Commits whose outcome was unknown (connection lost at COMMIT).",
			func(g store.GaleraStats) int64 { return g.Unknown }},
		{"chatd_galera_unknown_found_committed_total", "Unknown-outcome appends found committed by msgid.",
			func(g store.GaleraStats) int64 { return g.ResolvedCommitted }},
		{"chatd_galera_unknown_run_again_total", "Unknown-outcome appends found absent and run again.",
			func(g store.GaleraStats) int64 { return g.ResolvedRetried }},
		{"chatd_galera_no_writer_total", "Statements refused because no node was Synced in a primary component.",
			func(g store.GaleraStats) int64 { return g.NoWriter }},
	} {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help}, read(c.f)))
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chatd_galera_writer_elected",
		Help: "1 while a Galera node is elected to take this node's writes, 0 while none is healthy."},
		func() float64 {
			if gs, _ := store.GaleraStatsOf(st); gs.Writer != "" {
				return 1
			}
			return 0
		}))
}
