package main

// The paper's published figures (shared/seed/paper.txt, Table 1 and §3.2),
// so the report can set ours beside them. Direct (single chat server) at
// 4000-400/s and 5000-500/s was "Error" in the paper: Valid is false there.
type paperRow struct {
	Conns       int
	Rate        float64
	DirectMs    float64
	DirectKBps  float64
	DirectValid bool
	LBMs        float64
	LBKBps      float64
}

var paperTable1 = []paperRow{
	{1000, 100, 6.98, 49.4, true, 5.38, 49.4},
	{2000, 200, 5.24, 98.8, true, 5.5, 98.8},
	{3000, 300, 1145.4, 121.4, true, 4.99, 148.2},
	{4000, 400, 0, 0, false, 4.52, 197.6},
	{5000, 500, 0, 0, false, 23.55, 246.76},
}

// paperScenario is one of the paper's §3.2 fault-tolerance trials.
type paperScenario struct {
	// UptimeS is the paper's "system operating until the failure" time and
	// DowntimeS its recovery time; Availability what it printed.
	UptimeS, DowntimeS float64
	Availability       string
	Note               string
}

var paperScenarios = map[string]paperScenario{
	scenBothUp:    {Availability: "99.99 %", Note: "no failure; the paper states 99.99 %"},
	scenMasterOff: {UptimeS: 129, DowntimeS: 2, Availability: "98.4 %", Note: "keepalived stopped on the master; backup took over in 2 s"},
	scenFailback:  {UptimeS: 65, DowntimeS: 2, Availability: "97 %", Note: "keepalived started again on the master; it took over again in 2 s"},
	scenBothOff:   {Availability: "0.00 %", Note: "both balancers stopped: the chat is unreachable"},
}
