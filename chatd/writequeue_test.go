package chatd

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// countingWriter records each Write, and fails from the failAt'th on.
type countingWriter struct {
	bytes.Buffer
	writes, failAt int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.failAt > 0 && w.writes >= w.failAt {
		return 0, errors.New("broken pipe")
	}
	return w.Buffer.Write(p)
}

// TestWriteQueueKeepsLinesInOrder checks what a client receives from
// writeQueue: every queued line, whole and in order, whether the batch fits
// one pooled chunk or spans several (a line cut at a chunk's end continues
// in the next write), and that a failed write is reported.
func TestWriteQueueKeepsLinesInOrder(t *testing.T) {
	line := func(i, n int) []byte { return []byte(strings.Repeat(string(rune('a'+i%26)), n) + "\r\n") }
	for _, tc := range []struct {
		name       string
		lines, n   int
		wantWrites int
	}{
		{"one line", 1, 100, 1},
		{"welcome burst", 20, 80, 1},
		{"history page across chunks", 1000, 300, (1000*302 + writeChunk - 1) / writeChunk},
		{"one line longer than a chunk, among others", 3, writeChunk + 10, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q [][]byte
			var want bytes.Buffer
			for i := range tc.lines {
				q = append(q, line(i, tc.n))
				want.Write(q[i])
			}
			w := &countingWriter{}
			if err := writeQueue(w, q); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(w.Bytes(), want.Bytes()) {
				t.Errorf("wrote %d bytes, not the %d queued, in order", w.Len(), want.Len())
			}
			if w.writes != tc.wantWrites {
				t.Errorf("%d writes, want %d", w.writes, tc.wantWrites)
			}
		})
	}
	w := &countingWriter{failAt: 1}
	if err := writeQueue(w, [][]byte{[]byte("a\r\n"), []byte("b\r\n")}); err == nil {
		t.Error("a failed write was not reported")
	}
}
