package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"
)

// HuntState is where a hunt stands.
type HuntState string

// The states of a hunt. A hunt is running from BeginHunt until its Writer
// finishes it; one whose process died (no sign of life for the store's
// lease) is reported incomplete, as is one its writer abandoned. Only a
// complete hunt's detections are all there.
const (
	HuntRunning    HuntState = "running"
	HuntComplete   HuntState = "complete"
	HuntIncomplete HuntState = "incomplete"
)

// HuntSpec describes a hunt as it starts.
type HuntSpec struct {
	// By is who runs it.
	By string
	// Paths are the evidence it reads.
	Paths []string
	// Rules describes the rule set (sources, counts, filters).
	Rules string
}

// Hunt is one hunt of a case.
type Hunt struct {
	ID       int64
	Case     string
	By       string
	Started  time.Time
	Finished time.Time // zero while running or when never finished
	State    HuntState
	Paths    []string
	Rules    string
	// Detections is how many detections it stored.
	Detections int64
	// Summary is what the hunt reported when it finished (JSON; {} before).
	Summary json.RawMessage
}

// BatchSize is how many detections a Writer buffers before it writes them
// in one transaction. Larger transactions rewrite the hot pages (the
// tails of the time-ordered indexes, the text index's new segment) less
// often: 5,000 costs SQLite about 15% less CPU per detection than 1,000
// (BenchmarkIngest), for a few MB more held.
const BatchSize = 5000

// MaxBatchBytes bounds what a Writer buffers: a batch of large detections
// is written before it has BatchSize of them.
const MaxBatchBytes = 32 << 20

