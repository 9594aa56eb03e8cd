package chatd

import (
	"github.com/hachat/hachat/internal/buildinfo"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Reasons a client line or a whole client is dropped; each is a label of
// chatd_dropped_lines_total or chatd_disconnects_total, so an operator sees
// why, and tests assert on them.
const (
	dropTooLong     = "too_long"
	dropInvalidUTF8 = "invalid_utf8"
	dropMalformed   = "malformed"
	dropUnknown     = "unknown_command"
	dropEmpty       = "empty"

	discSendQ            = "sendq_exceeded"
	discSendQServer      = "sendq_server_bound" // cut to bring the node under max_queued_bytes
	discSendQIP          = "sendq_ip_bound"     // cut to bring its network under max_queued_bytes_per_ip
	discConnectThrottled = "connect_throttled"
	discLoginFailures    = "login_failures"
	discFlood            = "excess_flood"
	discPingTimeout      = "ping_timeout"
	discRegTimeout       = "registration_timeout"
	discQuit             = "quit"
	discClosed           = "connection_closed"
	discWriteError       = "write_error"
	discShutdown         = "shutdown"
	discReaped           = "node_reaped"
	discTooMany          = "too_many_clients"
	discTooManyPerIP     = "too_many_clients_per_ip"
	discBadPassword      = "bad_password"
	discInternal         = "internal_error"
	discKilled           = "killed" // KILL, or a QUIT another node committed for us
)

type metrics struct {
	reg         *prometheus.Registry
	clients     prometheus.Gauge
	users       prometheus.Gauge
	accepted    prometheus.Counter
	disconnects *prometheus.CounterVec
	dropped     *prometheus.CounterVec
	commands    *prometheus.CounterVec
	appended    *prometheus.CounterVec
	appendErr   prometheus.Counter
	appendSecs  prometheus.Histogram
	applied     *prometheus.CounterVec
	deliveries  prometheus.Counter
	tailLag     prometheus.Histogram
	tailErr     prometheus.Counter
	reaped      prometheus.Counter
	hbErr       prometheus.Counter
	nudgesSent  prometheus.Counter
	nudgesRecv  prometheus.Counter
	panics      prometheus.Counter
	reapRuns    prometheus.Counter
	// Attack surface (see the chatd README "Under attack").
	historyRejected *prometheus.CounterVec
	historyWait     prometheus.Histogram
	logins          *prometheus.CounterVec
	registrations   *prometheus.CounterVec
	argon2Runs      prometheus.Counter
	rehashes        *prometheus.CounterVec
	historyPaced    *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.clients = prometheus.NewGauge(prometheus.GaugeOpts{Name: "chatd_connections", Help: "Open client connections on this node."})
	m.users = prometheus.NewGauge(prometheus.GaugeOpts{Name: "chatd_users", Help: "Registered users known to this node, local and remote."})
	m.accepted = prometheus.NewCounter(prometheus.CounterOpts{Name: "chatd_accepted_total", Help: "Accepted client connections."})
	m.disconnects = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatd_disconnects_total", Help: "Client disconnects by reason."}, []string{"reason"})
	m.dropped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatd_dropped_lines_total", Help: "Client lines dropped, by reason."}, []string{"reason"})
	m.commands = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatd_commands_total", Help: "Client commands handled."}, []string{"command"})
	m.appended = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatd_events_appended_total", Help: "Events committed to the log by this node."}, []string{"kind"})
	m.appendErr = prometheus.NewCounter(prometheus.CounterOpts{Name: "chatd_append_errors_total", Help: "Failed log appends."})
	m.appendSecs = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "chatd_append_seconds", Help: "Log append latency.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)})
	m.applied = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatd_events_applied_total", Help: "Log events applied by the tailer, by origin."}, []string{"origin"})
	m.deliveries = prometheus.NewCounter(prometheus.CounterOpts{Name: "chatd_deliveries_total", Help: "Lines queued to local clients by event fan-out."})
	m.tailLag = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "chatd_tail_lag_seconds", Help: "Event time to apply time on this node.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	m.tailErr = prometheus.NewCounter(prometheus.CounterOpts{Name: "chatd_tail_errors_total", Help: "Failed log tail queries."})
	m.reaped = prometheus.NewCounter(prometheus.CounterOpts{Name: "chatd_reaped_sessions_total", Help: "Sessions of dead nodes reaped by this node."})
	m.hbErr = prometheus.NewCounter(prometheus.CounterOpts{Name: "chatd_heartbeat_errors_total", Help: "Failed heartbeats."})
	m.nudgesSent = prometheus.NewCounter(prometheus.CounterOpts{Name: "chatd_nudges_sent_total", Help: "Peer nudges sent."})
	m.nudgesRecv = prometheus.NewCounter(prometheus.CounterOpts{Name: "chatd_nudges_received_total", Help: "Peer nudges received."})
	m.panics = prometheus.NewCounter(prometheus.CounterOpts{Name: "chatd_handler_panics_total", Help: "Command handlers that panicked (bugs); the client was disconnected."})
	m.reapRuns = prometheus.NewCounter(prometheus.CounterOpts{Name: "chatd_reap_runs_total", Help: "Looks for dead peers (skipped while our own heartbeat is not yet trusted)."})
	m.historyRejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatd_history_rejected_total", Help: "CHATHISTORY requests told to try again, by reason."}, []string{"reason"})
	m.historyWait = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "chatd_history_wait_seconds", Help: "Time a CHATHISTORY request waited for its turn.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatd_logins_total", Help: "SASL logins by result."}, []string{"result"})
	m.registrations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatd_account_registrations_total", Help: "REGISTER attempts by result."}, []string{"result"})
	m.argon2Runs = prometheus.NewCounter(prometheus.CounterOpts{Name: "chatd_argon2_runs_total", Help: "Password hashes computed (logins, missing accounts included, and registrations)."})
	m.rehashes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatd_password_rehashes_total", Help: "Password hashes with old parameters replaced at a successful login, by result (ok, changed: the hash changed meanwhile, error)."}, []string{"result"})
	f(m.rehashes)
	m.historyPaced = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatd_history_paced_seconds_total", Help: "Time CHATHISTORY replies waited, by reason: rate (history_bytes_rate), live (a live event being committed and delivered)."}, []string{"reason"})
	f(m.historyPaced)
	for _, c := range []prometheus.Collector{m.argon2Runs, m.historyRejected, m.historyWait, m.logins, m.registrations, m.panics, m.reapRuns, m.clients, m.users, m.accepted, m.disconnects, m.dropped, m.commands,
		m.appended, m.appendErr, m.appendSecs, m.applied, m.deliveries, m.tailLag, m.tailErr, m.reaped, m.hbErr,
		m.nudgesSent, m.nudgesRecv,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildinfo.Collector("chatd")} {
		f(c)
	}
	return m
}

// registerServer adds the gauges that read the server's own state.
func (m *metrics) registerServer(s *Server) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chatd_queued_bytes", Help: "Bytes queued to clients, not yet written (bounded by max_queued_bytes)."},
			func() float64 { return float64(s.queued.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chatd_history_running", Help: "CHATHISTORY queries running (bounded by history_concurrency)."},
			func() float64 { return float64(len(s.histSem)) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chatd_password_checks_waiting", Help: "Logins waiting for a password check slot."},
			func() float64 { return float64(s.logins.waiting()) }),
	)
}
