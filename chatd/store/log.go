package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

const eventCols = `seq, msgid, t, node, kind, target, hkey, sender, account, body, params, tags`

// maxLimit caps History, Tail and Targets result sizes whatever the caller asks.
const maxLimit = 10000

// prepareEvent validates ev and fills in its defaults.
func prepareEvent(ev *Event) error {
	if ev.MsgID == "" || ev.Kind == "" || ev.Node == "" || ev.Time.IsZero() {
		return fmt.Errorf("%w: event needs MsgID, Kind, Node and Time", ErrInvalid)
	}
	if err := validNames(ev.MsgID, ev.Node, string(ev.Kind), ev.Target, ev.HistoryKey, ev.Sender, ev.Account); err != nil {
		return err
	}
	if ev.HistoryKey == "" {
		ev.HistoryKey = DefaultHistoryKey(ev)
	}
	return nil
}

// validNames checks that names are valid UTF-8 (MySQL refuses anything else in a utf8mb4 column; the
// check makes both dialects agree).
func validNames(names ...string) error {
	for _, n := range names {
		if !utf8.ValidString(n) {
			return fmt.Errorf("%w: %q is not valid UTF-8", ErrInvalid, n)
		}
	}
	return nil
}

// appendTx writes evs in tx. The order of statements matters for throughput: everything that does not
// need a log position runs before the counter row is locked, so the lock (which serializes every
// appender of every node) is held for the INSERT and the commit only.
func (s *sqlStore) appendTx(ctx context.Context, tx *sql.Tx, evs []*Event) error {
	dm, rows, err := eventArgs(evs)
	if err != nil {
		return err
	}
	if len(dm) > 0 {
		if _, err := s.txFixed(tx, len(dm) <= 8).ExecContext(ctx, s.d.expand(dmInsert(len(dm)/2)), dm...); err != nil {
			return fmt.Errorf("index conversation: %w", err)
		}
	}
	last, err := s.d.nextSeq(ctx, s.prepTx(tx), len(evs))
	if err != nil {
		return fmt.Errorf("next seq: %w", err)
	}
	first := last - int64(len(evs)) + 1
	for i := range evs {
		rows[12*i] = first + int64(i)
	}
	for done := 0; done < len(evs); done += maxBatch {
		n := min(len(evs)-done, maxBatch)
		if _, err := s.txFixed(tx, n <= 16).ExecContext(ctx, eventInsert(n, ""), rows[12*done:12*(done+n)]...); err != nil {
			return err
		}
	}
	setSeqs(evs, last)
	return nil
}

// errCommitted is returned by appendCommitTx when it has committed the transaction itself: tryTx then
// ends it without a COMMIT of its own. It never leaves the package.
var errCommitted = errors.New("store: transaction committed by its last statement")

// appendCommitTx appends evs in tx as its last step and commits. On MySQL that is one round trip: the
// conversation index, the counter bump, the INSERT, the COMMIT and the read of the new counter go in
// one multi-statement packet, so the counter's row lock is held only while the server runs the INSERT
// and the commit, never across a round trip to this process or while this process waits for a CPU
// (with two nodes on one database, their committers queued on that lock for the chat node's round
// trips: docs/benchmarks.md, "The log counter's lock"). It returns errCommitted (tryTx's cue) once the
// commit is sent; an error from the packet is a commitError, since the COMMIT in it may have run.
// SQLite, embedded and with one writer, has no round trip to save: appendTx, and tryTx commits.
func (s *sqlStore) appendCommitTx(ctx context.Context, tx *sql.Tx, evs []*Event) error {
	if !s.d.inlineCommit {
		return s.appendTx(ctx, tx, evs)
	}
	dm, rows, err := eventArgs(evs)
	if err != nil {
		return err
	}
	var q strings.Builder
	args := make([]any, 0, len(dm)+1+len(rows)+len(evs))
	if len(dm) > 0 {
		q.WriteString(s.d.expand(dmInsert(len(dm) / 2)))
		q.WriteString(";\n")
		args = append(args, dm...)
	}
	q.WriteString("UPDATE log_seq SET n = LAST_INSERT_ID(n + ?) WHERE id = 1;\n")
	args = append(args, len(evs))
	// Each row's seq is LAST_INSERT_ID() - (k-1-i): the positions the UPDATE just reserved, computed
	// by the server (events has no AUTO_INCREMENT column, so the INSERT leaves LAST_INSERT_ID alone).
	for done := 0; done < len(evs); done += maxBatch {
		n := min(len(evs)-done, maxBatch)
		q.WriteString(eventInsert(n, "LAST_INSERT_ID() - ?"))
		q.WriteString(";\n")
		for i := done; i < done+n; i++ {
			rows[12*i] = len(evs) - 1 - i
		}
		args = append(args, rows[12*done:12*(done+n)]...)
	}
	q.WriteString("COMMIT;\nSELECT LAST_INSERT_ID()")
	var last int64
	if err := tx.QueryRowContext(ctx, q.String(), args...).Scan(&last); err != nil {
		return &commitError{fmt.Errorf("append and commit: %w", err)}
	}
	setSeqs(evs, last)
	return errCommitted
}

