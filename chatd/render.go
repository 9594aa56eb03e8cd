package chatd

import (
	"sort"

	"github.com/hachat/hachat/chatd/caps"
	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// eventMessage renders a log event as the IRC message clients see, with the
// tags the capabilities in caps allow.
func eventMessage(ev *store.Event, caps capSet) (irc.Message, bool) {
	m := irc.Message{Source: ev.Sender, Command: string(ev.Kind)}
	switch ev.Kind {
	case store.KindPrivmsg, store.KindNotice:
		m.Params = []string{ev.Target, ev.Text}
	case store.KindTagmsg:
		if caps&capMessageTags == 0 {
			return m, false
		}
		m.Params = []string{ev.Target}
	case store.KindJoin:
		m.Params = []string{ev.Target}
		if caps&capExtendedJoin != 0 {
			// IRCv3 extended-join: account ("*" for none) and realname.
			acc := ev.Account
			if acc == "" {
				acc = "*"
			}
			m.Params = append(m.Params, acc, param(ev.Params, 2))
		}
	case store.KindPart:
		m.Params = []string{ev.Target}
		if ev.Text != "" {
			m.Params = append(m.Params, ev.Text)
		}
	case store.KindQuit:
		m.Params = []string{ev.Text}
	case store.KindNick:
		if isInternalNick(ev) {
			return m, false
		}
		m.Params = []string{ev.Text}
	case store.KindTopic:
		m.Params = []string{ev.Target, ev.Text}
	case store.KindMode:
		m.Params = append([]string{ev.Target, ev.Text}, ev.Params...)
	case store.KindKick:
		m.Params = []string{ev.Target, param(ev.Params, 0), ev.Text}
	case kindInvite:
		m.Params = []string{ev.Target, param(ev.Params, 0)}
	case store.KindAway:
		if ev.Text != "" {
			m.Params = []string{ev.Text}
		}
	case store.KindSetname, store.KindWallops:
		m.Params = []string{ev.Text}
	default:
		return m, false
	}
	if caps&capServerTime != 0 {
		m.Tags = append(m.Tags, irc.Tag{Key: "time", Value: serverTime(ev.Time)})
	}
	if caps&capMessageTags != 0 && ev.MsgID != "" {
		m.Tags = append(m.Tags, irc.Tag{Key: "msgid", Value: ev.MsgID})
	}
	if caps&capAccountTag != 0 && ev.Account != "" {
		m.Tags = append(m.Tags, irc.Tag{Key: "account", Value: ev.Account})
	}
	if caps&capMessageTags != 0 && len(ev.Tags) > 0 {
		keys := make([]string, 0, len(ev.Tags))
		for k := range ev.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			m.Tags = append(m.Tags, irc.Tag{Key: k, Value: ev.Tags[k]})
		}
	}
	return m, true
}

func param(ps []string, i int) string {
	if i < len(ps) {
		return ps[i]
	}
	return ""
}

// messageCache encodes one event once per rendering variant, so a broadcast
// to 500 members costs at most 16 encodings (32 for a multiline message)
// and shares the bytes.
type messageCache struct {
	ev   *store.Event
	ml   int8 // multiline(): 0 not yet known, 1 yes, -1 no
	wire [caps.RenderVariants][]byte
	done [caps.RenderVariants]bool
}

func (mc *messageCache) multiline() bool {
	if mc.ml == 0 {
		mc.ml = -1
		if isMultiline(mc.ev) {
			mc.ml = 1
		}
	}
	return mc.ml == 1
}

func (mc *messageCache) bytes(cs capSet) []byte {
	if cs&capBatch == 0 || !mc.multiline() {
		// Only a multiline message renders differently for draft/multiline
		// (and only with batch): other events share one variant.
		cs &^= capMultiline
	}
	cs &= renderCaps
	if cs&capMultiline != 0 {
		cs |= capBatch
	}
	k := caps.RenderKey(cs)
	if !mc.done[k] {
		mc.done[k] = true
		if mc.multiline() {
			// Several lines, sent in one write so nothing comes between.
			var b []byte
			for _, m := range eventMessages(mc.ev, cs) {
				if next, err := m.Append(b); err == nil {
					b = next
				}
			}
			mc.wire[k] = b
		} else if m, ok := eventMessage(mc.ev, cs); ok {
			mc.wire[k], _ = m.Bytes()
		}
	}
	return mc.wire[k]
}
