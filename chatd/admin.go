package chatd

import (
	"net"
	"net/http"
)

// admin is the HTTP listener for operators and balancers: /healthz,
// /readyz, /metrics and, if enabled, pprof. ln is bound by New and srv set
// by Run before anything else starts, and both are read-only afterwards, so
// it needs no lock.
type admin struct {
	httpLn  net.Listener
	httpSrv *http.Server
}