// eventArgs returns the conversation index rows of evs (nick, hkey pairs, flattened) and the INSERT
// arguments of evs, 12 per event, the first (seq) left for the caller.
func eventArgs(evs []*Event) (dm, rows []any, err error) {
	// Rows in one order (nick, key) in every transaction, so two batches touching the same
	// conversations cannot deadlock on dm_index.
	var pairs [][2]string
	for _, ev := range evs {
		if a, b, ok := strings.Cut(ev.HistoryKey, dmSep); ok {
			pairs = append(pairs, [2]string{a, ev.HistoryKey}, [2]string{b, ev.HistoryKey})
		}
	}
	slices.SortFunc(pairs, func(x, y [2]string) int {
		return cmp.Or(strings.Compare(x[0], y[0]), strings.Compare(x[1], y[1]))
	})
	pairs = slices.Compact(pairs)
	for _, p := range pairs {
		dm = append(dm, p[0], p[1])
	}
	rows = make([]any, 0, 12*len(evs))
	for _, ev := range evs {
		params, tags := "", ""
		if len(ev.Params) > 0 {
			b, err := json.Marshal(ev.Params)
			if err != nil {
				return nil, nil, err
			}
			params = string(b)
		}
		if len(ev.Tags) > 0 {
			b, err := json.Marshal(ev.Tags)
			if err != nil {
				return nil, nil, err
			}
			tags = string(b)
		}
		rows = append(rows, 0, ev.MsgID, ms(ev.Time), ev.Node, string(ev.Kind), ev.Target, ev.HistoryKey,
			ev.Sender, ev.Account, ev.Text, params, tags)
	}
	return dm, rows, nil
}

// dmInsert is the conversation index INSERT for n (nick, hkey) rows.
func dmInsert(n int) string {
	return `{{insert_ignore}} INTO dm_index (nick, hkey) VALUES (?, ?)` + strings.Repeat(", (?, ?)", n-1)
}

// eventInsert is the INSERT of n events; seq, if not empty, is the SQL of each row's seq column.
func eventInsert(n int, seq string) string {
	row := "(" + placeholders(12) + ")"
	if seq != "" {
		row = "(" + seq + ", " + placeholders(11) + ")"
	}
	return `INSERT INTO events (` + eventCols + `) VALUES ` + row + strings.Repeat(", "+row, n-1)
}

// setSeqs numbers evs, the last one last.
func setSeqs(evs []*Event, last int64) {
	first := last - int64(len(evs)) + 1
	for i, ev := range evs {
		ev.Seq = first + int64(i)
	}
}

