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
	q := banQuery
	var args []any
	if channel != "" {
		q += ` WHERE channel_folded = ?`
		args = append(args, Fold(channel))
	}
	out, err := scanMasks(s.r.QueryContext(ctx, q+maskOrder, args...))
	if err != nil {
		return nil, fmt.Errorf("bans of %q: %w", channel, err)
	}
	return out, nil
}

// banQuery selects bans, of every channel; Bans and Snapshot.Bans are in maskOrder.
const banQuery = `SELECT channel, mask, set_by, set_at FROM channel_bans`
