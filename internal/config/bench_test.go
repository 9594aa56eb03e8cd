package config

import (
	"fmt"
	"strings"
	"testing"
)

// manyInstances is a valid configuration of n instances, a few per
// interface, each with its own VRID and address.
func manyInstances(n int) []byte {
	var b strings.Builder
	b.WriteString("instances:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: vi%d\n    interface: eth%d\n    vrid: %d\n    priority: 100\n    advert_interval: 1s\n    virtual_addresses: [198.18.%d.%d/32]\n",
			i, i/250, i%250+1, i/200, i%200+1)
	}
	return []byte(b.String())
}

// BenchmarkParseInstances shows Parse is linear in the number of instances
// (issue #13: 2,000 instances took 15 s, 500 took 0.5 s).
func BenchmarkParseInstances(b *testing.B) {
	for _, n := range []int{500, 2000} {
		data := manyInstances(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Parse("bench.yaml", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
