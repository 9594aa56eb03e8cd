package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Session presence that changes after registration: the realname (SETNAME)
// in the sessions row, the away message and user modes in session_presence
// (schema version 5), so a node that starts later loads them with the
// Snapshot instead of showing every user present and without modes. The
// presence row goes with its session (ReleaseSession, the reaper).

func (t txOps) UpdateSession(sessionID string, f func(*Session)) error {
	var ss Session
	err := t.q().QueryRowContext(t.ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`+t.s.d.forUpdate, sessionID).Scan(
		&ss.ID, &ss.Node, &ss.Nick, &ss.User, &ss.Host, &ss.Account, &ss.Realname, new(int64))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("update session %q: %w", sessionID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("update session %q: %w", sessionID, err)
	}
	err = t.q().QueryRowContext(t.ctx, `SELECT away, umodes FROM session_presence WHERE session_id = ?`+t.s.d.forUpdate, sessionID).Scan(&ss.Away, &ss.Modes)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("update session %q: %w", sessionID, err)
	}
	f(&ss)
	if err := validNames(ss.Modes); err != nil {
		return fmt.Errorf("update session %q: %w", sessionID, err)
	}
	if _, err := t.q().ExecContext(t.ctx, `UPDATE sessions SET realname = ? WHERE id = ?`, ss.Realname, sessionID); err != nil {
		return fmt.Errorf("update session %q: %w", sessionID, err)
	}
	if _, err := t.q().ExecContext(t.ctx, `REPLACE INTO session_presence (session_id, away, umodes) VALUES (?, ?, ?)`,
		sessionID, ss.Away, ss.Modes); err != nil {
		return fmt.Errorf("update session %q: %w", sessionID, err)
	}
	return nil
}

// attachPresence fills Away and Modes of sessions from session_presence.
func attachPresence(ctx context.Context, tx *sql.Tx, sessions []Session) error {
	rows, err := tx.QueryContext(ctx, `SELECT session_id, away, umodes FROM session_presence`)
	if err != nil {
		return err
	}
	defer rows.Close()
	idx := make(map[string]int, len(sessions))
	for i, ss := range sessions {
		idx[ss.ID] = i
	}
	for rows.Next() {
		var id, away, modes string
		if err := rows.Scan(&id, &away, &modes); err != nil {
			return err
		}
		if i, ok := idx[id]; ok {
			sessions[i].Away, sessions[i].Modes = away, modes
		}
	}
	return rows.Err()
}