// BeginHunt records a running hunt of a case of tenant and returns the
// Writer that stores its detections.
func (s *Store) BeginHunt(ctx context.Context, tenant, caseName string, spec HuntSpec) (*Writer, error) {
	paths, err := json.Marshal(spec.Paths)
	if err != nil {
		return nil, err
	}
	w := &Writer{s: s, batch: make([]indexRow, 0, BatchSize), stop: make(chan struct{}), done: make(chan struct{})}
	now := micros(s.now())
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		w.ref, err = s.resolveCase(ctx, tx, tenant, caseName)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO hunts (case_id, started_by, started, heartbeat, state, paths, rules, summary)
			VALUES (?, ?, ?, ?, 'running', ?, ?, '{}') RETURNING id`),
			w.ref.caseID, spec.By, now, now, string(paths), spec.Rules).Scan(&w.hunt)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, w.ref.tenantID, w.ref.caseID, spec.By, "hunt.begin", map[string]any{"hunt": w.hunt, "paths": spec.Paths})
	})
	if err != nil {
		return nil, err
	}
	w.by = spec.By
	go w.beat()
	return w, nil
}

// Writer streams the detections of one running hunt into the store in
// batches of BatchSize, each batch one transaction: memory holds at most
// one batch, whatever the hunt finds. It is used by one goroutine (but for
// its heartbeat, which it runs itself). Until Finish the hunt is running;
// a Writer dropped without Finish or Abort leaves it to be reported
// incomplete when its lease runs out.
type Writer struct {
	s     *Store
	ref   caseRef
	hunt  int64
	by    string
	seq   int64 // detections accepted so far
	batch []indexRow
	// batchBytes is what the batch holds (bodies, words, refs).
	batchBytes int
	ended      bool

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// Hunt is the ID of the writer's hunt.
func (w *Writer) Hunt() int64 { return w.hunt }

// beat renews the hunt's lease while the writer is open, so a hunt that
// finds nothing for a while is not taken for a dead one.
func (w *Writer) beat() {
	defer close(w.done)
	t := time.NewTicker(w.s.lease / 4)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), w.s.lease/4)
			w.s.db.ExecContext(ctx, w.s.q(`UPDATE hunts SET heartbeat = ? WHERE id = ? AND state = 'running'`), micros(w.s.now()), w.hunt)
			cancel()
		}
	}
}

func (w *Writer) stopBeat() {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.done
}

// Write adds one detection, the JSON object of `spoor hunt --json`'s
// "detections" array; raw is copied. A detection that is not such an
// object is refused with an error naming its number in the hunt (from 0)
// and nothing else is lost. The batch is written when full.
func (w *Writer) Write(ctx context.Context, raw []byte) error {
	return w.WriteRef(ctx, raw, nil)
}

// WriteRef is Write with what the operation builder needs of the
// detection (hunt.Sink's operation.DetectionRef as JSON; nil for none),
// kept beside it for Refs; ref is copied.
func (w *Writer) WriteRef(ctx context.Context, raw, ref []byte) error {
	if w.ended {
		return ErrFinished
	}
	row, err := indexDetection(raw)
	if err == nil && ref != nil {
		if !utf8.Valid(ref) || !json.Valid(ref) {
			err = fmt.Errorf("%w: operation ref is not JSON", ErrInvalid)
		}
		row.ref = string(ref)
	}
	if err != nil {
		return fmt.Errorf("hunt %d detection %d: %w", w.hunt, w.seq, err)
	}
	w.seq++
	w.batch = append(w.batch, row)
	w.batchBytes += len(row.body) + len(row.words) + len(row.ref)
	if len(w.batch) >= BatchSize || w.batchBytes >= MaxBatchBytes {
		return w.Flush(ctx)
	}
	return nil
}

// Flush writes the buffered detections now.
func (w *Writer) Flush(ctx context.Context) error {
	if w.ended {
		return ErrFinished
	}
	if len(w.batch) == 0 {
		return nil
	}
	err := w.s.inTx(ctx, func(tx *sql.Tx) error { return w.flush(ctx, tx) })
	if err != nil {
		return fmt.Errorf("hunt %d: store detections: %w", w.hunt, err)
	}
	return nil
}

// flush writes the batch in tx and renews the hunt's lease.
func (w *Writer) flush(ctx context.Context, tx *sql.Tx) error {
	first := w.seq - int64(len(w.batch))
	var err error
	if w.s.dialect == postgresDialect {
		err = insertPostgres(ctx, tx, w.ref.caseID, w.hunt, first, w.batch)
	} else {
		err = insertSQLite(ctx, tx, w.ref.caseID, w.hunt, first, w.batch)
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, w.s.q(`UPDATE hunts SET detections = ?, heartbeat = ? WHERE id = ?`), w.seq, micros(w.s.now()), w.hunt)
	if err != nil {
		return err
	}
	clear(w.batch)
	w.batch, w.batchBytes = w.batch[:0], 0
	return nil
}

// Finish writes what is buffered and marks the hunt complete, in one
// transaction: a reader sees the hunt complete with all its detections, or
// running. summary is the hunt's own account (JSON, nil for none).
func (w *Writer) Finish(ctx context.Context, summary json.RawMessage) error {
	return w.end(ctx, HuntComplete, summary)
}

// Abort marks the hunt incomplete (cancelled, failed), keeping the batches
// already written; why goes to its summary. Give it a live context: the
// hunt's own may be the one cancelled.
func (w *Writer) Abort(ctx context.Context, why string) error {
	if w.ended {
		return ErrFinished
	}
	// What is buffered is dropped: the hunt's count is what was stored.
	w.seq -= int64(len(w.batch))
	clear(w.batch)
	w.batch, w.batchBytes = w.batch[:0], 0
	summary, err := json.Marshal(map[string]string{"aborted": why})
	if err != nil {
		return err
	}
	return w.end(ctx, HuntIncomplete, summary)
}

func (w *Writer) end(ctx context.Context, state HuntState, summary json.RawMessage) error {
	if w.ended {
		return ErrFinished
	}
	if summary == nil {
		summary = json.RawMessage(`{}`)
	}
	if !json.Valid(summary) {
		return fmt.Errorf("hunt %d: %w: summary is not JSON", w.hunt, ErrInvalid)
	}
	w.stopBeat()
	err := w.s.inTx(ctx, func(tx *sql.Tx) error {
		if len(w.batch) > 0 {
			if err := w.flush(ctx, tx); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, w.s.q(`UPDATE hunts SET state = ?, finished = ?, detections = ?, summary = ? WHERE id = ? AND state = 'running'`),
			string(state), micros(w.s.now()), w.seq, string(summary), w.hunt)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return ErrFinished
		}
		return w.s.audit(ctx, tx, w.ref.tenantID, w.ref.caseID, w.by, "hunt."+string(state), map[string]any{"hunt": w.hunt, "detections": w.seq})
	})
	if err != nil {
		return fmt.Errorf("hunt %d: finish: %w", w.hunt, err)
	}
	w.ended = true
	return nil
}

// Hunts lists the hunts of a case of tenant, oldest first.
func (s *Store) Hunts(ctx context.Context, tenant, caseName string) ([]Hunt, error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return nil, err
	}
	return s.hunts(ctx, ref, caseName, 0)
}

// Hunt returns one hunt of a case of tenant.
func (s *Store) Hunt(ctx context.Context, tenant, caseName string, id int64) (Hunt, error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return Hunt{}, err
	}
	hs, err := s.hunts(ctx, ref, caseName, id)
	if err != nil {
		return Hunt{}, err
	}
	if len(hs) == 0 {
		return Hunt{}, fmt.Errorf("hunt %d of case %q: %w", id, caseName, ErrNotFound)
	}
	return hs[0], nil
}

func (s *Store) hunts(ctx context.Context, ref caseRef, caseName string, id int64) ([]Hunt, error) {
	query := `SELECT id, started_by, started, finished, heartbeat, state, paths, rules, detections, summary FROM hunts WHERE case_id = ?`
	args := []any{ref.caseID}
	if id != 0 {
		query += ` AND id = ?`
		args = append(args, id)
	}
	rows, err := s.db.QueryContext(ctx, s.q(query+` ORDER BY id`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	stale := micros(s.now().Add(-s.lease))
	var out []Hunt
	for rows.Next() {
		h := Hunt{Case: caseName}
		var started, heartbeat int64
		var finished sql.NullInt64
		var paths, summary string
		if err := rows.Scan(&h.ID, &h.By, &started, &finished, &heartbeat, &h.State, &paths, &h.Rules, &h.Detections, &summary); err != nil {
			return nil, err
		}
		h.Started, h.Summary = fromMicros(started), json.RawMessage(summary)
		if finished.Valid {
			h.Finished = fromMicros(finished.Int64)
		}
		if h.State == HuntRunning && heartbeat < stale {
			h.State = HuntIncomplete
		}
		if err := json.Unmarshal([]byte(paths), &h.Paths); err != nil {
			return nil, fmt.Errorf("hunt %d: paths: %w", h.ID, err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}
