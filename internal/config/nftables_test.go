package config

import (
	"slices"
	"testing"

	"github.com/hachat/hachat/ipvs/nft"
)

// TestNFTablesAgrees keeps the validator's view of the nftables data plane
// in step with what it does. It lives here, not in ipvs/nft, so that the
// balancer never imports vrrpd's configuration, not even in its tests.
func TestNFTablesAgrees(t *testing.T) {
	if !slices.Equal(NFTablesSchedulers, nft.Schedulers) {
		t.Errorf("config.NFTablesSchedulers %v, nft.Schedulers %v", NFTablesSchedulers, nft.Schedulers)
	}
	var fw []string
	for _, f := range nft.Forwarding {
		fw = append(fw, string(f))
	}
	if !slices.Equal(NFTablesForwarding, fw) {
		t.Errorf("config.NFTablesForwarding %v, nft.Forwarding %v", NFTablesForwarding, fw)
	}
}
