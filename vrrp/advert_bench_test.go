package vrrp

import (
	"testing"
	"time"
)

func BenchmarkParseAdvert(b *testing.B) {
	for _, g := range []struct {
		name string
		i    int
	}{{"IPv4", 0}, {"IPv4MessageOnly", 2}, {"IPv6", 3}} {
		tc := goldenAdverts[g.i]
		msg := mustHex(b, tc.hex)
		b.Run(g.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := ParseAdvert(msg, tc.src, tc.dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendMarshal(b *testing.B) {
	a := Advert{VRID: 51, Priority: 100, MaxAdvertInt: time.Second, Addresses: addrs("198.18.0.100", "198.18.0.101")}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.AppendMarshal(buf[:0], v4Src, v4Dst, ChecksumPseudoHeader); err != nil {
			b.Fatal(err)
		}
	}
}
