package store

import (
	"context"
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
	s := open(f, "sqlite::memory:")
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
		e := in
		if err := s.Append(ctx, &e); err != nil {
			t.Fatalf("append: %v", err)
		}
		got, _, err := s.Tail(ctx, Cursor(e.Seq-1), 1)
		if err != nil || len(got) != 1 {
			t.Fatalf("tail: %v, %d events", err, len(got))
		}
		in.Seq, in.HistoryKey = e.Seq, e.HistoryKey
		if !utf8.ValidString(param) || !utf8.ValidString(tagK) || !utf8.ValidString(tagV) {
			in.Params, in.Tags = got[0].Params, got[0].Tags
		}
		if d := cmp.Diff(in, got[0]); d != "" {
			t.Fatalf("round trip (-in +out):\n%s", d)
		}
	})
}
