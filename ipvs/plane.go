package ipvs

import (
	"fmt"

	"github.com/hachat/hachat/ipvs/kernel"
	"github.com/hachat/hachat/ipvs/nft"
	"github.com/hachat/hachat/ipvs/table"
)

// NFTOptions configures the nftables data plane.
type NFTOptions = nft.Options

// openPlane opens the data plane called name: "ipvs", "nftables", or
// "auto" (IPVS when the kernel has it, nftables otherwise).
func openPlane(name string, o NFTOptions) (table.DataPlane, error) {
	switch name {
	case "", "auto":
		if kernel.Available() {
			return kernel.Open()
		}
		return nft.Open(o)
	case "ipvs":
		p, err := kernel.Open()
		if err != nil {
			return nil, fmt.Errorf("%w (the kernel has no IPVS: use dataplane nftables, or auto)", err)
		}
		return p, nil
	case "nftables":
		return nft.Open(o)
	}
	return nil, fmt.Errorf("ipvs: unknown data plane %q: want auto, ipvs or nftables", name)
}
