package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Mask lists beside the ban list (+b, bans.go): ban exceptions (+e) and
// invite exceptions (+I), https://modern.ircdocs.horse/#exception-channel-mode.
// They are stored like bans, one row per mask, in channel_masks (schema
// version 3), keyed by list letter.
const (
	ListExcept = "e"
	ListInvex  = "I"
)

func validList(list string) bool { return list == ListExcept || list == ListInvex }

func (s *sqlStore) AddMask(ctx context.Context, list string, b Ban, limit int) error {
	if !validList(list) || !IsChannel(b.Channel) || b.Mask == "" {
		return fmt.Errorf("add +%s mask: %w: channel %q, mask %q", list, ErrInvalid, b.Channel, b.Mask)
	}
	if err := validNames(b.Channel, b.Mask, b.SetBy); err != nil {
		return fmt.Errorf("add +%s mask: %w", list, err)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if limit > 0 {
			var n int
			if err := s.prepTx(tx).QueryRowContext(ctx, `SELECT COUNT(*) FROM channel_masks WHERE channel_folded = ? AND list = ?`+s.d.forUpdate,
				Fold(b.Channel), list).Scan(&n); err != nil {
				return err
			}
			if n >= limit {
				return ErrFull
			}
		}
		_, err := s.prepTx(tx).ExecContext(ctx, `INSERT INTO channel_masks (channel_folded, list, mask_folded, channel, mask, set_by, set_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, Fold(b.Channel), list, Fold(b.Mask), b.Channel, b.Mask, b.SetBy, ms(b.SetAt))
		return err
	})
	if s.d.isDuplicate(err) {
		return fmt.Errorf("add +%s %q on %q: %w", list, b.Mask, b.Channel, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("add +%s %q on %q: %w", list, b.Mask, b.Channel, err)
	}
	return nil
}

func (s *sqlStore) RemoveMask(ctx context.Context, list, channel, mask string) error {
	res, err := s.prepW().ExecContext(ctx, `DELETE FROM channel_masks WHERE channel_folded = ? AND list = ? AND mask_folded = ?`,
		Fold(channel), list, Fold(mask))
	if err != nil {
		return fmt.Errorf("remove +%s %q on %q: %w", list, mask, channel, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("remove +%s %q on %q: %w", list, mask, channel, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) Masks(ctx context.Context, list, channel string) ([]Ban, error) {
	q := `SELECT channel, mask, set_by, set_at FROM channel_masks WHERE list = ?`
	args := []any{list}
	if channel != "" {
		q += ` AND channel_folded = ?`
		args = append(args, Fold(channel))
	}
	q += ` ORDER BY channel_folded, set_at, mask_folded`
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("+%s masks of %q: %w", list, channel, err)
	}
	defer rows.Close()
	var out []Ban
	for rows.Next() {
		var b Ban
		var at int64
		if err := rows.Scan(&b.Channel, &b.Mask, &b.SetBy, &at); err != nil {
			return nil, fmt.Errorf("+%s masks of %q: %w", list, channel, err)
		}
		b.SetAt = fromMS(at)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("+%s masks of %q: %w", list, channel, err)
	}
	return out, nil
}
