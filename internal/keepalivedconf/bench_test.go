package keepalivedconf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hachat/hachat/internal/config"
)

// bigConf is a keepalived.conf of about size bytes: instances, each with a
// virtual server of one TCP-checked real server.
func bigConf(size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `vrrp_instance VI_%d {
    interface eth%d
    virtual_router_id %d
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.%d.%d.1/32
    }
}
virtual_server 10.%d.%d.1 80 {
    delay_loop 6
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.168.%d.%d 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
`, i, i/250, i%250+1, (i/250)%256, i%250, (i/250)%256, i%250, (i/250)%256, i%250)
	}
	return b.String()
}

// BenchmarkImport converts a 1 MB and a 10 MB keepalived.conf, renders it
// and validates the result, as vrrpctl import-keepalived does (issue #13: 10 MB took 560 s
// and 2.3 GB).
func BenchmarkImport(b *testing.B) {
	for _, mb := range []int{1, 10} {
		path := filepath.Join(b.TempDir(), "keepalived.conf")
		if err := os.WriteFile(path, []byte(bigConf(mb<<20)), 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := ImportFile(path)
				if err != nil {
					b.Fatal(err)
				}
				y, err := r.YAML()
				if err != nil {
					b.Fatal(err)
				}
				if len(y) == 0 {
					b.Fatal("no output")
				}
				if err := config.Validate("out.yaml", r.Config); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
