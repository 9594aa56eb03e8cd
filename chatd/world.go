package chatd

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/chatd/modes"
	"github.com/hachat/hachat/chatd/store"
)

// world is this node's view of the cluster: every registered user and every
// channel with members, on any node. The tailer alone changes it, applying
// committed events in log order (apply.go); handlers read it.
//
// mu, the world lock, guards every field here and the users and channels
// they reach. It is the top lock: the tailer holds it while delivering, and
// cmu (registry) and a client's own locks may be taken under it, never the
// other way round. pendMu (cluster) is never held with it.
type world struct {
	mu       sync.RWMutex
	users    map[string]*user // by folded nick
	sessions map[string]*user // by session id
	channels map[string]*channel
	nlocal   int
	// Counters kept by apply so LUSERS, sent at every registration, is O(1).
	nodeUsers map[string]int // users per node
	nonEmpty  int            // channels with members
}

func newWorld() world {
	return world{
		users: make(map[string]*user), sessions: make(map[string]*user), channels: make(map[string]*channel),
		nodeUsers: make(map[string]int),
	}
}

// user is a registered client, local (client != nil) or on another node.
type user struct {
	sid                              string
	node                             string
	nick, ident, host, realname, acc string
	since                            time.Time
	client                           *Client // nil for a remote user
	channels                         map[string]*channel
	away                             string
	invited                          map[string]bool // folded channel names this user was INVITEd to
	modes                            string          // user modes, sorted letters of modes.User.Flags
	// lastActive is when the user last sent PRIVMSG or NOTICE (unix
	// seconds), for WHOIS idle time: set by the handler for a local user
	// and by the apply of the message on every node (noteActive).
	lastActive atomic.Int64
	monitoring map[string]string // local users: MONITOR list, folded -> as given
	// multiline is the draft/multiline batch this local user is sending;
	// only its client's reader goroutine (which runs its commands) uses it.
	multiline *multilineBatch
	knocks    knockLimiter // local users: recent KNOCKs, reader goroutine only
}

func (u *user) hasMode(m byte) bool { return strings.IndexByte(u.modes, m) >= 0 }

func (u *user) prefix() string { return u.nick + "!" + u.ident + "@" + u.host }

// channel is the node's view of a channel with members on any node. It exists
// while it has members; its persistent part lives in the store.
type channel struct {
	name, key  string // key = store.Fold(name)
	topic      string
	topicBy    string
	topicAt    time.Time
	created    time.Time
	modes      string           // sorted flag letters, e.g. "nt"
	chanKey    string           // +k
	limit      int              // +l
	bans       []ban            // +b, in the order set
	excepts    []ban            // +e: ban exceptions
	invex      []ban            // +I: invite exceptions
	members    map[*user]string // user -> member modes ("o", "v", "ov", "")
	localCount int
}

func (ch *channel) hasMode(m byte) bool { return strings.IndexByte(ch.modes, m) >= 0 }

func (ch *channel) isOp(u *user) bool {
	return strings.IndexByte(ch.members[u], 'o') >= 0
}

func (ch *channel) canSpeak(u *user) bool {
	mm, member := ch.members[u]
	if !member && ch.hasMode('n') {
		return false
	}
	if mm == "" && (ch.hasMode('m') || ch.banned(u)) {
		return false // voice and op speak despite +m and +b
	}
	return true
}

// modeString renders the channel modes with their arguments (RPL_CHANNELMODEIS).
func (ch *channel) modeString(showKey bool) []string {
	flags := "+" + ch.modes
	var args []string
	if ch.chanKey != "" {
		flags += "k"
		if showKey {
			args = append(args, ch.chanKey)
		} else {
			args = append(args, "*")
		}
	}
	if ch.limit > 0 {
		flags += "l"
		args = append(args, itoa(ch.limit))
	}
	return append([]string{flags}, args...)
}

func (ch *channel) toStore() store.Channel {
	return store.Channel{Name: ch.name, Topic: ch.topic, TopicBy: ch.topicBy, TopicAt: ch.topicAt,
		Modes: ch.modes, Key: ch.chanKey, Limit: ch.limit, Created: ch.created}
}

func channelFromStore(c store.Channel) *channel {
	return &channel{name: c.Name, key: store.Fold(c.Name), topic: c.Topic, topicBy: c.TopicBy,
		topicAt: c.TopicAt, created: c.Created, modes: c.Modes, chanKey: c.Key, limit: c.Limit,
		members: make(map[*user]string)}
}

// memberPrefix is the NAMES/WHO prefix for the highest member mode.
func memberPrefix(modes string) string {
	switch {
	case strings.IndexByte(modes, 'o') >= 0:
		return "@"
	case strings.IndexByte(modes, 'v') >= 0:
		return "+"
	}
	return ""
}

// sortedMembers returns a channel's members ordered by folded nick.
func (ch *channel) sortedMembers() []*user {
	us := make([]*user, 0, len(ch.members))
	for u := range ch.members {
		us = append(us, u)
	}
	sort.Slice(us, func(i, j int) bool { return store.Fold(us[i].nick) < store.Fold(us[j].nick) })
	return us
}

// addModes merges flag letters into a sorted set; delModes removes them.
func addModes(set, add string) string { return modes.Add(set, add) }
func delModes(set, del string) string { return modes.Remove(set, del) }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
