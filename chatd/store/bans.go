package store

import (
	"context"
	"fmt"
)

func (s *sqlStore) AddBan(ctx context.Context, b Ban, limit int) error {
	return s.change(ctx, func(t txOps) error { return t.AddBan(b, limit) })
}

func (s *sqlStore) RemoveBan(ctx context.Context, channel, mask string) error {
	return s.change(ctx, func(t txOps) error { return t.RemoveBan(channel, mask) })
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
