package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"
)

// Operation is a stored operation: its JSON exactly as it was written.
type Operation struct {
	// ID is the operation's own id ("op-…").
	ID    string
	Built time.Time
	JSON  json.RawMessage
}

// ReplaceOperations makes ops (objects of `spoor hunt --json`'s
// "operations") the operations of a case of tenant, in one transaction:
// those of the last build are gone, and a reader sees the old set or the
// new one. An operation that is not such an object is refused with an
// error naming its index in ops, and nothing changes.
func (s *Store) ReplaceOperations(ctx context.Context, tenant, caseName string, ops []json.RawMessage, actor string) error {
	return s.ReplaceOperationsSeq(ctx, tenant, caseName, func(yield func(json.RawMessage, error) bool) {
		for _, raw := range ops {
			if !yield(raw, nil) {
				return
			}
		}
	}, actor)
}

// ReplaceOperationsSeq is ReplaceOperations with the operations given one
// at a time, each read and written before the next is asked for, so that
// the caller need not hold every operation's JSON at once (a case's
// operations can be a hundred megabytes of it). An error from ops ends the
// transaction, nothing changed, and is returned.
func (s *Store) ReplaceOperationsSeq(ctx context.Context, tenant, caseName string, ops iter.Seq2[json.RawMessage, error], actor string) error {
	built := micros(s.now())
	return s.inTx(ctx, func(tx *sql.Tx) error {
		ref, err := s.resolveCase(ctx, tx, tenant, caseName)
		if err != nil {
			return err
		}
		// Two rebuilds of the case at once (a rebuild lease passing between
		// fleet workers, a hunt into the case beside them) take turns: each
		// would delete only what was committed and insert ids the other's
		// uncommitted set holds.
		if err := s.lockCase(ctx, tx, ref.caseID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM operations WHERE case_id = ?`), ref.caseID); err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, s.q(`INSERT INTO operations (case_id, op_id, severity_rank, score, first_at, last_at, hosts, body, built)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`))
		if err != nil {
			return err
		}
		defer ins.Close()
		n := 0
		for raw, err := range ops {
			if err != nil {
				return err
			}
			r, err := indexOperation(raw)
			if err != nil {
				return fmt.Errorf("operation %d: %w", n, err)
			}
			_, err = ins.ExecContext(ctx, ref.caseID, r.id, r.severityRank, r.score, r.first, r.last, r.hosts, string(r.body), built)
			if isUnique(err) {
				return fmt.Errorf("operation %d: %w: id %q twice", n, ErrInvalid, r.id)
			}
			if err != nil {
				return fmt.Errorf("operation %d: %w", n, err)
			}
			n++
		}
		return s.audit(ctx, tx, ref.tenantID, ref.caseID, actor, "operations.build", map[string]any{"operations": n})
	})
}

// Operations returns the operations of a case of tenant, highest score
// first.
func (s *Store) Operations(ctx context.Context, tenant, caseName string) ([]Operation, error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT op_id, built, body FROM operations WHERE case_id = ?
		ORDER BY score DESC, severity_rank DESC, first_at, op_id`), ref.caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Operation
	for rows.Next() {
		var o Operation
		var built int64
		var body string
		if err := rows.Scan(&o.ID, &built, &body); err != nil {
			return nil, err
		}
		o.Built, o.JSON = fromMicros(built), json.RawMessage(body)
		out = append(out, o)
	}
	return out, rows.Err()
}

// GetOperation returns one operation of a case of tenant by its id.
func (s *Store) GetOperation(ctx context.Context, tenant, caseName, id string) (Operation, error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return Operation{}, err
	}
	o := Operation{ID: id}
	var built int64
	var body string
	err = s.db.QueryRowContext(ctx, s.q(`SELECT built, body FROM operations WHERE case_id = ? AND op_id = ?`), ref.caseID, id).Scan(&built, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return Operation{}, fmt.Errorf("operation %q of case %q: %w", id, caseName, ErrNotFound)
	}
	o.Built, o.JSON = fromMicros(built), json.RawMessage(body)
	return o, err
}

// lockCase holds the case's row until tx ends, so that replacements of
// one of its sets take turns. SQLite has one writer anyway.
func (s *Store) lockCase(ctx context.Context, tx *sql.Tx, caseID int64) error {
	if s.dialect != postgresDialect {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT id FROM cases WHERE id = $1 FOR UPDATE`, caseID)
	return err
}
