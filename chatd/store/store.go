package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Sentinel errors a caller can act on. Errors returned by a Store wrap them with %w and the name of the
// operation, so test them with errors.Is.
var (
	ErrNotFound  = errors.New("store: not found")
	ErrExists    = errors.New("store: already exists")
	ErrNickInUse = errors.New("store: nick in use")
	// ErrReaped is returned by Heartbeat when another node declared this node dead (its heartbeat went
	// stale) and dropped its sessions. The node has been registered again, but every session it still
	// serves is gone from the database: it should disconnect those clients (they reconnect and recover
	// with CHATHISTORY).
	ErrReaped = errors.New("store: node was reaped as dead")
	// ErrInvalid is returned for an argument the store cannot keep: a missing required field, or a name
	// (nick, channel, target, account, prefix) that is not valid UTF-8. Free text (message bodies,
	// topics, realnames) is kept as bytes and need not be UTF-8.
	ErrInvalid = errors.New("store: invalid argument")
	// ErrFull is returned by AddBan when the channel already has as many bans as the limit allows.
	ErrFull = errors.New("store: list full")
)

// Kind is the IRC command an Event records.
type Kind string

// Kinds of events in the log.
const (
	KindPrivmsg Kind = "PRIVMSG"
	KindNotice  Kind = "NOTICE"
	KindTagmsg  Kind = "TAGMSG"
	KindJoin    Kind = "JOIN"
	KindPart    Kind = "PART"
	KindQuit    Kind = "QUIT"
	KindNick    Kind = "NICK"
	KindTopic   Kind = "TOPIC"
	KindMode    Kind = "MODE"
	KindKick    Kind = "KICK"
	// Presence and operator events (chatd features; no history key).
	KindAway    Kind = "AWAY"    // Params: session id; Text: away message, "" = back
	KindSetname Kind = "SETNAME" // Params: session id; Text: new realname
	KindWallops Kind = "WALLOPS" // Text: the message, to users with user mode +w
)

// Event is one entry of the shared log. Every event is delivered to every node through Tail; events with a
// non-empty HistoryKey are also history (CHATHISTORY) of that key.
type Event struct {
	Seq   int64     // log position, set by Append: dense and in commit order (see Tail)
	MsgID string    // globally unique across nodes, set by the caller; Append fails with ErrExists on reuse
	Time  time.Time // server-time, set by the caller; stored with millisecond precision, returned in UTC
	Node  string    // origin node
	Kind  Kind
	// Target is the channel name ("#x") or the nick of a direct message, as sent.
	Target string
	// HistoryKey names the conversation this event belongs to: Fold(channel) for a channel, DMKey(a, b)
	// for a private conversation, "" for events that are in no history (e.g. a QUIT or NICK, which the
	// caller may also record once per channel with the channel's key). If empty, Append sets it with
	// DefaultHistoryKey.
	HistoryKey string
	Sender     string            // full prefix nick!user@host
	Account    string            // sender's account, "" if not logged in
	Text       string            // message body; part/quit/kick reason; new nick; topic; mode string
	Params     []string          // extra parameters (e.g. KICK victim, MODE args); stored as JSON
	Tags       map[string]string // client tags to replay (e.g. +draft/reply); stored as JSON
}

// Direction is the order in which History scans from its reference point.
type Direction int

// Directions of a History scan.
const (
	Forward  Direction = iota // oldest first from the reference
	Backward                  // newest first from the reference
)

// History selectors (HistoryQuery.Mode), as in IRCv3 draft/chathistory.
const (
	ModeLatest  = "LATEST"
	ModeBefore  = "BEFORE"
	ModeAfter   = "AFTER"
	ModeAround  = "AROUND"
	ModeBetween = "BETWEEN"
)

