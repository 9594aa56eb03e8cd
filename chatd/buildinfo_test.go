package chatd

import (
	"runtime"
	"strings"
	"testing"

	"github.com/hachat/hachat/internal/buildinfo"
)

// Prometheus naming (the *_build_info convention): /metrics says which build
// runs, as chatd_build_info{goversion,version} 1.
func TestMetricsBuildInfo(t *testing.T) {
	cfg := testConfig("")
	cfg.HTTPListen = "127.0.0.1:0"
	n := startNode(t, cfg, nil)
	code, body := httpGet(t, "http://"+n.HTTPAddr().String()+"/metrics")
	want := `chatd_build_info{goversion="` + runtime.Version() + `",version="` + buildinfo.Version() + `"} 1`
	if code != 200 || !strings.Contains(body, want+"\n") {
		t.Errorf("/metrics = %d, want a line %q", code, want)
	}
}
