package vrrplayer

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/hachat/hachat/vrrp"
)

// LayerTypeVRRPv3 is the gopacket layer type of VRRPv3. The number is in the
// 1000-1999 range gopacket leaves to applications.
var LayerTypeVRRPv3 = gopacket.RegisterLayerType(1112, gopacket.LayerTypeMetadata{
	Name:    "VRRPv3",
	Decoder: gopacket.DecodeFunc(decodeVRRP),
})

// Register makes gopacket decode IP protocol 112 as VRRPv3, for every user
// of gopacket in the program: gopacket ships a VRRPv2-only decoder there,
// and decodeVRRP still hands version 2 packets to it. It changes gopacket's
// global table, so a program calls it once, from main (or a test's
// TestMain), rather than every importer of this package. It is idempotent.
func Register() {
	registerOnce.Do(func() {
		layers.IPProtocolMetadata[layers.IPProtocolVRRP] = layers.EnumMetadata{
			DecodeWith: gopacket.DecodeFunc(decodeVRRP),
			Name:       "VRRP",
			LayerType:  LayerTypeVRRPv3,
		}
	})
}

var registerOnce sync.Once

// decodeVRRP dispatches on the version nibble: 2 to gopacket's VRRPv2
// layer, anything else to VRRPv3 (which rejects what it cannot read).
func decodeVRRP(data []byte, p gopacket.PacketBuilder) error {
	if len(data) > 0 && data[0]>>4 == 2 {
		return layers.LayerTypeVRRP.Decode(data, p)
	}
	v := &VRRPv3{}
	if err := v.DecodeFromBytes(data, p); err != nil {
		return err
	}
	p.AddLayer(v)
	return nil
}

// VRRPv3 is an Advert as a gopacket layer (either version: the name is
// historical; packet decoding still hands version 2 to gopacket's layer): a DecodingLayer and a
// SerializableLayer. Decoding does not verify the checksum, because the IP
// addresses are not known to the layer; call VerifyChecksum, or use
// ParseAdvert which does all the RFC 5798 §7.1 checks.
type VRRPv3 struct {
	layers.BaseLayer
	vrrp.Advert

	// ChecksumForm is used by SerializeTo when ComputeChecksums is set.
	ChecksumForm vrrp.ChecksumForm

	src, dst netip.Addr // from SetNetworkLayerForChecksum
}

var (
	_ gopacket.DecodingLayer     = (*VRRPv3)(nil)
	_ gopacket.SerializableLayer = (*VRRPv3)(nil)
)

// LayerType returns LayerTypeVRRPv3.
func (v *VRRPv3) LayerType() gopacket.LayerType { return LayerTypeVRRPv3 }

// CanDecode returns LayerTypeVRRPv3.
func (v *VRRPv3) CanDecode() gopacket.LayerClass { return LayerTypeVRRPv3 }

// NextLayerType returns LayerTypeZero: VRRP carries no payload.
func (v *VRRPv3) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }

// DecodeFromBytes decodes one message. The address family follows from the
// length: 8 + 4n bytes is IPv4, 8 + 16n is IPv6. Errors are *DropError.
func (v *VRRPv3) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	is4 := true
	if len(data) >= vrrp.HeaderLen {
		if n := int(data[3]); len(data) == vrrp.HeaderLen+16*n && n > 0 {
			is4 = false
		}
	}
	if err := v.Advert.DecodeMessage(data, is4); err != nil {
		var de *vrrp.DropError
		if df != nil && errors.As(err, &de) && de.Reason == vrrp.DropShort {
			df.SetTruncated()
		}
		return err
	}
	v.BaseLayer = layers.BaseLayer{Contents: data}
	return nil
}

// VerifyChecksum checks the decoded message against the IP addresses it
// arrived with and reports which form verified.
func (v *VRRPv3) VerifyChecksum(src, dst netip.Addr) (vrrp.ChecksumForm, bool) {
	src, dst = src.Unmap(), dst.Unmap()
	if v.Version == vrrp.Version2 { // RFC 3768 §5.3.8: never a pseudo-header
		return vrrp.ChecksumMessageOnly, src.Is4() && vrrp.VerifyChecksum(v.Contents, src, dst, vrrp.ChecksumMessageOnly)
	}
	switch {
	case vrrp.VerifyChecksum(v.Contents, src, dst, vrrp.ChecksumPseudoHeader):
		return vrrp.ChecksumPseudoHeader, true
	case src.Is4() && vrrp.VerifyChecksum(v.Contents, src, dst, vrrp.ChecksumMessageOnly):
		return vrrp.ChecksumMessageOnly, true
	}
	return 0, false
}

// ErrNoNetworkLayer is returned by SerializeTo when it must compute a
// checksum but SetNetworkLayerForChecksum was not called.
var ErrNoNetworkLayer = errors.New("vrrp: checksum needs the IP addresses: call SetNetworkLayerForChecksum")

// SetNetworkLayerForChecksum gives the IPv4 or IPv6 layer whose addresses
// the checksum covers, like gopacket's TCP and UDP layers.
func (v *VRRPv3) SetNetworkLayerForChecksum(l gopacket.NetworkLayer) error {
	var src, dst []byte
	switch ip := l.(type) {
	case *layers.IPv4:
		src, dst = ip.SrcIP.To4(), ip.DstIP.To4()
	case *layers.IPv6:
		src, dst = ip.SrcIP.To16(), ip.DstIP.To16()
	default:
		return fmt.Errorf("vrrp: set network layer: %T is neither IPv4 nor IPv6", l)
	}
	s, ok1 := netip.AddrFromSlice(src)
	d, ok2 := netip.AddrFromSlice(dst)
	if !ok1 || !ok2 {
		return fmt.Errorf("vrrp: set network layer: bad addresses %v -> %v", src, dst)
	}
	v.src, v.dst = s, d
	return nil
}

// SerializeTo writes the message. With opts.ComputeChecksums it computes the
// checksum in v.ChecksumForm over the addresses of the network layer; without
// it, v.Checksum is written as is.
func (v *VRRPv3) SerializeTo(b gopacket.SerializeBuffer, opts gopacket.SerializeOptions) error {
	is4 := len(v.Addresses) == 0 || v.Addresses[0].Unmap().Is4()
	if v.src.IsValid() {
		is4 = v.src.Is4()
	}
	var msg []byte
	var err error
	if opts.ComputeChecksums {
		if !v.src.IsValid() {
			return ErrNoNetworkLayer
		}
		msg, err = v.Advert.Marshal(v.src, v.dst, v.ChecksumForm)
	} else {
		msg, err = v.Advert.AppendMessage(nil, is4)
	}
	if err != nil {
		return err
	}
	bytes, err := b.PrependBytes(len(msg))
	if err != nil {
		return fmt.Errorf("vrrp: serialize: %w", err)
	}
	copy(bytes, msg)
	return nil
}
