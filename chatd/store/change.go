package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// txOps implements Tx on one write transaction. Every statement goes through the statement cache.
//
// Every read a change decides on is a locking read (FOR UPDATE on MySQL), which sees the latest
// committed rows: a plain read in an InnoDB transaction sees the snapshot taken at the transaction's
// first plain read, which in a batch may be older than a lock this change waited for, and a channel
// could then be dropped while another node's JOIN had just added a member.
//
// Rows are locked mostly in one order: nodes, sessions, channels, members, channel_bans, then the log
// counter (appendTx, last). The exceptions: ReleaseSession reads a session's memberships with a locking
// read before it locks their channels, dropIfEmpty locks a channel's remaining members after the
// channel, and a batch of changes (append.go) locks across changes in any order. InnoDB then reports a
// deadlock and the batch is retried whole (inTx): correctness never depends on the order, only how
// often two nodes' batches collide does, and the counter, locked last, is never part of a cycle.
type txOps struct {
	s   *sqlStore
	ctx context.Context
	tx  *sql.Tx
}

func (t txOps) q() prep { return t.s.prepTx(t.tx) }

func (t txOps) ClaimNick(ss Session) error {
	if ss.ID == "" || ss.Node == "" || ss.Nick == "" {
		return fmt.Errorf("claim nick %q: %w: session needs ID, Node and Nick", ss.Nick, ErrInvalid)
	}
	if err := validNames(ss.ID, ss.Node, ss.Nick, ss.User, ss.Host, ss.Account); err != nil {
		return fmt.Errorf("claim nick: %w", err)
	}
	// INSERT-or-ignore: a refused row is no statement error, so neither dialect aborts anything,
	// and the one statement is the claim (one round trip when it succeeds).
	res, err := t.q().ExecContext(t.ctx, t.s.d.expand(`{{insert_ignore}} INTO sessions (nick_folded, `+sessionCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		Fold(ss.Nick), ss.ID, ss.Node, ss.Nick, ss.User, ss.Host, ss.Account, ss.Realname, ms(ss.Since))
	if err != nil {
		return fmt.Errorf("claim nick %q for session %q: %w", ss.Nick, ss.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	// Refused: by the session id or by the nick.
	var one int
	err = t.q().QueryRowContext(t.ctx, `SELECT 1 FROM sessions WHERE id = ?`, ss.ID).Scan(&one)
	switch {
	case err == nil:
		return fmt.Errorf("claim nick %q for session %q: %w", ss.Nick, ss.ID, ErrExists)
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("claim nick %q for session %q: %w", ss.Nick, ss.ID, ErrNickInUse)
	}
	return fmt.Errorf("claim nick %q for session %q: %w", ss.Nick, ss.ID, err)
}

func (t txOps) RenameNick(sessionID, newNick string) error {
	if newNick == "" {
		return fmt.Errorf("rename session %q: %w: empty nick", sessionID, ErrInvalid)
	}
	if err := validNames(newNick); err != nil {
		return fmt.Errorf("rename session %q: %w", sessionID, err)
	}
	// Checked first so the UPDATE does not fail on the unique index (a statement error): on SQLite
	// the single writer makes the check exact; on MySQL a racing node's claim still makes the UPDATE
	// fail, which the duplicate check below reports the same way.
	var holder string
	err := t.q().QueryRowContext(t.ctx, `SELECT id FROM sessions WHERE nick_folded = ?`+t.s.d.forUpdate, Fold(newNick)).Scan(&holder)
	if err == nil && holder != sessionID {
		return fmt.Errorf("rename session %q to %q: %w", sessionID, newNick, ErrNickInUse)
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("rename session %q: %w", sessionID, err)
	}
	res, err := t.q().ExecContext(t.ctx, `UPDATE sessions SET nick = ?, nick_folded = ? WHERE id = ?`,
		newNick, Fold(newNick), sessionID)
	if t.s.d.isDuplicate(err) {
		return fmt.Errorf("rename session %q to %q: %w", sessionID, newNick, ErrNickInUse)
	}
	if err != nil {
		return fmt.Errorf("rename session %q to %q: %w", sessionID, newNick, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("rename session %q: %w", sessionID, ErrNotFound)
	}
	return nil
}

func (t txOps) SetAccount(sessionID, account string) error {
	if err := validNames(account); err != nil {
		return fmt.Errorf("set account of session %q: %w", sessionID, err)
	}
	res, err := t.q().ExecContext(t.ctx, `UPDATE sessions SET account = ? WHERE id = ?`, account, sessionID)
	if err != nil {
		return fmt.Errorf("set account of session %q: %w", sessionID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set account of session %q: %w", sessionID, ErrNotFound)
	}
	return nil
}

// lockSession takes the session row's lock; ErrNotFound if there is none.
func (t txOps) lockSession(sessionID string) error {
	var one int
	err := t.q().QueryRowContext(t.ctx, `SELECT 1 FROM sessions WHERE id = ?`+t.s.d.forUpdate, sessionID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// lockChannel takes the channel row's lock and reports whether the channel exists.
func (t txOps) lockChannel(folded string) (bool, error) {
	var one int
	err := t.q().QueryRowContext(t.ctx, `SELECT 1 FROM channels WHERE name_folded = ?`+t.s.d.forUpdate, folded).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (t txOps) ReleaseSession(sessionID string) error {
	// The DELETE locks the session row, first as in every transaction; a session in no channel
	// costs two statements.
	res, err := t.q().ExecContext(t.ctx, `DELETE FROM sessions WHERE id = ?`, sessionID)
	if err != nil {
		return fmt.Errorf("release session %q: %w", sessionID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("release session %q: %w", sessionID, ErrNotFound)
	}
	if _, err := t.q().ExecContext(t.ctx, `DELETE FROM session_presence WHERE session_id = ?`, sessionID); err != nil {
		return fmt.Errorf("release session %q: %w", sessionID, err)
	}
	chans, err := t.channelsOf(sessionID)
	if err != nil || len(chans) == 0 {
		return err
	}
	for _, ch := range chans {
		if _, err := t.lockChannel(ch); err != nil {
			return fmt.Errorf("release session %q: %w", sessionID, err)
		}
	}
	if _, err := t.q().ExecContext(t.ctx, `DELETE FROM members WHERE session_id = ?`, sessionID); err != nil {
		return fmt.Errorf("release session %q: %w", sessionID, err)
	}
	for _, ch := range chans {
		if err := t.dropIfEmpty(ch); err != nil {
			return fmt.Errorf("release session %q: %w", sessionID, err)
		}
	}
	return nil
}

// channelsOf returns the folded names of the channels a session is in, in order.
func (t txOps) channelsOf(sessionID string) ([]string, error) {
	rows, err := t.q().QueryContext(t.ctx, `SELECT channel_folded FROM members WHERE session_id = ? ORDER BY channel_folded`+t.s.d.forUpdate, sessionID)
	if err != nil {
		return nil, err
	}
	return scanStrings(rows)
}

// dropIfEmpty deletes a channel and its bans (and +e/+I lists) if it has no members left.
func (t txOps) dropIfEmpty(folded string) error {
	var one int
	err := t.q().QueryRowContext(t.ctx, `SELECT 1 FROM members WHERE channel_folded = ? LIMIT 1`+t.s.d.forUpdate, folded).Scan(&one)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if _, err := t.q().ExecContext(t.ctx, `DELETE FROM channels WHERE name_folded = ?`, folded); err != nil {
		return err
	}
	if _, err = t.q().ExecContext(t.ctx, `DELETE FROM channel_bans WHERE channel_folded = ?`, folded); err != nil {
		return err
	}
	_, err = t.q().ExecContext(t.ctx, `DELETE FROM channel_masks WHERE channel_folded = ?`, folded)
	return err
}

func (t txOps) Join(m Member, fresh Channel) (string, error) {
	if !IsChannel(m.Channel) {
		return "", fmt.Errorf("join %q: %w: not a channel name", m.Channel, ErrInvalid)
	}
	if err := validNames(m.Channel, m.Modes, fresh.Modes, fresh.Key); err != nil {
		return "", fmt.Errorf("join: %w", err)
	}
	folded := Fold(m.Channel)
	if err := t.lockSession(m.SessionID); err != nil {
		return "", fmt.Errorf("join %q session %q: %w", m.Channel, m.SessionID, err)
	}
	created, err := t.lockOrCreateChannel(m.Channel, fresh)
	if err != nil {
		return "", err
	}
	if created {
		m.Modes = addFlag(m.Modes, 'o')
	}
	res, err := t.q().ExecContext(t.ctx, t.s.d.expand(`{{insert_ignore}} INTO members (channel_folded, session_id, channel, modes)
		VALUES (?, ?, ?, ?)`), folded, m.SessionID, m.Channel, m.Modes)
	if err != nil {
		return "", fmt.Errorf("join %q session %q: %w", m.Channel, m.SessionID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", fmt.Errorf("join %q session %q: %w", m.Channel, m.SessionID, ErrExists)
	}
	return m.Modes, nil
}

// lockOrCreateChannel takes the channel row's lock, creating the row from fresh if there is none, and
// reports whether it created it. Without gap locks (READ COMMITTED on MySQL: dialect.writeTx) two
// JOINs may both find no row; the second INSERT then waits for the first transaction and fails on the
// primary key once it commits, and the channel exists: that JOIN locks it and joins, as if it had come
// second all along.
func (t txOps) lockOrCreateChannel(name string, fresh Channel) (bool, error) {
	folded := Fold(name)
	exists, err := t.lockChannel(folded)
	if err != nil || exists {
		if err != nil {
			err = fmt.Errorf("join %q: %w", name, err)
		}
		return false, err
	}
	fresh.Name = name
	_, err = t.q().ExecContext(t.ctx, `INSERT INTO channels (name_folded, `+channelCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		folded, fresh.Name, fresh.Topic, fresh.TopicBy, ms(fresh.TopicAt), fresh.Modes, fresh.Key, fresh.Limit, ms(fresh.Created))
	if err == nil {
		return true, nil
	}
	if !t.s.d.isDuplicate(err) {
		return false, fmt.Errorf("create channel %q: %w", name, err)
	}
	if exists, err = t.lockChannel(folded); err != nil || !exists {
		return false, fmt.Errorf("join %q: created by another transaction, then gone: %w", name, cmp.Or(err, ErrNotFound))
	}
	return false, nil
}

// addFlag adds flag letter f to a sorted set of flag letters.
func addFlag(set string, f byte) string {
	b := []byte(set)
	if slices.Contains(b, f) {
		return set
	}
	b = append(b, f)
	slices.Sort(b)
	return string(b)
}

func (t txOps) Part(channel, sessionID string) error {
	folded := Fold(channel)
	if _, err := t.lockChannel(folded); err != nil {
		return fmt.Errorf("part %q session %q: %w", channel, sessionID, err)
	}
	res, err := t.q().ExecContext(t.ctx, `DELETE FROM members WHERE channel_folded = ? AND session_id = ?`, folded, sessionID)
	if err != nil {
		return fmt.Errorf("part %q session %q: %w", channel, sessionID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("part %q session %q: %w", channel, sessionID, ErrNotFound)
	}
	if err := t.dropIfEmpty(folded); err != nil {
		return fmt.Errorf("part %q: %w", channel, err)
	}
	return nil
}

func (t txOps) UpdateChannel(name string, f func(*Channel)) error {
	folded := Fold(name)
	c, err := scanChannel(t.q().QueryRowContext(t.ctx, `SELECT `+channelCols+` FROM channels WHERE name_folded = ?`+t.s.d.forUpdate, folded))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("update channel %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("update channel %q: %w", name, err)
	}
	f(&c)
	if err := validNames(c.TopicBy, c.Modes, c.Key); err != nil {
		return fmt.Errorf("update channel %q: %w", name, err)
	}
	_, err = t.q().ExecContext(t.ctx, `UPDATE channels SET topic = ?, topic_by = ?, topic_at = ?, modes = ?, ckey = ?, climit = ?
		WHERE name_folded = ?`, c.Topic, c.TopicBy, ms(c.TopicAt), c.Modes, c.Key, c.Limit, folded)
	if err != nil {
		return fmt.Errorf("update channel %q: %w", name, err)
	}
	return nil
}

func (t txOps) SetMemberModes(channel, sessionID, nick string, f func(string) string) error {
	var cur, folded string
	err := t.q().QueryRowContext(t.ctx, `SELECT m.modes, s.nick_folded FROM members m JOIN sessions s ON s.id = m.session_id
		WHERE m.channel_folded = ? AND m.session_id = ?`+t.s.d.forUpdate, Fold(channel), sessionID).Scan(&cur, &folded)
	if err == nil && nick != "" && folded != Fold(nick) {
		err = sql.ErrNoRows
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("set modes on %q session %q: %w", channel, sessionID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("set modes on %q session %q: %w", channel, sessionID, err)
	}
	modes := f(cur)
	if err := validNames(modes); err != nil {
		return fmt.Errorf("set modes on %q: %w", channel, err)
	}
	if _, err := t.q().ExecContext(t.ctx, `UPDATE members SET modes = ? WHERE channel_folded = ? AND session_id = ?`,
		modes, Fold(channel), sessionID); err != nil {
		return fmt.Errorf("set modes on %q session %q: %w", channel, sessionID, err)
	}
	return nil
}

func (t txOps) AddBan(b Ban, limit int) error {
	if !IsChannel(b.Channel) || b.Mask == "" {
		return fmt.Errorf("add ban: %w: channel %q, mask %q", ErrInvalid, b.Channel, b.Mask)
	}
	if err := validNames(b.Channel, b.Mask, b.SetBy); err != nil {
		return fmt.Errorf("add ban: %w", err)
	}
	folded := Fold(b.Channel)
	// The channel row's lock serializes two nodes adding the last free slot at once (MySQL);
	// SQLite's single writer serializes them anyway.
	exists, err := t.lockChannel(folded)
	if err != nil {
		return fmt.Errorf("add ban %q on %q: %w", b.Mask, b.Channel, err)
	}
	if !exists {
		return fmt.Errorf("add ban %q on %q: %w", b.Mask, b.Channel, ErrNotFound)
	}
	if limit > 0 {
		var n int
		if err := t.q().QueryRowContext(t.ctx, `SELECT COUNT(*) FROM channel_bans WHERE channel_folded = ?`+t.s.d.forUpdate, folded).Scan(&n); err != nil {
			return fmt.Errorf("add ban %q on %q: %w", b.Mask, b.Channel, err)
		}
		if n >= limit {
			return fmt.Errorf("add ban %q on %q: %w", b.Mask, b.Channel, ErrFull)
		}
	}
	res, err := t.q().ExecContext(t.ctx, t.s.d.expand(`{{insert_ignore}} INTO channel_bans (channel_folded, mask_folded, channel, mask, set_by, set_at)
		VALUES (?, ?, ?, ?, ?, ?)`), folded, Fold(b.Mask), b.Channel, b.Mask, b.SetBy, ms(b.SetAt))
	if err != nil {
		return fmt.Errorf("add ban %q on %q: %w", b.Mask, b.Channel, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("add ban %q on %q: %w", b.Mask, b.Channel, ErrExists)
	}
	return nil
}

func (t txOps) RemoveBan(channel, mask string) error {
	res, err := t.q().ExecContext(t.ctx, `DELETE FROM channel_bans WHERE channel_folded = ? AND mask_folded = ?`,
		Fold(channel), Fold(mask))
	if err != nil {
		return fmt.Errorf("remove ban %q on %q: %w", mask, channel, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("remove ban %q on %q: %w", mask, channel, ErrNotFound)
	}
	return nil
}

// change runs one Tx operation in a transaction of its own, without an event: the standalone Store
// methods (ClaimNick, Join, ...) that tools and store tests use. chatd changes tables only with Commit.
func (s *sqlStore) change(ctx context.Context, f func(t txOps) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return f(txOps{s: s, ctx: ctx, tx: tx}) })
}
