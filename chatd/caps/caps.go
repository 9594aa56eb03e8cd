// Package caps is chatd's table of IRCv3 capabilities
// (https://ircv3.net/specs/extensions/capability-negotiation): their names,
// CAP LS 302 values and the bit each takes in a client's negotiated Set.
// Pure data: no I/O, no server state.
package caps

// Set is a client's negotiated capabilities, one bit each.
type Set uint32

// The capabilities chatd implements.
const (
	ServerTime Set = 1 << iota
	MessageTags
	Batch
	EchoMessage
	LabeledResponse
	SASL
	Chathistory
	AccountRegistration
	AccountTag
	CapNotify
	MultiPrefix
	UserhostInNames
	AwayNotify
	AccountNotify
	ExtendedJoin
	Chghost
	Setname
	InviteNotify
	StandardReplies
	ExtendedMonitor
	Multiline
)

// The draft/multiline limits (https://ircv3.net/specs/extensions/multiline),
// advertised as the capability's value: one batch may carry at most
// MultilineMaxLines lines and MultilineMaxBytes bytes of text.
const (
	MultilineMaxBytes = 4096
	MultilineMaxLines = 32
)

// Info is one capability as CAP LS shows it.
type Info struct {
	Name  string
	Bit   Set
	Value string // the CAP LS 302 value ("sasl=PLAIN"), "" for none
}

// Supported lists every capability CAP LS offers. Two names may share a bit
// (a draft name kept beside the ratified one).
var Supported = []Info{
	{Name: "account-notify", Bit: AccountNotify},
	{Name: "account-tag", Bit: AccountTag},
	{Name: "away-notify", Bit: AwayNotify},
	{Name: "batch", Bit: Batch},
	{Name: "cap-notify", Bit: CapNotify},
	{Name: "chghost", Bit: Chghost},
	{Name: "draft/account-registration", Bit: AccountRegistration, Value: "before-connect"},
	{Name: "draft/chathistory", Bit: Chathistory},
	{Name: "draft/multiline", Bit: Multiline, Value: "max-bytes=4096,max-lines=32"}, // MultilineMax*
	{Name: "echo-message", Bit: EchoMessage},
	{Name: "extended-join", Bit: ExtendedJoin},
	{Name: "extended-monitor", Bit: ExtendedMonitor},
	{Name: "draft/extended-monitor", Bit: ExtendedMonitor}, // the name before ratification, still asked for
	{Name: "invite-notify", Bit: InviteNotify},
	{Name: "labeled-response", Bit: LabeledResponse},
	{Name: "message-tags", Bit: MessageTags},
	{Name: "multi-prefix", Bit: MultiPrefix},
	{Name: "sasl", Bit: SASL, Value: "PLAIN"},
	{Name: "server-time", Bit: ServerTime},
	{Name: "setname", Bit: Setname},
	{Name: "standard-replies", Bit: StandardReplies},
	{Name: "userhost-in-names", Bit: UserhostInNames},
}

// Lookup finds a capability by its exact name.
func Lookup(name string) (Info, bool) {
	for _, ci := range Supported {
		if ci.Name == name {
			return ci, true
		}
	}
	return Info{}, false
}

// Render are the capabilities that change how a broadcast is rendered; a
// message cache keys on them (RenderKey). Multiline renders a multiline
// message as one BATCH only together with Batch; the renderer folds that
// in before asking for the key.
const Render = ServerTime | MessageTags | AccountTag | ExtendedJoin | Multiline

// RenderVariants is the number of distinct Render subsets.
const RenderVariants = 32

// RenderKey packs the Render capabilities of s into 0..RenderVariants-1.
func RenderKey(s Set) int {
	k := 0
	if s&ServerTime != 0 {
		k |= 1
	}
	if s&MessageTags != 0 {
		k |= 2
	}
	if s&AccountTag != 0 {
		k |= 4
	}
	if s&ExtendedJoin != 0 {
		k |= 8
	}
	if s&Multiline != 0 {
		k |= 16
	}
	return k
}
