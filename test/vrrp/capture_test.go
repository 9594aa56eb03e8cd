package vrrp

import (
	"context"
	"encoding/binary"
	"net"
	"time"

	//lint:ignore SA1019 the project chose mdlayher/raw
	"github.com/mdlayher/raw"

	"github.com/hachat/hachat/test/netns"
	"github.com/hachat/hachat/vrrp"
)

// advertSources reads VRRP adverts with a non-zero priority on h's
// interface until n have arrived or ctx is done, and returns the Ethernet
// source of each: what a switch learns the Master's MAC from.
func advertSources(ctx context.Context, h *netns.Host, ifname string, v6 bool, n int) ([]net.HardwareAddr, error) {
	et, protoOff := uint16(0x0800), 14+9
	if v6 {
		et, protoOff = 0x86dd, 14+6
	}
	var c *raw.Conn
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		c, err = raw.ListenPacket(ifi, et, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	defer stop()
	var out []net.HardwareAddr
	buf := make([]byte, 2048)
	for len(out) < n {
		m, _, err := c.ReadFrom(buf)
		if err != nil {
			return out, err
		}
		f := buf[:m]
		if len(f) <= protoOff || f[protoOff] != vrrp.IPProtocolVRRP || binary.BigEndian.Uint16(f[12:14]) != et {
			continue
		}
		hl := 40
		if !v6 {
			hl = int(f[14]&0x0f) * 4
		}
		if len(f) < 14+hl+3 || f[14+hl+2] == 0 { // priority 0: a resigning router
			continue
		}
		out = append(out, net.HardwareAddr(append([]byte(nil), f[6:12]...)))
	}
	return out, nil
}
