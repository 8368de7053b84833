package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CaseFilter is a Sigma filter document kept with a case: later hunts into
// the case load it beside their rules.
type CaseFilter struct {
	ID        int64
	Title     string
	Rule      string // the rule it silences
	Body      []byte // the Sigma document (YAML)
	Created   time.Time
	CreatedBy string
}

// MaxFilterBody bounds a filter document.
const MaxFilterBody = 64 << 10

// AddFilter keeps a filter with a case of tenant and records it in the
// audit log, in one transaction.
func (s *Store) AddFilter(ctx context.Context, tenant, caseName string, f CaseFilter, actor string) (CaseFilter, error) {
	if len(f.Body) == 0 || len(f.Body) > MaxFilterBody {
		return CaseFilter{}, fmt.Errorf("%w: filter of %d bytes (1 to %d)", ErrInvalid, len(f.Body), MaxFilterBody)
	}
	f.Created, f.CreatedBy = fromMicros(micros(s.now())), actor
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ref, err := s.resolveCase(ctx, tx, tenant, caseName)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO case_filters (case_id, title, rule_id, body, created, created_by)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`), ref.caseID, f.Title, f.Rule, string(f.Body), micros(f.Created), actor).Scan(&f.ID)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, ref.tenantID, ref.caseID, actor, "filter.add", map[string]any{"filter": f.ID, "rule": f.Rule, "title": f.Title})
	})
	return f, err
}

// Filters lists the filters of a case of tenant, oldest first.
func (s *Store) Filters(ctx context.Context, tenant, caseName string) ([]CaseFilter, error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, title, rule_id, body, created, created_by FROM case_filters
		WHERE case_id = ? ORDER BY id`), ref.caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []CaseFilter{}
	for rows.Next() {
		var f CaseFilter
		var body string
		var created int64
		if err := rows.Scan(&f.ID, &f.Title, &f.Rule, &body, &created, &f.CreatedBy); err != nil {
			return nil, err
		}
		f.Body, f.Created = []byte(body), fromMicros(created)
		out = append(out, f)
	}
	return out, rows.Err()
}

// RemoveFilter removes a filter of a case of tenant; later hunts no longer
// apply it. The removal is in the audit log.
func (s *Store) RemoveFilter(ctx context.Context, tenant, caseName string, id int64, actor string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		ref, err := s.resolveCase(ctx, tx, tenant, caseName)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM case_filters WHERE case_id = ? AND id = ?`), ref.caseID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("filter %d of case %q: %w", id, caseName, ErrNotFound)
		}
		return s.audit(ctx, tx, ref.tenantID, ref.caseID, actor, "filter.remove", map[string]any{"filter": id})
	})
}

// HuntDetectionIDs returns the store IDs of a hunt's detections in the
// order the hunt wrote them: the i-th is the detection the hunt's result
// numbered i (operations refer to detections by that number).
func (s *Store) HuntDetectionIDs(ctx context.Context, tenant, caseName string, hunt int64) ([]int64, error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return nil, err
	}
	var n int64
	err = s.db.QueryRowContext(ctx, s.q(`SELECT detections FROM hunts WHERE case_id = ? AND id = ?`), ref.caseID, hunt).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("hunt %d of case %q: %w", hunt, caseName, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id FROM detections WHERE case_id = ? AND hunt_id = ? ORDER BY seq`), ref.caseID, hunt)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]int64, 0, min(n, 1<<20))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
