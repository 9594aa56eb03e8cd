package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

func (s *sqlStore) Heartbeat(ctx context.Context, node string) error {
	if node == "" {
		return fmt.Errorf("heartbeat: %w: empty node name", ErrInvalid)
	}
	var wasReaped bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var reaped int
		err := s.prepTx(tx).QueryRowContext(ctx, `SELECT reaped FROM nodes WHERE node = ?`+s.d.forUpdate, node).Scan(&reaped)
		if errors.Is(err, sql.ErrNoRows) {
			_, err = s.prepTx(tx).ExecContext(ctx, s.d.expand(`INSERT INTO nodes (node, heartbeat, reaped) VALUES (?, {{now_us}}, 0)`), node)
			return err
		}
		if err != nil {
			return err
		}
		wasReaped = reaped != 0
		_, err = s.prepTx(tx).ExecContext(ctx, s.d.expand(`UPDATE nodes SET heartbeat = {{now_us}}, reaped = 0 WHERE node = ?`), node)
		return err
	})
	if err != nil {
		return fmt.Errorf("heartbeat %q: %w", node, err)
	}
	if wasReaped {
		return fmt.Errorf("heartbeat %q: %w", node, ErrReaped)
	}
	return nil
}

const sessionCols = `id, node, nick, username, host, account, realname, since`

func scanSessions(rows *sql.Rows) ([]Session, error) {
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var ss Session
		var since int64
		if err := rows.Scan(&ss.ID, &ss.Node, &ss.Nick, &ss.User, &ss.Host, &ss.Account, &ss.Realname, &since); err != nil {
			return nil, err
		}
		ss.Since = fromMS(since)
		out = append(out, ss)
	}
	return out, rows.Err()
}

// scanStrings reads and closes rows of one string column.
func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// anys returns vs as query arguments.
func anys(vs []string) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

func (s *sqlStore) ClaimNick(ctx context.Context, ss Session) error {
	return s.change(ctx, func(t txOps) error { return t.ClaimNick(ss) })
}

func (s *sqlStore) RenameNick(ctx context.Context, sessionID, newNick string) error {
	return s.change(ctx, func(t txOps) error { return t.RenameNick(sessionID, newNick) })
}