// HistoryQuery selects events of one conversation, CHATHISTORY-like.
//
//   - LATEST: the newest Limit events; if Ref is set, only those after Ref.
//   - BEFORE Ref: the newest Limit events strictly before Ref.
//   - AFTER Ref: the oldest Limit events strictly after Ref.
//   - AROUND Ref: up to Limit/2 events before Ref, then Ref itself (if a msgid) and the events after it,
//     Limit in total.
//   - BETWEEN Ref Ref2: events strictly between the two, counted from Ref: if Ref is older than Ref2 the
//     oldest Limit, otherwise the newest Limit.
//
// A msgid reference compares by log position (Seq), a timestamp reference by Event.Time; "oldest" and
// "newest" are by Seq either way, so paging on from a msgid never skips an event. Results are always
// returned oldest first (ascending Seq). A msgid that is not in this conversation yields ErrNotFound.
type HistoryQuery struct {
	Target    string // the history key: Fold(channel) or DMKey(a, b)
	Mode      string // one of the Mode* constants
	Ref, Ref2 Ref    // Ref zero with LATEST means "*"
	Limit     int    // must be > 0
	// Kinds, if not empty, restricts the result (and what Limit counts) to events of these kinds, e.g.
	// PRIVMSG and NOTICE for a client without draft/event-playback. A msgid reference may be of any kind.
	Kinds []Kind
}

// Ref is a CHATHISTORY message reference: exactly one of MsgID and Time is set.
type Ref struct {
	MsgID string
	Time  time.Time
}

// IsZero reports whether r is the "*" reference.
func (r Ref) IsZero() bool { return r.MsgID == "" && r.Time.IsZero() }

// TargetInfo is one CHATHISTORY TARGETS entry: a history key and the time of its newest message.
type TargetInfo struct {
	Target string // history key: Fold(channel) or DMKey(a, b) (see DMPeer)
	Latest time.Time
}

// Channel is the persistent state of a channel.
type Channel struct {
	Name           string // as created; lookups are by Fold(Name)
	Topic, TopicBy string
	TopicAt        time.Time
	Modes          string // e.g. "nt"
	Key            string // +k
	Limit          int    // +l, 0 = none
	Created        time.Time
}

// Ban is one entry of a channel's ban list (+b).
type Ban struct {
	Channel string    // channel name; compared by Fold
	Mask    string    // nick!user@host glob as set; compared by Fold
	SetBy   string    // prefix of who set it
	SetAt   time.Time // millisecond precision, UTC
}

// Account is a registered account.
type Account struct {
	Name string // as registered (the canonical spelling)
	Hash string // argon2id PHC string (HashPassword)
}

// Session is one connected client, owned by the node it is connected to.
type Session struct {
	ID, Node, Nick, User, Host, Account, Realname string
	Since                                         time.Time
	// Away and Modes (user modes, sorted letters) change after registration
	// (UpdateSession); Snapshot fills them, the other readers leave them "".
	Away, Modes string
}

// Member is a session's membership of a channel.
type Member struct {
	Channel   string // channel name as joined; compared by Fold
	SessionID string
	Nick      string // filled in by Members from the session's current nick; ignored by Join
	Modes     string // "o", "v", "ov" or ""
}

// Cursor is a position in the log: the Seq of the last event consumed. 0 is before the first event.
type Cursor int64

// Reaped is a session taken from a dead node, with the channels it was in.
type Reaped struct {
	Session  Session
	Channels []string
	Quit     *Event // the event appended by ReapDeadQuit (with its Seq), nil otherwise
}

