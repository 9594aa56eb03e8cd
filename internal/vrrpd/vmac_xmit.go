package vrrpd

import (
	"io"

	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/vrrp/router"
)

// advertSender is where an instance's adverts leave. A vmac instance sends
// from the virtual router MAC, through a socket on its macvlan (RFC 5798
// §7.3, keepalived's use_vmac), unless vmac_xmit_base says to send from
// the interface itself, or it has unicast peers: the macvlan holds no
// route to them, and keepalived too sends unicast from the base interface
// (it requires vmac_xmit_base there). The closer is nil when the sender is
// the interface's shared socket.
func (n *Node) advertSender(ic config.Instance, addrIface string, dm *runDemux) (router.PacketSender, io.Closer, error) {
	if !ic.VMAC || ic.VMACXmitBase || len(ic.UnicastPeers) > 0 {
		return dm.d, nil, nil
	}
	c, err := n.k.DialVMAC(addrIface, ic.IPv6())
	if err != nil {
		return nil, nil, err
	}
	return c, c, nil
}

func closeSender(c io.Closer) {
	if c != nil {
		c.Close()
	}
}
