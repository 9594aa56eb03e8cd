package store

import (
	"context"
	"fmt"
)

// Mask lists beside the ban list (+b, bans.go): ban exceptions (+e) and
// invite exceptions (+I), https://modern.ircdocs.horse/#exception-channel-mode.
// They are kept like bans, one row per mask, in channel_masks (schema
// version 4), keyed by list letter, and go with their channel.
const (
	ListExcept = "e"
	ListInvex  = "I"
)

func validList(list string) bool { return list == ListExcept || list == ListInvex }

func (t txOps) AddMask(list string, b Ban, limit int) error {
	if !validList(list) || !IsChannel(b.Channel) || b.Mask == "" {
		return fmt.Errorf("add +%s mask: %w: channel %q, mask %q", list, ErrInvalid, b.Channel, b.Mask)
	}
	if err := validNames(b.Channel, b.Mask, b.SetBy); err != nil {
		return fmt.Errorf("add +%s mask: %w", list, err)
	}
	folded := Fold(b.Channel)
	// The channel row's lock serializes two nodes adding the last free slot, as for bans.
	exists, err := t.lockChannel(folded)
	if err != nil {
		return fmt.Errorf("add +%s %q on %q: %w", list, b.Mask, b.Channel, err)
	}
	if !exists {
		return fmt.Errorf("add +%s %q on %q: %w", list, b.Mask, b.Channel, ErrNotFound)
	}
	if limit > 0 {
		var n int
		if err := t.q().QueryRowContext(t.ctx, `SELECT COUNT(*) FROM channel_masks WHERE channel_folded = ? AND list = ?`+t.s.d.forUpdate,
			folded, list).Scan(&n); err != nil {
			return fmt.Errorf("add +%s %q on %q: %w", list, b.Mask, b.Channel, err)
		}
		if n >= limit {
			return fmt.Errorf("add +%s %q on %q: %w", list, b.Mask, b.Channel, ErrFull)
		}
	}
	res, err := t.q().ExecContext(t.ctx, t.s.d.expand(`{{insert_ignore}} INTO channel_masks (channel_folded, list, mask_folded, channel, mask, set_by, set_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), folded, list, Fold(b.Mask), b.Channel, b.Mask, b.SetBy, ms(b.SetAt))
	if err != nil {
		return fmt.Errorf("add +%s %q on %q: %w", list, b.Mask, b.Channel, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("add +%s %q on %q: %w", list, b.Mask, b.Channel, ErrExists)
	}
	return nil
}

func (t txOps) RemoveMask(list, channel, mask string) error {
	res, err := t.q().ExecContext(t.ctx, `DELETE FROM channel_masks WHERE channel_folded = ? AND list = ? AND mask_folded = ?`,
		Fold(channel), list, Fold(mask))
	if err != nil {
		return fmt.Errorf("remove +%s %q on %q: %w", list, mask, channel, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("remove +%s %q on %q: %w", list, mask, channel, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) AddMask(ctx context.Context, list string, b Ban, limit int) error {
	return s.change(ctx, func(t txOps) error { return t.AddMask(list, b, limit) })
}

func (s *sqlStore) RemoveMask(ctx context.Context, list, channel, mask string) error {
	return s.change(ctx, func(t txOps) error { return t.RemoveMask(list, channel, mask) })
}

// maskQuery selects entries of one list, of every channel or of one.
const maskQuery = `SELECT channel, mask, set_by, set_at FROM channel_masks WHERE list = ?`

// maskOrder is the order of Masks and of Snapshot.Excepts and Invex.
const maskOrder = ` ORDER BY channel_folded, set_at, mask_folded`

func (s *sqlStore) Masks(ctx context.Context, list, channel string) ([]Ban, error) {
	q, args := maskQuery, []any{list}
	if channel != "" {
		q += ` AND channel_folded = ?`
		args = append(args, Fold(channel))
	}
	out, err := scanMasks(s.r.QueryContext(ctx, q+maskOrder, args...))
	if err != nil {
		return nil, fmt.Errorf("+%s masks of %q: %w", list, channel, err)
	}
	return out, nil
}

type rowsScanner interface {
	Next() bool
	Scan(...any) error
	Close() error
	Err() error
}

// scanMasks reads and closes rows of channel, mask, set_by, set_at: bans (banQuery) or the entries of
// a mask list (maskQuery). err is the query's, so that a query's two results can be passed on whole.
func scanMasks[R rowsScanner](rows R, err error) ([]Ban, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Ban
	for rows.Next() {
		var b Ban
		var at int64
		if err := rows.Scan(&b.Channel, &b.Mask, &b.SetBy, &at); err != nil {
			return nil, err
		}
		b.SetAt = fromMS(at)
		out = append(out, b)
	}
	return out, rows.Err()
}
