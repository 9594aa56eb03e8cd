package store

import (
	"context"
	"database/sql"
	"fmt"
)

func (s *sqlStore) AddBan(ctx context.Context, b Ban, limit int) error {
	if !IsChannel(b.Channel) || b.Mask == "" {
		return fmt.Errorf("add ban: %w: channel %q, mask %q", ErrInvalid, b.Channel, b.Mask)
	}
	if err := validNames(b.Channel, b.Mask, b.SetBy); err != nil {
		return fmt.Errorf("add ban: %w", err)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if limit > 0 {
			// Counting under a locking read makes two nodes adding the last free slot at once
			// serialize here (MySQL); SQLite's single writer serializes them anyway.
			var n int
			if err := s.prepTx(tx).QueryRowContext(ctx, `SELECT COUNT(*) FROM channel_bans WHERE channel_folded = ?`+s.d.forUpdate,
				Fold(b.Channel)).Scan(&n); err != nil {
				return err
			}
			if n >= limit {
				return ErrFull
			}
		}
		_, err := s.prepTx(tx).ExecContext(ctx, `INSERT INTO channel_bans (channel_folded, mask_folded, channel, mask, set_by, set_at)
			VALUES (?, ?, ?, ?, ?, ?)`, Fold(b.Channel), Fold(b.Mask), b.Channel, b.Mask, b.SetBy, ms(b.SetAt))
		return err
	})
	if s.d.isDuplicate(err) {
		return fmt.Errorf("add ban %q on %q: %w", b.Mask, b.Channel, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("add ban %q on %q: %w", b.Mask, b.Channel, err)
	}
	return nil
}

func (s *sqlStore) RemoveBan(ctx context.Context, channel, mask string) error {
	res, err := s.prepW().ExecContext(ctx, `DELETE FROM channel_bans WHERE channel_folded = ? AND mask_folded = ?`,
		Fold(channel), Fold(mask))
	if err != nil {
		return fmt.Errorf("remove ban %q on %q: %w", mask, channel, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("remove ban %q on %q: %w", mask, channel, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) Bans(ctx context.Context, channel string) ([]Ban, error) {
	q := `SELECT channel, mask, set_by, set_at FROM channel_bans`
	var args []any
	if channel != "" {
		q += ` WHERE channel_folded = ?`
		args = append(args, Fold(channel))
	}
	q += ` ORDER BY channel_folded, set_at, mask_folded`
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("bans of %q: %w", channel, err)
	}
	defer rows.Close()
	var out []Ban
	for rows.Next() {
		var b Ban
		var at int64
		if err := rows.Scan(&b.Channel, &b.Mask, &b.SetBy, &at); err != nil {
			return nil, fmt.Errorf("bans of %q: %w", channel, err)
		}
		b.SetAt = fromMS(at)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bans of %q: %w", channel, err)
	}
	return out, nil
}