// Tx is the table side of one change, run inside the transaction that appends the change's event
// (Store.Commit). Its methods keep the presence tables in the state the log describes: a channel row
// exists exactly while it has members (RFC 2812 §1.3: a channel is created when its first client joins
// and ceases to exist when the last one leaves), and its bans go with it.
type Tx interface {
	// ClaimNick registers session s with its nick: ErrNickInUse if another session holds Fold(s.Nick),
	// ErrExists if s.ID is already registered.
	ClaimNick(s Session) error
	// RenameNick changes a session's nick: ErrNickInUse if another session holds it, ErrNotFound if the
	// session is unknown. A change of case only is allowed.
	RenameNick(sessionID, newNick string) error
	// ReleaseSession drops a session, its nick and memberships, and every channel it leaves empty.
	// ErrNotFound if the session is unknown (a reaper took it, and committed its QUIT).
	ReleaseSession(sessionID string) error
	// SetAccount records the account a session logged in to; ErrNotFound if the session is unknown.
	SetAccount(sessionID, account string) error
	// Join adds m to its channel; if the channel does not exist it is created as fresh (Name from m)
	// and m becomes its operator (m.Modes gets "o"). It returns the modes m joined with. ErrNotFound if
	// the session is unknown, ErrExists if it is already a member.
	Join(m Member, fresh Channel) (string, error)
	// Part drops a membership, and the channel with its bans if it is left empty; ErrNotFound if there
	// was none.
	Part(channel, sessionID string) error
	// UpdateChannel changes a channel's row by f (topic, modes, key, limit; not its name or creation
	// time); ErrNotFound if the channel does not exist.
	UpdateChannel(name string, f func(*Channel)) error
	// SetMemberModes replaces a member's modes by f(current); ErrNotFound if not a member, or if nick
	// is not empty and no longer the session's nick (events name members by nick, and every node
	// finds them by it: a MODE +o for a nick that changed meanwhile changes nobody).
	SetMemberModes(channel, sessionID, nick string, f func(string) string) error
	// AddBan adds b unless a ban with the same folded mask exists (ErrExists) or the channel already
	// has limit bans (limit > 0, ErrFull); ErrNotFound if the channel does not exist.
	AddBan(b Ban, limit int) error
	// RemoveBan drops the ban of channel whose mask folds like mask; ErrNotFound if none.
	RemoveBan(channel, mask string) error
	// AddMask and RemoveMask are AddBan and RemoveBan for the lists ListExcept and ListInvex.
	AddMask(list string, b Ban, limit int) error
	RemoveMask(list, channel, mask string) error
	// UpdateSession changes a session's Realname, Away and Modes by f (the other fields are
	// ignored); ErrNotFound if the session is unknown.
	UpdateSession(sessionID string, f func(*Session)) error
}

// Snapshot is the cluster state at one log position: the presence tables exactly as the events up to
// Head left them (doc.go, "One transaction per change").
type Snapshot struct {
	Head     Cursor
	Channels []Channel // ordered by folded name
	Bans     []Ban     // ordered as Bans("")
	Excepts  []Ban     // +e, ordered as Masks(ListExcept, "")
	Invex    []Ban     // +I, ordered as Masks(ListInvex, "")
	Sessions []Session // ordered by ID
	Members  []Member  // ordered as AllMembers
}

