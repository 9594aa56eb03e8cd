// Package vrrplayer is the VRRP advertisement (RFC 5798 §5.1, RFC 3768 §5)
// as a gopacket layer, for tools and tests that decode captures: a
// DecodingLayer and SerializableLayer over vrrp.Advert.
//
// Importing the package changes nothing in gopacket; Register makes IP
// protocol 112 decode as this layer, for the whole program, and a program
// calls it once from main.
package vrrplayer
