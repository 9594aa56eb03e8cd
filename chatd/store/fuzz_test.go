package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// FuzzEventRoundTrip: whatever an event carries comes back from the log unchanged (Params and Tags are
// JSON, which carries only UTF-8: other bytes there become U+FFFD, so those inputs only need to
// survive; Text and Target are kept as bytes).
func FuzzEventRoundTrip(f *testing.F) {
	f.Add("hello", "#chan", "p1", "+draft/reply", "abc", int64(0))
	f.Add("caf\xe9 \xff\x00", "nick", "", "", "", int64(1))
	f.Add("", "#x", "a b:c", "k", "v;\\ s", int64(-1))
	f.Add("\U0001F680 rocket", "&local", "{\"json\":1}", "+typing", "active", int64(1<<40))
	f.Add("it's a \\ back'slash\x00nul", "#q'uote", "\\'", "k'", "\\", int64(7))
	f.Add("\xc0\x27 OR 1=1 -- ", "#\xbf\x27", "\xbf'", "+x", "\xa5\x5c", int64(8))
	// SQLite always; MariaDB too when it runs here (the driver interpolates parameters into the
	// statement text there, so escaping is part of what is tested).
	stores := []*sqlStore{open(f, "sqlite::memory:")}
	if mdb != nil {
		stores = append(stores, open(f, "mysql://"+mdb.DSN(mdb.NewDatabase(f))))
	}
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, text, target, param, tagK, tagV string, ms int64) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		in := Event{MsgID: fmt.Sprint("f", n.Add(1)), Time: time.UnixMilli(ms%(1<<45) + 1<<45).UTC(), Node: "n",
			Kind: KindPrivmsg, Target: target, Sender: "a!b@c", Account: "acc", Text: text}
		if param != "" {
			in.Params = []string{param, ""}
		}
		if tagK != "" {
			in.Tags = map[string]string{tagK: tagV}
		}
		for _, s := range stores {
			want, e := in, in
			err := s.Append(ctx, &e)
			if !utf8.ValidString(target) {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("%s: append with target %q: %v, want ErrInvalid", s.d.name, target, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: append: %v", s.d.name, err)
			}
			got, _, err := s.Tail(ctx, Cursor(e.Seq-1), 1)
			if err != nil || len(got) != 1 {
				t.Fatalf("%s: tail: %v, %d events", s.d.name, err, len(got))
			}
			want.Seq, want.HistoryKey = e.Seq, e.HistoryKey
			if !utf8.ValidString(param) || !utf8.ValidString(tagK) || !utf8.ValidString(tagV) {
				want.Params, want.Tags = got[0].Params, got[0].Tags
			}
			if d := cmp.Diff(want, got[0]); d != "" {
				t.Fatalf("%s: round trip (-in +out):\n%s", s.d.name, d)
			}
		}
	})
}