func (s *sqlStore) ReleaseSession(ctx context.Context, sessionID string) error {
	err := s.change(ctx, func(t txOps) error { return t.ReleaseSession(sessionID) })
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func (s *sqlStore) Join(ctx context.Context, m Member) error {
	fresh := Channel{Name: m.Channel, Created: s.now().UTC().Truncate(time.Millisecond)}
	err := s.change(ctx, func(t txOps) error {
		_, err := t.Join(m, fresh)
		return err
	})
	if errors.Is(err, ErrExists) {
		return nil
	}
	return err
}

func (s *sqlStore) Part(ctx context.Context, channel, sessionID string) error {
	return s.change(ctx, func(t txOps) error { return t.Part(channel, sessionID) })
}

func (s *sqlStore) SetMemberModes(ctx context.Context, channel, sessionID, modes string) error {
	return s.change(ctx, func(t txOps) error {
		return t.SetMemberModes(channel, sessionID, "", func(string) string { return modes })
	})
}

func (s *sqlStore) Sessions(ctx context.Context) ([]Session, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	out, err := scanSessions(rows)
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	return out, nil
}

func (s *sqlStore) Members(ctx context.Context, channel string) ([]Member, error) {
	out, err := s.members(ctx, `WHERE m.channel_folded = ? ORDER BY s.nick_folded`, Fold(channel))
	if err != nil {
		return nil, fmt.Errorf("members of %q: %w", channel, err)
	}
	return out, nil
}

func (s *sqlStore) AllMembers(ctx context.Context) ([]Member, error) {
	out, err := s.members(ctx, `ORDER BY m.channel_folded, s.nick_folded`)
	if err != nil {
		return nil, fmt.Errorf("all members: %w", err)
	}
	return out, nil
}

func (s *sqlStore) members(ctx context.Context, where string, args ...any) ([]Member, error) {
	rows, err := s.prepR().QueryContext(ctx, `SELECT m.channel, m.session_id, s.nick, m.modes
		FROM members m JOIN sessions s ON s.id = m.session_id `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.Channel, &m.SessionID, &m.Nick, &m.Modes); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ReapDead takes the sessions of stale nodes in one transaction. The stale node rows are read with a
// locking read first: a second reaper blocks on them until the first commits, then (a locking read sees
// the latest committed rows) finds their sessions gone, so each session is reported once. Already reaped
// nodes are examined again, so a session a dying node registered after it was reaped is collected too.
func (s *sqlStore) ReapDead(ctx context.Context, self string, staleAfter time.Duration) ([]Reaped, error) {
	return s.ReapDeadQuit(ctx, self, staleAfter, nil)
}

// ReapDeadQuit calls quit inside the transaction: quit must not use the Store.
func (s *sqlStore) ReapDeadQuit(ctx context.Context, self string, staleAfter time.Duration, quit func(Reaped) *Event) ([]Reaped, error) {
	if staleAfter <= 0 {
		return nil, fmt.Errorf("reap dead: staleAfter must be positive, got %v", staleAfter)
	}
	stale, err := s.anyToReap(ctx, self, staleAfter)
	if err != nil {
		return nil, fmt.Errorf("reap dead: %w", err)
	}
	if !stale {
		return nil, nil
	}
	var out []Reaped
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = txOps{s: s, ctx: ctx, tx: tx}.reap(self, staleAfter, quit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reap dead: %w", err)
	}
	return out, nil
}

// anyToReap reports whether some other node is stale and not yet reaped, or reaped but holding
// sessions (one it registered late). Every node looks every heartbeat: a plain read first, so that a
// cluster with nobody to reap (the usual case) costs the database no write transaction per node and
// interval.
func (s *sqlStore) anyToReap(ctx context.Context, self string, staleAfter time.Duration) (bool, error) {
	var one int
	err := s.prepR().QueryRowContext(ctx, s.d.expand(`SELECT 1 FROM nodes n WHERE n.node <> ? AND n.heartbeat < {{now_us}} - ?
		AND (n.reaped = 0 OR EXISTS (SELECT 1 FROM sessions s WHERE s.node = n.node)) LIMIT 1`),
		self, staleAfter.Microseconds()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// reap is ReapDeadQuit's transaction. It takes its locks in the order every transaction uses
// (change.go): node rows, sessions, channels, members, and the log counter last, so no deadlock.
// The statements with IN lists go to the transaction unprepared: their text changes with the list.
func (t txOps) reap(self string, staleAfter time.Duration, quit func(Reaped) *Event) ([]Reaped, error) {
	rows, err := t.tx.QueryContext(t.ctx, t.s.d.expand(`SELECT node FROM nodes
		WHERE node <> ? AND heartbeat < {{now_us}} - ? ORDER BY node`)+t.s.d.forUpdate,
		self, staleAfter.Microseconds())
	if err != nil {
		return nil, err
	}
	nodes, err := scanStrings(rows)
	if err != nil || len(nodes) == 0 {
		return nil, err
	}
	args := anys(nodes)
	in := "(" + placeholders(len(args)) + ")"
	out, err := t.reapSessions(in, args)
	if err != nil {
		return nil, err
	}
	if _, err = t.tx.ExecContext(t.ctx, `UPDATE nodes SET reaped = 1 WHERE node IN `+in, args...); err != nil {
		return nil, err
	}
	if quit == nil {
		return out, nil
	}
	return out, t.appendQuits(out, quit)
}

// reapDeletes remove the reaped sessions' rows; each is completed with "IN (the session IDs)".
var reapDeletes = []string{
	`DELETE FROM members WHERE session_id IN `,
	`DELETE FROM sessions WHERE id IN `,
	`DELETE FROM session_presence WHERE session_id IN `,
}

// reapSessions removes the sessions of the nodes in (a placeholder list for args) with their
// memberships, and the channels left empty, and returns them.
func (t txOps) reapSessions(in string, args []any) ([]Reaped, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT `+sessionCols+` FROM sessions WHERE node IN `+in+` ORDER BY id`+t.s.d.forUpdate, args...)
	if err != nil {
		return nil, err
	}
	sess, err := scanSessions(rows)
	if err != nil || len(sess) == 0 {
		return nil, err
	}
	out := make([]Reaped, len(sess))
	ids := make([]any, len(sess))
	for i, ss := range sess {
		out[i].Session, ids[i] = ss, ss.ID
	}
	sin := "(" + placeholders(len(ids)) + ")"
	touched, err := t.reapedChannels(out, sin, ids)
	if err != nil {
		return nil, err
	}
	for _, ch := range touched { // channels before members: the lock order (change.go)
		if _, err := t.lockChannel(ch); err != nil {
			return nil, err
		}
	}
	for _, del := range reapDeletes {
		if _, err := t.tx.ExecContext(t.ctx, del+sin, ids...); err != nil {
			return nil, err
		}
	}
	// A channel whose last members were the dead node's users ceases to exist with their QUITs, as it
	// does on every node that applies them.
	for _, ch := range touched {
		if err := t.dropIfEmpty(ch); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// reapedChannels fills in the channels of the sessions out (whose IDs are ids, placeholders sin)
// and returns the folded names of those channels, sorted and without repeats.
func (t txOps) reapedChannels(out []Reaped, sin string, ids []any) ([]string, error) {
	idx := make(map[string]int, len(out))
	for i := range out {
		idx[out[i].Session.ID] = i
	}
	rows, err := t.tx.QueryContext(t.ctx, `SELECT session_id, channel, channel_folded FROM members WHERE session_id IN `+sin+
		` ORDER BY session_id, channel_folded`, ids...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var touched []string
	for rows.Next() {
		var id, ch, folded string
		if err := rows.Scan(&id, &ch, &folded); err != nil {
			return nil, err
		}
		out[idx[id]].Channels = append(out[idx[id]].Channels, ch)
		touched = append(touched, folded)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(touched)
	return slices.Compact(touched), nil
}

// appendQuits appends the QUIT event quit returns for each reaped session (nil: none) and records it
// in the session's Reaped. It is the transaction's last step: appendCommitTx may commit it.
func (t txOps) appendQuits(out []Reaped, quit func(Reaped) *Event) error {
	var evs []*Event
	for i := range out {
		ev := quit(out[i])
		if ev == nil {
			continue
		}
		if err := prepareEvent(ev); err != nil {
			return fmt.Errorf("quit event of %s: %w", out[i].Session.ID, err)
		}
		out[i].Quit = ev
		evs = append(evs, ev)
	}
	if len(evs) == 0 {
		return nil
	}
	// appendCommitTx commits the transaction itself: errCommitted must reach tryTx as it is.
	err := t.s.appendCommitTx(t.ctx, t.tx, evs)
	if err != nil && err != errCommitted {
		return fmt.Errorf("append quit events: %w", err)
	}
	return err
}
