package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Appends are group-committed: concurrent Append calls on one Store are queued to a single committer
// goroutine, which writes everything queued so far in one transaction (one counter bump, one multi-row
// INSERT, one commit and so one log flush). Under load, batches grow by themselves while the previous
// commit is in flight; an Append alone is committed at once, as a batch of one. Every Append still
// returns only after its own event is committed.

// committers is the number of batches one Store may have in flight. Two let the next batch take the log
// counter while the previous one waits for its log flush (InnoDB releases row locks before it flushes),
// so a node is not limited to one flush per batch.
const committers = 2

// maxBatch bounds the events of one transaction (and the placeholders of its INSERT).
const maxBatch = 256

// commitTimeout bounds one batch transaction. It is not a caller's context: a batch serves many callers.
const commitTimeout = 30 * time.Second

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("store: closed")

type appendReq struct {
	ctx  context.Context
	ev   *Event
	done chan error // buffered: the committer never blocks on a caller that gave up
}

func (s *sqlStore) startCommitter() {
	s.appendCh = make(chan *appendReq)
	s.quit = make(chan struct{})
	s.committersDone.Add(committers)
	for range committers {
		go s.commitLoop()
	}
}

func (s *sqlStore) stopCommitter() {
	s.closeOnce.Do(func() {
		close(s.quit)
		s.committersDone.Wait()
	})
}

// Append queues ev for the committer and waits for its transaction. If ctx ends first, Append returns
// ctx's error, and the event may or may not have been committed (as with any commit whose reply is
// lost); it is then never delivered to this caller's client, so "seen implies in history" still holds.
func (s *sqlStore) Append(ctx context.Context, ev *Event) error {
	if err := prepareEvent(ev); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	ev.Seq = 0
	req := &appendReq{ctx: ctx, ev: ev, done: make(chan error, 1)}
	select {
	case s.appendCh <- req:
	case <-s.quit:
		return fmt.Errorf("append %s: %w", ev.Kind, ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("append %s: %w", ev.Kind, ctx.Err())
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("append %s: outcome unknown: %w", ev.Kind, ctx.Err())
	}
}

func (s *sqlStore) commitLoop() {
	defer s.committersDone.Done()
	for {
		var first *appendReq
		select {
		case first = <-s.appendCh:
		case <-s.quit:
			return
		}
		batch := []*appendReq{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-s.appendCh:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.batches.Add(1)
		s.batched.Add(int64(len(batch)))
		s.commitBatch(batch)
	}
}

// commitBatch commits the events of batch in one transaction and answers every request. If the batch
// fails because one event is a duplicate, the events are committed one by one so that only the
// duplicate fails.
func (s *sqlStore) commitBatch(batch []*appendReq) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- fmt.Errorf("append %s: %w", r.ev.Kind, err)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	err := s.commitEvents(live)
	if err == nil {
		for _, r := range live {
			r.done <- nil
		}
		return
	}
	if len(live) > 1 && s.d.isDuplicate(err) {
		for _, r := range live {
			r.done <- s.commitEvents([]*appendReq{r})
		}
		return
	}
	for _, r := range live {
		r.done <- err
	}
}

func (s *sqlStore) commitEvents(reqs []*appendReq) error {
	evs := make([]*Event, len(reqs))
	for i, r := range reqs {
		evs[i] = r.ev
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	err := s.inTx(ctx, func(tx *sql.Tx) error { return s.appendTx(ctx, tx, evs) })
	if err != nil && s.resolveAppend != nil {
		err = s.resolveAppend(ctx, evs, err, func() error {
			return s.inTx(ctx, func(tx *sql.Tx) error { return s.appendTx(ctx, tx, evs) })
		})
	}
	if err == nil {
		return nil
	}
	for _, ev := range evs {
		ev.Seq = 0
	}
	if len(evs) == 1 && s.d.isDuplicate(err) {
		return fmt.Errorf("append %s: msgid %q: %w", evs[0].Kind, evs[0].MsgID, ErrExists)
	}
	if len(evs) == 1 {
		return fmt.Errorf("append %s: %w", evs[0].Kind, err)
	}
	return fmt.Errorf("append batch of %d: %w", len(evs), err)
}
