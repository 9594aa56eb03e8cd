package vrrplayer

import (
	"encoding/hex"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	"github.com/hachat/hachat/vrrp"
)

// FuzzLayerDecode: the gopacket layer accepts exactly what ParseAdvert
// accepts (its family inferred from the length), with the same fields, and
// never panics. Seeds are the golden adverts (vectors_test.go).
func FuzzLayerDecode(f *testing.F) {
	for _, g := range goldenAdverts {
		b, _ := hex.DecodeString(g.hex)
		f.Add(b, !g.src.Is4())
	}
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		src, dst := v4Src, v4Dst
		if v6 {
			src, dst = v6Src, v6Dst
		}
		var layer VRRPv3
		layerErr := layer.DecodeFromBytes(b, nil)
		a, _, err := vrrp.ParseAdvertForm(b, src, dst)
		if err != nil {
			return
		}
		if layerErr != nil {
			t.Fatalf("ParseAdvert accepted what the layer refused: %v", layerErr)
		}
		if diff := cmp.Diff(a, &layer.Advert, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
			t.Fatalf("layer and ParseAdvert differ (-parse +layer):\n%s", diff)
		}
	})
}

func BenchmarkLayerDecode(b *testing.B) {
	msg := mustHex(b, goldenAdverts[0].hex)
	var v VRRPv3
	b.ReportAllocs()
	for b.Loop() {
		if err := v.DecodeFromBytes(msg, gopacket.NilDecodeFeedback); err != nil {
			b.Fatal(err)
		}
	}
}
