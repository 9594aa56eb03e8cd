// Package irc is the IRC line format: parsing and serializing one message,
// with IRCv3 message tags, and a bounded line reader.
//
// The grammar is RFC 1459 §2.3.1 and RFC 2812 §2.3.1 as profiled by the Modern
// IRC Client Protocol (https://modern.ircdocs.horse/#messages), plus the IRCv3
// Message Tags specification (https://ircv3.net/specs/extensions/message-tags):
//
//	message  = ["@" tags SPACE] [":" source SPACE] command *(SPACE param) [SPACE ":" trailing]
//	tags     = tag *(";" tag)
//	tag      = ["+"] key ["=" escaped-value]
//
// The package is pure data apart from LineReader, which frames lines on an
// io.Reader with a fixed memory bound. Nothing here logs or touches a socket.
package irc