// Store is the shared database of a chatd cluster: the message log and history, accounts, channels and
// cluster presence. Implementations are safe for concurrent use.
type Store interface {
	// Append commits ev to the log and sets ev.Seq (and ev.HistoryKey if empty). When it returns nil the
	// event is durable and visible to History and to every node's Tail. It is Commit(ctx, ev, nil).
	Append(ctx context.Context, ev *Event) error
	// Commit runs change (if not nil) and appends ev (if not nil) in one transaction: both commit or
	// neither does. If change returns an error, nothing of it is committed and Commit returns that
	// error (test it with errors.Is). change may set ev's Text and Params from what it found; it runs
	// in the store's committer, together with other callers' changes, so it must not block or call the
	// Store, and it may run more than once (a retried transaction): it must set, not accumulate. Like
	// Append, Commit returns only after the commit; if ctx ends first the outcome is unknown.
	Commit(ctx context.Context, ev *Event, change func(Tx) error) error
	// Snapshot reads the presence tables and the log head in one consistent read: a node that loads
	// it and tails from Head applies every later change exactly once.
	Snapshot(ctx context.Context) (Snapshot, error)
	// History returns the events of q.Target selected by q, oldest first, at most q.Limit.
	History(ctx context.Context, q HistoryQuery) ([]Event, error)
	// Targets returns, among keys, those with a PRIVMSG or NOTICE whose time lies between from and to
	// (exclusive, either order), with the time of the newest such message, ordered by that time ascending,
	// at most limit (CHATHISTORY TARGETS).
	Targets(ctx context.Context, keys []string, from, to time.Time, limit int) ([]TargetInfo, error)
	// Conversations returns the DM keys of every private conversation the (folded) nick took part in,
	// so a caller can pass them to Targets together with its channels.
	Conversations(ctx context.Context, nick string) ([]string, error)
	// Head returns the current end of the log: the Seq of the newest committed event (0 if none).
	Head(ctx context.Context) (Cursor, error)
	// Tail returns up to limit committed events after cursor, in Seq order, and the cursor to pass next
	// time. Successive calls never skip a committed event and never return one twice.
	Tail(ctx context.Context, after Cursor, limit int) ([]Event, Cursor, error)

	// CreateAccount stores a new account; ErrExists if the name exists (case-insensitively).
	CreateAccount(ctx context.Context, name, passwordHash string) error
	// Account returns an account looked up case-insensitively, with its name spelled as registered;
	// ErrNotFound if none.
	Account(ctx context.Context, name string) (Account, error)
	// RehashAccount replaces the account's password hash old by new (a login re-hashing with current
	// parameters); ErrNotFound if the account is gone or its hash is no longer old, so a password
	// changed meanwhile is never overwritten.
	RehashAccount(ctx context.Context, name, old, new string) error

	Channel(ctx context.Context, name string) (Channel, error) // ErrNotFound
	SaveChannel(ctx context.Context, c Channel) error          // upsert by Fold(c.Name)
	Channels(ctx context.Context) ([]Channel, error)           // ordered by folded name

	// AddBan adds b to its channel's ban list unless a ban with the same folded mask exists (then
	// ErrExists). If the list already holds limit bans (limit > 0) it fails with ErrFull.
	AddBan(ctx context.Context, b Ban, limit int) error
	// RemoveBan drops the ban of channel whose mask folds like mask; ErrNotFound if none.
	RemoveBan(ctx context.Context, channel, mask string) error
	// Bans returns the bans of channel, or of every channel if channel is "", ordered by folded
	// channel name, then time set, then folded mask.
	Bans(ctx context.Context, channel string) ([]Ban, error)
	// AddMask, RemoveMask and Masks are AddBan, RemoveBan and Bans for the other mask lists
	// (ListExcept, ListInvex; lists.go).
	AddMask(ctx context.Context, list string, b Ban, limit int) error
	RemoveMask(ctx context.Context, list, channel, mask string) error
	Masks(ctx context.Context, list, channel string) ([]Ban, error)

	// Heartbeat registers node and refreshes its liveness, using the database's clock. It returns
	// ErrReaped (after re-registering) if the node had been declared dead meanwhile.
	Heartbeat(ctx context.Context, node string) error
	// The presence methods below (ClaimNick to SetMemberModes, and SaveChannel, AddBan, RemoveBan
	// above) each run the Tx method of the same name in a transaction of its own, without an event:
	// for tests and tools. A node changes the tables only with Commit (doc.go).

	// ClaimNick registers session s with its nick: ErrNickInUse if another session holds Fold(s.Nick),
	// ErrExists if s.ID is already registered.
	ClaimNick(ctx context.Context, s Session) error
	// RenameNick changes a session's nick: ErrNickInUse if another session holds it, ErrNotFound if the
	// session is unknown. A change of case only is allowed.
	RenameNick(ctx context.Context, sessionID, newNick string) error
	// ReleaseSession drops a session, its nick and memberships. Releasing an unknown session is not an
	// error (it may have been reaped).
	ReleaseSession(ctx context.Context, sessionID string) error
	// Join adds (or keeps) a membership; ErrNotFound if the session is unknown.
	Join(ctx context.Context, m Member) error
	// Part drops a membership; ErrNotFound if there was none.
	Part(ctx context.Context, channel, sessionID string) error
	// SetMemberModes replaces a member's modes; ErrNotFound if not a member.
	SetMemberModes(ctx context.Context, channel, sessionID, modes string) error
	// Sessions returns all sessions of all nodes, ordered by ID (bootstrap of remote users).
	Sessions(ctx context.Context) ([]Session, error)
	// Members returns the members of a channel with their current nicks, ordered by folded nick.
	Members(ctx context.Context, channel string) ([]Member, error)
	// AllMembers returns every membership of every channel, ordered by folded channel name then folded
	// nick: one query to bootstrap a node, instead of Members per channel.
	AllMembers(ctx context.Context) ([]Member, error)
	// ReapDead finds nodes other than self whose heartbeat is older than staleAfter (database clock),
	// atomically takes their sessions (two concurrent reapers never report the same session), deletes
	// their nicks and memberships, and returns them with the channels each was in, so the caller can
	// append QUIT events for them.
	ReapDead(ctx context.Context, self string, staleAfter time.Duration) ([]Reaped, error)
	// ReapDeadQuit is ReapDead that also appends, in the same transaction, the event quit returns for
	// each reaped session (nil for none) and sets Reaped.Quit to it. A reaper that dies right after
	// reaping then cannot lose the QUITs: they commit together with the removal, or not at all. quit
	// runs inside the transaction and must not call the Store.
	ReapDeadQuit(ctx context.Context, self string, staleAfter time.Duration, quit func(Reaped) *Event) ([]Reaped, error)
	Close() error
}

