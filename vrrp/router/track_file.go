package router

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// ReadTrackFile reads a tracked file (keepalived's track_file): the first
// word is an integer. A missing file counts as 0 (healthy), so an operator
// creates the file to lower the priority and deletes it to restore it; a
// file that does not hold an integer counts as 1 (failing), so a typo is
// noticed rather than ignored.
func ReadTrackFile(path string) (value int, detail string) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, "absent"
	}
	if err != nil {
		return 1, "unreadable: " + err.Error()
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, "empty"
	}
	v, err := strconv.Atoi(f[0])
	if err != nil {
		return 1, "not an integer: " + strconv.Quote(f[0])
	}
	return v, "value " + f[0]
}

// PollFile reads path every interval and records its value in hub until ctx
// is done.
func PollFile(ctx context.Context, hub *TrackHub, path string, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		v, d := ReadTrackFile(path)
		hub.SetValue(FileKey(path), v, d)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
