package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// TriageState is an analyst's verdict on a detection or an operation.
type TriageState string

// The triage states; an object nobody has triaged is TriageNew.
const (
	TriageNew           TriageState = "new"
	TriageInvestigating TriageState = "investigating"
	TriageMalicious     TriageState = "malicious" // confirmed malicious
	TriageBenign        TriageState = "benign"
	TriageFalsePositive TriageState = "false-positive"
)

func (t TriageState) valid() bool {
	switch t {
	case TriageNew, TriageInvestigating, TriageMalicious, TriageBenign, TriageFalsePositive:
		return true
	}
	return false
}

// Kinds of object triaged.
const (
	KindDetection = "detection"
	KindOperation = "operation"
)

// Triage is the analysts' state of one detection or operation of a case.
type Triage struct {
	// Kind is KindDetection or KindOperation; ID the detection's store ID
	// (in decimal) or the operation's id.
	Kind, ID  string
	State     TriageState
	Assignee  string
	Notes     string
	Updated   time.Time // zero when never triaged
	UpdatedBy string
}

// SetTriage sets the triage of a detection or operation of a case of
// tenant; the change goes to the audit log with who made it, in the same
// transaction.
func (s *Store) SetTriage(ctx context.Context, tenant, caseName string, t Triage, actor string) error {
	if !t.State.valid() {
		return fmt.Errorf("%w: triage state %q", ErrInvalid, t.State)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		ref, err := s.resolveCase(ctx, tx, tenant, caseName)
		if err != nil {
			return err
		}
		if t.ID, err = s.checkObject(ctx, tx, ref, t.Kind, t.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO triage (case_id, kind, object_id, state, assignee, notes, updated, updated_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (case_id, kind, object_id) DO UPDATE SET state = excluded.state, assignee = excluded.assignee,
				notes = excluded.notes, updated = excluded.updated, updated_by = excluded.updated_by`),
			ref.caseID, t.Kind, t.ID, string(t.State), t.Assignee, t.Notes, micros(s.now()), actor)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, ref.tenantID, ref.caseID, actor, "triage.set", map[string]any{
			"kind": t.Kind, "id": t.ID, "state": t.State, "assignee": t.Assignee, "notes": t.Notes})
	})
}

// checkObject makes sure the object triaged belongs to the case, and
// returns its id as triage keys it: a detection's in plain decimal, so
// "007" or "+7" is detection 7's triage, never a record of its own that
// the detection's pages do not show.
func (s *Store) checkObject(ctx context.Context, q querier, ref caseRef, kind, id string) (string, error) {
	var query string
	var key any = id
	switch kind {
	case KindDetection:
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return "", fmt.Errorf("%w: detection id %q", ErrInvalid, id)
		}
		query, key, id = `SELECT 1 FROM detections WHERE case_id = ? AND id = ?`, n, strconv.FormatInt(n, 10)
	case KindOperation:
		query = `SELECT 1 FROM operations WHERE case_id = ? AND op_id = ?`
	default:
		return "", fmt.Errorf("%w: kind %q", ErrInvalid, kind)
	}
	var one int
	err := q.QueryRowContext(ctx, s.q(query), ref.caseID, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%s %s: %w", kind, id, ErrNotFound)
	}
	return id, err
}

// GetTriage returns the triage of a detection or operation of a case of
// tenant: State TriageNew when nobody has set one.
func (s *Store) GetTriage(ctx context.Context, tenant, caseName, kind, id string) (Triage, error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return Triage{}, err
	}
	if id, err = s.checkObject(ctx, s.db, ref, kind, id); err != nil {
		return Triage{}, err
	}
	t := Triage{Kind: kind, ID: id, State: TriageNew}
	var updated int64
	err = s.db.QueryRowContext(ctx, s.q(`SELECT state, assignee, notes, updated, updated_by FROM triage
		WHERE case_id = ? AND kind = ? AND object_id = ?`), ref.caseID, kind, id).
		Scan(&t.State, &t.Assignee, &t.Notes, &updated, &t.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return t, nil
	}
	t.Updated = fromMicros(updated)
	return t, err
}
