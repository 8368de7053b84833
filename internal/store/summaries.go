package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// SummaryKinds are the kinds of summary a hunt's evidence has
// (internal/digest): the JSON of `spoor metrics`, `spoor logons` and
// `spoor gaps`.
var SummaryKinds = []string{"metrics", "logons", "gaps"}

// MaxSummarySize bounds one summary's JSON.
const MaxSummarySize = 16 << 20

// HuntSummary is one summary of one hunt's evidence.
type HuntSummary struct {
	Hunt int64
	Body json.RawMessage
}

// SaveSummary keeps the summary of kind (one of SummaryKinds) of the
// evidence of a hunt of a case of tenant, replacing the hunt's earlier
// one of that kind.
func (s *Store) SaveSummary(ctx context.Context, tenant, caseName string, hunt int64, kind string, body []byte) error {
	if !slices.Contains(SummaryKinds, kind) {
		return fmt.Errorf("%w: summary kind %q (want one of %v)", ErrInvalid, kind, SummaryKinds)
	}
	if len(body) == 0 || len(body) > MaxSummarySize || !json.Valid(body) {
		return fmt.Errorf("%w: %s summary of hunt %d: not JSON of 1 to %d bytes", ErrInvalid, kind, hunt, MaxSummarySize)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		ref, err := s.resolveCase(ctx, tx, tenant, caseName)
		if err != nil {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM hunts WHERE case_id = ? AND id = ?`), ref.caseID, hunt).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("hunt %d of case %q: %w", hunt, caseName, ErrNotFound)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO hunt_summaries (case_id, hunt_id, kind, body) VALUES (?, ?, ?, ?)
			ON CONFLICT (case_id, kind, hunt_id) DO UPDATE SET body = excluded.body`), ref.caseID, hunt, kind, string(body))
		return err
	})
}

// Summaries returns the summaries of kind of the complete hunts of a case
// of tenant that have one, oldest hunt first.
func (s *Store) Summaries(ctx context.Context, tenant, caseName, kind string) ([]HuntSummary, error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT m.hunt_id, m.body FROM hunt_summaries m JOIN hunts h ON h.id = m.hunt_id
		WHERE m.case_id = ? AND m.kind = ? AND h.state = 'complete' ORDER BY m.hunt_id`), ref.caseID, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []HuntSummary{}
	for rows.Next() {
		var h HuntSummary
		var body string
		if err := rows.Scan(&h.Hunt, &body); err != nil {
			return nil, err
		}
		h.Body = json.RawMessage(body)
		out = append(out, h)
	}
	return out, rows.Err()
}
