package irc

import (
	"bytes"
	"errors"
	"io"
)

// ErrLineTooLong is returned by LineReader.ReadLine for a line longer than the
// reader's limit. The line has been skipped; the next call returns the line
// after it, so a server can answer ERR_INPUTTOOLONG (417) and carry on.
var ErrLineTooLong = errors.New("irc: line too long")

// initialReadBuf is the buffer a LineReader starts with and shrinks back to
// when idle: most lines fit, and 50,000 idle clients then cost 25 MB of read
// buffers rather than 230 MB.
const initialReadBuf = 512

// IdleWaiter is a reader that can wait until it has input without being
// given a buffer. A LineReader over one holds no buffer while it waits.
type IdleWaiter interface {
	io.Reader
	// WaitReadable returns when a Read would not block (data, end of
	// stream or an error), or with the error that ended the wait, such as
	// a deadline.
	WaitReadable() error
}

// LineReader frames CRLF- (or bare LF-) terminated lines from an io.Reader
// using at most max bytes of buffer.
type LineReader struct {
	r          io.Reader
	max        int
	buf        []byte
	start, end int
	discarding bool // skipping the rest of an overlong line
	err        error
}

// NewLineReader returns a reader for lines of at most max bytes, terminator
// included.
func NewLineReader(r io.Reader, max int) *LineReader {
	if max < 16 {
		max = 16
	}
	return &LineReader{r: r, max: max}
}

// ReadLine returns the next line without its terminator. The slice is valid
// until the next call. At EOF with a partial line pending, the partial line is
// dropped and io.EOF returned: a line that never ended is not a command.
func (lr *LineReader) ReadLine() ([]byte, error) {
	for {
		if i := bytes.IndexByte(lr.buf[lr.start:lr.end], '\n'); i >= 0 {
			line := lr.buf[lr.start : lr.start+i]
			lr.start += i + 1
			if lr.discarding {
				lr.discarding = false
				lr.compact()
				return nil, ErrLineTooLong
			}
			if len(line)+1 > lr.max {
				lr.compact()
				return nil, ErrLineTooLong
			}
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return line, nil
		}
		if err := lr.err; err != nil {
			// A deadline is not the end of the stream: the caller may PING
			// and read again.
			if t, ok := err.(interface{ Timeout() bool }); ok && t.Timeout() {
				lr.err = nil
			}
			return nil, err
		}
		if lr.end-lr.start >= lr.max {
			// No terminator within the limit: drop what we have and skip to
			// the next LF.
			lr.discarding = true
			lr.start, lr.end = 0, 0
		}
		lr.compact()
		if w, ok := lr.r.(IdleWaiter); ok && lr.start == lr.end {
			// Nothing pending: wait without a buffer, so an idle
			// connection holds none.
			lr.buf, lr.start, lr.end = nil, 0, 0
			if err := w.WaitReadable(); err != nil {
				lr.err = err
				continue
			}
		}
		lr.grow()
		n, err := lr.r.Read(lr.buf[lr.end:])
		lr.end += n
		if err != nil {
			lr.err = err
		}
	}
}

// Buffered is the number of bytes read but not yet returned as lines.
func (lr *LineReader) Buffered() int { return lr.end - lr.start }

// compact moves pending bytes to the front, and gives a grown buffer back
// when nothing is pending so an idle client holds only initialReadBuf.
func (lr *LineReader) compact() {
	if lr.start == lr.end {
		lr.start, lr.end = 0, 0
		if cap(lr.buf) > initialReadBuf {
			lr.buf = nil
		}
		return
	}
	if lr.start > 0 {
		copy(lr.buf, lr.buf[lr.start:lr.end])
		lr.end -= lr.start
		lr.start = 0
	}
}

func (lr *LineReader) grow() {
	if lr.buf == nil {
		lr.buf = make([]byte, min(initialReadBuf, lr.max))
		return
	}
	if lr.end < len(lr.buf) {
		return
	}
	// Full: double, but never past max (plus one byte so an exactly-max line's
	// LF fits and the overflow check above sees a too-long line).
	n := min(2*len(lr.buf), lr.max+1)
	nb := make([]byte, n)
	copy(nb, lr.buf[:lr.end])
	lr.buf = nb
}
