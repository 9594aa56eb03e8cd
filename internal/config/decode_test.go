package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestDecodeMatchesLibrary checks that decode, which replaced the YAML
// library's decoder for speed (issue #13), fills a Config exactly as the
// library does, on every configuration the repository ships or generates.
func TestDecodeMatchesLibrary(t *testing.T) {
	files, _ := filepath.Glob("../../cmd/vrrpd/testdata/*.yaml")
	more, _ := filepath.Glob("../keepalivedconf/testdata/*.yaml")
	files = append(append(files, more...), "../../packaging/etc/vrrpd.yaml")
	inline := map[string][]byte{
		"many instances": manyInstances(50),
		"checks":         []byte(checkOn(`{type: http, status: [200, "300-399"], digest: 9b3a0c85a887a256d6939da88aabd8cd, retry_interval: 1s, interval: 5s}`)),
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inline[f] = b
	}
	for name, data := range inline {
		t.Run(filepath.Base(name), func(t *testing.T) {
			file, err := parser.ParseBytes(data, 0)
			if err != nil {
				t.Skipf("not YAML: %v", err)
			}
			var ours, lib Config
			v := &validator{name: name, file: file, lines: map[string]int{}}
			decode(v, &ours)
			if len(v.errs) > 0 {
				t.Skipf("invalid on purpose: %v", v.errs)
			}
			if err := yaml.UnmarshalWithOptions(data, &lib, yaml.Strict()); err != nil {
				t.Fatalf("library: %v", err)
			}
			opts := []cmp.Option{cmpopts.IgnoreUnexported(Config{}), cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}, netip.AddrPort{})}
			if diff := cmp.Diff(lib, ours, opts...); diff != "" {
				t.Errorf("decode differs from the library (-library +decode):\n%s", diff)
			}
		})
	}
}
