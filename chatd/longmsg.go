package chatd

import (
	"strings"
	"unicode/utf8"

	"github.com/hachat/hachat/chatd/store"
)

// A PRIVMSG or NOTICE whose text fits the client's 512-byte line can still
// be too long once the server puts the sender's nick!user@host in front of
// it (RFC 2812 §2.3: 512 bytes, CR LF included, for every message). Such a
// message is stored as a multiline message of concatenated lines, each
// short enough to relay: clients with draft/multiline get one batch that
// joins back into the text as sent, others several PRIVMSGs of at most 512
// bytes, the first with the msgid. CTCP (\x01...\x01) is never split, as
// its halves would mean nothing.

// relayLineMax is the longest line, CR LF included, the server relays.
const relayLineMax = 512

// whoisChannelsRoom is the channel list one RPL_WHOISCHANNELS carries:
// what is left of 512 bytes after the server name (up to 63), two nicks
// (up to 30 each, NICKLEN) and the numeric's fixed parts.
const whoisChannelsRoom = 350

// packWords packs words into lines of at most room bytes (words joined by
// spaces), for a reply whose list does not fit one message (CAP LS 302,
// WHOIS 319). A word longer than room gets a line of its own rather than
// being lost. There is always at least one line, perhaps empty.
func packWords(words []string, room int) [][]string {
	var out [][]string
	var line []string
	n := 0
	for _, w := range words {
		if len(line) > 0 && n+1+len(w) > room {
			out = append(out, line)
			line, n = nil, 0
		}
		if len(line) > 0 {
			n++
		}
		line = append(line, w)
		n += len(w)
	}
	return append(out, line)
}

// splitLong returns the text as lines of at most room bytes each, the
// later ones concatenated to the one before, or nil when it fits (or is
// CTCP). It breaks after a space when there is one in the second half of
// the window, else at a UTF-8 character boundary.
func splitLong(text string, room int) []multilineLine {
	if len(text) <= room || room < 16 || strings.HasPrefix(text, "\x01") {
		return nil
	}
	var lines []multilineLine
	for len(text) > room {
		cut := room
		for cut > room-utf8.UTFMax && !utf8.RuneStart(text[cut]) {
			cut-- // not inside a character (UTF8ONLY input has one near)
		}
		if sp := strings.LastIndexByte(text[:cut], ' '); sp >= room/2 {
			cut = sp + 1 // the space stays at the end of its line
		}
		lines = append(lines, multilineLine{text: text[:cut], concat: len(lines) > 0})
		text = text[cut:]
	}
	return append(lines, multilineLine{text: text, concat: len(lines) > 0})
}

// splitLines splits each line too long to relay into concatenated lines
// (a multiline batch's lines fit the sender's line, not always the relay).
func splitLines(lines []multilineLine, room int) []multilineLine {
	var out []multilineLine
	for _, l := range lines {
		parts := splitLong(l.text, room)
		if parts == nil {
			out = append(out, l)
			continue
		}
		parts[0].concat = l.concat
		out = append(out, parts...)
	}
	return out
}

// relayRoom is the text a relayed ":sender KIND target :text\r\n" can hold.
func relayRoom(ev *store.Event) int {
	return relayLineMax - (1 + len(ev.Sender) + 1 + len(ev.Kind) + 1 + len(ev.Target) + 2 + 2)
}

// splitForRelay turns ev into a multiline message of concatenated lines
// when its text would make a relayed line longer than relayLineMax.
func splitForRelay(ev *store.Event) {
	if ev.Kind != store.KindPrivmsg && ev.Kind != store.KindNotice {
		return
	}
	lines := splitLong(ev.Text, relayRoom(ev))
	if lines == nil {
		return
	}
	b := multilineBatch{lines: lines}
	ev.Params = b.encode()
}
