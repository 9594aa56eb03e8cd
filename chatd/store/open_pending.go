package store

import (
	"context"
	"errors"
)

// Temporary: the SQL implementation lands in the next commit.
func openSQLite(ctx context.Context, path string) (Store, error) {
	return nil, errors.New("store: sqlite not yet implemented")
}

func openMySQL(ctx context.Context, dsn string) (Store, error) {
	return nil, errors.New("store: mysql not yet implemented")
}