func scanEvents(rows *sql.Rows) ([]Event, error) {
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var ev Event
		var t int64
		var kind, params, tags string
		if err := rows.Scan(&ev.Seq, &ev.MsgID, &t, &ev.Node, &kind, &ev.Target, &ev.HistoryKey, &ev.Sender,
			&ev.Account, &ev.Text, &params, &tags); err != nil {
			return nil, err
		}
		ev.Time, ev.Kind = fromMS(t), Kind(kind)
		if params != "" {
			if err := json.Unmarshal([]byte(params), &ev.Params); err != nil {
				return nil, fmt.Errorf("event %d params: %w", ev.Seq, err)
			}
		}
		if tags != "" {
			if err := json.Unmarshal([]byte(tags), &ev.Tags); err != nil {
				return nil, fmt.Errorf("event %d tags: %w", ev.Seq, err)
			}
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

func (s *sqlStore) Head(ctx context.Context) (Cursor, error) {
	var n int64
	if err := s.prepT().QueryRowContext(ctx, `SELECT n FROM log_seq WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("head: %w", err)
	}
	return Cursor(n), nil
}

// Tail returns the committed events after cursor up to the first missing position. Positions are dense
// and commit-ordered (doc.go), so a missing one is a transaction that has not become visible yet: Tail
// stops before it and the next call resumes there. Only a position missing for longer than holeTimeout
// (which the counter protocol cannot produce; a row deleted by hand can) is stepped over, so the log
// cannot stall forever.
func (s *sqlStore) Tail(ctx context.Context, after Cursor, limit int) ([]Event, Cursor, error) {
	if limit <= 0 || limit > maxLimit {
		limit = maxLimit
	}
	// This Store's own events, just committed, are not read back (recent.go). Past the last of
	// them, other nodes' events arrive with their nudge (or the tailer's poll) and are read then.
	if evs, whole := s.recent.after(int64(after), limit); len(evs) > 0 && whole {
		return evs, Cursor(evs[len(evs)-1].Seq), nil
	}
	// Its own pool (sqlStore.t): live delivery never queues behind History.
	rows, err := s.prepT().QueryContext(ctx, `SELECT `+eventCols+` FROM events WHERE seq > ? ORDER BY seq LIMIT ?`,
		int64(after), limit)
	if err != nil {
		return nil, after, fmt.Errorf("tail: %w", err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, after, fmt.Errorf("tail: %w", err)
	}
	next := int64(after)
	for i, ev := range evs {
		if ev.Seq != next+1 && !s.holeExpired(next+1) {
			return evs[:i], Cursor(next), nil
		}
		next = ev.Seq
	}
	return evs, Cursor(next), nil
}

// holeExpired records that seq was found missing and reports whether it has been missing for longer
// than holeTimeout.
func (s *sqlStore) holeExpired(seq int64) bool {
	s.holeMu.Lock()
	defer s.holeMu.Unlock()
	now := s.now()
	first, ok := s.holes[seq]
	if !ok {
		if len(s.holes) > 1024 { // bounded: forget stale observations
			clear(s.holes)
		}
		s.holes[seq] = now
		return false
	}
	if now.Sub(first) < holeTimeout {
		return false
	}
	delete(s.holes, seq)
	return true
}

// bound is one side of a History range: a predicate on seq (msgid reference) or on t (timestamp).
type bound struct {
	col string // "seq" or "t"
	val int64
}

// resolve turns a reference into the value it compares by. A msgid must belong to key.
func (s *sqlStore) resolve(ctx context.Context, key string, r Ref) (bound, error) {
	if r.MsgID == "" {
		return bound{"t", ms(r.Time)}, nil
	}
	var seq int64
	err := s.prepR().QueryRowContext(ctx, `SELECT seq FROM events WHERE msgid = ? AND hkey = ?`, r.MsgID, key).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return bound{}, fmt.Errorf("msgid %q in %q: %w", r.MsgID, key, ErrNotFound)
	}
	return bound{"seq", seq}, err
}

// timeOf returns the time of the event a seq bound refers to, to compare it with a timestamp bound.
func (s *sqlStore) timeOf(ctx context.Context, b bound) (int64, error) {
	if b.col == "t" {
		return b.val, nil
	}
	var t int64
	err := s.prepR().QueryRowContext(ctx, `SELECT t FROM events WHERE seq = ?`, b.val).Scan(&t)
	return t, err
}

// rangeQuery selects events of key with lo < x and x < hi (each bound optional), newest first if
// backward, and returns them oldest first.
func (s *sqlStore) rangeQuery(ctx context.Context, key string, kinds []Kind, lo, hi *bound, incl bool, dir Direction, limit int) ([]Event, error) {
	q := `SELECT ` + eventCols + ` FROM events WHERE hkey = ?`
	args := []any{key}
	if len(kinds) > 0 {
		q += ` AND kind IN (` + placeholders(len(kinds)) + `)`
		for _, k := range kinds {
			args = append(args, string(k))
		}
	}
	gt, lt := " > ?", " < ?"
	if incl {
		gt, lt = " >= ?", " <= ?"
	}
	if lo != nil {
		q += " AND " + lo.col + gt
		args = append(args, lo.val)
	}
	if hi != nil {
		q += " AND " + hi.col + lt
		args = append(args, hi.val)
	}
	// Count in log order even from a timestamp, which only filters. Event times are set by the
	// nodes before they append, so they are not monotonic in Seq, and a client pages on with the
	// msgid of the last event it got: had the first page (AFTER timestamp) been the oldest by time,
	// events after that msgid by time but before it by Seq would be in neither page. The price: from a
	// timestamp, SQLite sorts every event after it (BenchmarkHistoryAfterTime: 20,000 events after
	// the timestamp 3.3 ms, was 0.36 ms; 300 after it 0.44 ms as before). Only the first page of a
	// catch-up pays it: later pages start from a msgid. MariaDB took 0.53-0.57 ms before and after.
	order := "seq"
	if dir == Backward {
		order = "seq DESC"
	}
	q += " ORDER BY " + order + " LIMIT ?"
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	evs, err := scanEvents(rows)
	slices.SortFunc(evs, func(a, b Event) int { return cmp.Compare(a.Seq, b.Seq) })
	return evs, err
}

func (s *sqlStore) History(ctx context.Context, q HistoryQuery) ([]Event, error) {
	evs, err := s.history(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("history %s %q: %w", q.Mode, q.Target, err)
	}
	return evs, nil
}

// ErrBadQuery is returned by History for a malformed query (missing reference, bad mode or limit).
var ErrBadQuery = errors.New("store: bad history query")

func (s *sqlStore) history(ctx context.Context, q HistoryQuery) ([]Event, error) {
	if q.Limit <= 0 {
		return nil, fmt.Errorf("%w: limit %d", ErrBadQuery, q.Limit)
	}
	limit := min(q.Limit, maxLimit)
	needRef := q.Mode != ModeLatest
	if needRef && q.Ref.IsZero() || q.Mode == ModeBetween && q.Ref2.IsZero() {
		return nil, fmt.Errorf("%w: missing reference", ErrBadQuery)
	}
	var ref bound
	if !q.Ref.IsZero() {
		var err error
		if ref, err = s.resolve(ctx, q.Target, q.Ref); err != nil {
			return nil, err
		}
	}
	switch q.Mode {
	case ModeLatest:
		if q.Ref.IsZero() {
			return s.rangeQuery(ctx, q.Target, q.Kinds, nil, nil, false, Backward, limit)
		}
		return s.rangeQuery(ctx, q.Target, q.Kinds, &ref, nil, false, Backward, limit)
	case ModeBefore:
		return s.rangeQuery(ctx, q.Target, q.Kinds, nil, &ref, false, Backward, limit)
	case ModeAfter:
		return s.rangeQuery(ctx, q.Target, q.Kinds, &ref, nil, false, Forward, limit)
	case ModeAround:
		before, err := s.rangeQuery(ctx, q.Target, q.Kinds, nil, &ref, false, Backward, limit/2)
		if err != nil {
			return nil, err
		}
		// The reference itself (for a msgid) and what follows, inclusive.
		rest, err := s.rangeQuery(ctx, q.Target, q.Kinds, &ref, nil, true, Forward, limit-len(before))
		return append(before, rest...), err
	case ModeBetween:
		ref2, err := s.resolve(ctx, q.Target, q.Ref2)
		if err != nil {
			return nil, err
		}
		older := ref.val < ref2.val
		if ref.col != ref2.col {
			t1, err := s.timeOf(ctx, ref)
			if err != nil {
				return nil, err
			}
			t2, err := s.timeOf(ctx, ref2)
			if err != nil {
				return nil, err
			}
			older = t1 < t2
		}
		if older {
			return s.rangeQuery(ctx, q.Target, q.Kinds, &ref, &ref2, false, Forward, limit)
		}
		return s.rangeQuery(ctx, q.Target, q.Kinds, &ref2, &ref, false, Backward, limit)
	}
	return nil, fmt.Errorf("%w: mode %q", ErrBadQuery, q.Mode)
}

func (s *sqlStore) Targets(ctx context.Context, keys []string, from, to time.Time, limit int) ([]TargetInfo, error) {
	if len(keys) == 0 || limit <= 0 {
		return nil, nil
	}
	lo, hi, dir := ms(from), ms(to), "ASC"
	if lo > hi {
		lo, hi, dir = hi, lo, "DESC"
	}
	args := []any{}
	for _, k := range keys {
		args = append(args, k)
	}
	args = append(args, string(KindPrivmsg), string(KindNotice), lo, hi, min(limit, maxLimit))
	rows, err := s.r.QueryContext(ctx, `SELECT hkey, MAX(t) AS latest FROM events
		WHERE hkey IN (`+placeholders(len(keys))+`) AND kind IN (?, ?) AND t > ? AND t < ?
		GROUP BY hkey ORDER BY latest `+dir+`, hkey LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("targets: %w", err)
	}
	defer rows.Close()
	var out []TargetInfo
	for rows.Next() {
		var ti TargetInfo
		var t int64
		if err := rows.Scan(&ti.Target, &t); err != nil {
			return nil, fmt.Errorf("targets: %w", err)
		}
		ti.Latest = fromMS(t)
		out = append(out, ti)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("targets: %w", err)
	}
	if dir == "DESC" {
		slices.Reverse(out)
	}
	return out, nil
}

func (s *sqlStore) Conversations(ctx context.Context, nick string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT hkey FROM dm_index WHERE nick = ? ORDER BY hkey`, Fold(nick))
	if err != nil {
		return nil, fmt.Errorf("conversations of %q: %w", nick, err)
	}
	out, err := scanStrings(rows)
	if err != nil {
		return nil, fmt.Errorf("conversations of %q: %w", nick, err)
	}
	return out, nil
}