// Fold casefolds a nick or channel name under CASEMAPPING=ascii: A-Z become a-z, nothing else changes.
func Fold(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + ('a' - 'A')
				}
			}
			return string(b)
		}
	}
	return s
}

// dmSep separates the two nicks of a DM key. A comma cannot occur in a nick (RFC 2812 §2.3.1) nor start
// a channel name, so a DM key never collides with a channel key.
const dmSep = ","

// DMKey is the history key of the private conversation between nicks a and b: the two folded nicks in
// byte order, joined by a comma. DMKey(a, b) == DMKey(b, a).
func DMKey(a, b string) string {
	a, b = Fold(a), Fold(b)
	if b < a {
		a, b = b, a
	}
	return a + dmSep + b
}

// DMPeer returns the other party of DM key for the (folded) nick me, and whether key is a DM key
// involving me.
func DMPeer(key, me string) (string, bool) {
	a, b, ok := strings.Cut(key, dmSep)
	if !ok {
		return "", false
	}
	switch me = Fold(me); me {
	case a:
		return b, true
	case b:
		return a, true
	}
	return "", false
}

// IsChannel reports whether name is a channel name (RFC 2812 §1.3: '#', '&', '+' or '!').
func IsChannel(name string) bool {
	return name != "" && strings.IndexByte("#&+!", name[0]) >= 0
}

// DefaultHistoryKey is the history key Append gives an event without one: Fold(Target) for a channel
// target; DMKey(sender nick, Target) for a PRIVMSG, NOTICE or TAGMSG to a nick; "" otherwise.
func DefaultHistoryKey(ev *Event) string {
	if IsChannel(ev.Target) {
		return Fold(ev.Target)
	}
	switch ev.Kind {
	case KindPrivmsg, KindNotice, KindTagmsg:
		if ev.Target == "" {
			return ""
		}
		nick, _, _ := strings.Cut(ev.Sender, "!")
		return DMKey(nick, ev.Target)
	}
	return ""
}

// Open connects to the database named by dsn and applies pending migrations.
//
//   - "" or "sqlite:PATH" (PATH may be ":memory:"): embedded SQLite, for a single node;
//   - "mysql://DSN" or a bare go-sql-driver DSN ("user:pass@tcp(host:port)/db?..."): MySQL/MariaDB;
//   - "galera://DSN" with every node in the address ("user:pass@tcp(a:3306,b:3306,c:3306)/db"): a
//     MariaDB Galera cluster, written through one node at a time (doc.go, galera.go); galera_probe and
//     galera_wait (durations) tune the health checks and how long a write waits for a writer.
func Open(ctx context.Context, dsn string) (Store, error) {
	switch {
	case dsn == "":
		return openSQLite(ctx, ":memory:")
	case strings.HasPrefix(dsn, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "galera://"):
		return openGalera(ctx, strings.TrimPrefix(dsn, "galera://"))
	case strings.HasPrefix(dsn, "mysql://"):
		return openMySQL(ctx, strings.TrimPrefix(dsn, "mysql://"))
	default:
		return openMySQL(ctx, dsn)
	}
}
