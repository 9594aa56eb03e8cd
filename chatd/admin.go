package chatd

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// admin is the HTTP listener for operators and balancers: /healthz,
// /readyz, /metrics and, if enabled, pprof. ln is bound by New and srv set
// by Run before anything else starts, and both are read-only afterwards, so
// it needs no lock.
type admin struct {
	httpLn  net.Listener
	httpSrv *http.Server
}

func (a *admin) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("chatd: http listen: %w", err)
	}
	a.httpLn = ln
	return nil
}

// handler serves the admin endpoints. notReady says why the node is not
// ready, "" when it is: /healthz answers as long as the process does, while
// /readyz fails during bootstrap, lameduck and after stopping, so a balancer
// sends clients elsewhere.
func (a *admin) handler(gather prometheus.Gatherer, withPprof bool, notReady func() string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if reason := notReady(); reason != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(reason + "\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(gather, promhttp.HandlerOpts{}))
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// closeServer stops serving (Run started the server).
func (a *admin) closeServer() {
	if a.httpSrv != nil {
		_ = a.httpSrv.Close()
	}
}

// close releases the listener whether or not Run got to serve it.
func (a *admin) close() {
	if a.httpSrv != nil {
		_ = a.httpSrv.Close()
	} else if a.httpLn != nil {
		_ = a.httpLn.Close()
	}
}
