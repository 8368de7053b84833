package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Case is an investigation of one tenant: the hunts run for it and what
// they found. Names are unique within a tenant.
type Case struct {
	ID          int64
	Tenant      string
	Name        string
	Description string
	Created     time.Time
	CreatedBy   string
}

// AddCase creates a case of tenant.
func (s *Store) AddCase(ctx context.Context, tenant, name, description, actor string) (Case, error) {
	if err := checkName("case", name); err != nil {
		return Case{}, err
	}
	c := Case{Tenant: tenant, Name: name, Description: description, Created: fromMicros(micros(s.now())), CreatedBy: actor}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		tid, err := s.tenantID(ctx, tx, tenant)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO cases (tenant_id, name, description, created, created_by) VALUES (?, ?, ?, ?, ?) RETURNING id`),
			tid, name, description, micros(c.Created), actor).Scan(&c.ID)
		if isUnique(err) {
			return fmt.Errorf("case %q: %w", name, ErrExists)
		}
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, tid, c.ID, actor, "case.add", map[string]any{"case": name})
	})
	return c, err
}

const caseColumns = `c.id, t.name, c.name, c.description, c.created, c.created_by`

func scanCase(row interface{ Scan(...any) error }) (Case, error) {
	var c Case
	var created int64
	err := row.Scan(&c.ID, &c.Tenant, &c.Name, &c.Description, &created, &c.CreatedBy)
	c.Created = fromMicros(created)
	return c, err
}

// Cases lists the cases of tenant by name.
func (s *Store) Cases(ctx context.Context, tenant string) ([]Case, error) {
	if _, err := s.tenantID(ctx, s.db, tenant); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+caseColumns+` FROM cases c JOIN tenants t ON t.id = c.tenant_id
		WHERE t.name = ? ORDER BY c.name`), tenant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Case returns the case of tenant named name.
func (s *Store) Case(ctx context.Context, tenant, name string) (Case, error) {
	c, err := scanCase(s.db.QueryRowContext(ctx, s.q(`SELECT `+caseColumns+` FROM cases c JOIN tenants t ON t.id = c.tenant_id
		WHERE t.name = ? AND c.name = ?`), tenant, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Case{}, fmt.Errorf("case %q of tenant %q: %w", name, tenant, ErrNotFound)
	}
	return c, err
}

// caseRef is a case resolved within its tenant: every case-scoped call
// starts here, so a case of another tenant is never reached.
type caseRef struct{ tenantID, caseID int64 }

func (s *Store) resolveCase(ctx context.Context, q querier, tenant, name string) (caseRef, error) {
	var r caseRef
	err := q.QueryRowContext(ctx, s.q(`SELECT c.tenant_id, c.id FROM cases c JOIN tenants t ON t.id = c.tenant_id
		WHERE t.name = ? AND c.name = ?`), tenant, name).Scan(&r.tenantID, &r.caseID)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("case %q of tenant %q: %w", name, tenant, ErrNotFound)
	}
	return r, err
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID     int64
	At     time.Time
	Tenant string
	Case   string // "" for a tenant-wide action
	Actor  string
	Action string
	Detail json.RawMessage
}

// audit appends an entry in the caller's transaction, so an action and its
// entry are written together or not at all. caseID 0 is no case.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, tenantID, caseID int64, actor, action string, detail any) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	var c any
	if caseID != 0 {
		c = caseID
	}
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO audit (at, tenant_id, case_id, actor, action, detail) VALUES (?, ?, ?, ?, ?, ?)`),
		micros(s.now()), tenantID, c, actor, action, string(b))
	return err
}

// Record appends an action of the caller's (a login, an export) to the
// audit log of a case of tenant. There is no call to change or remove an
// entry.
func (s *Store) Record(ctx context.Context, tenant, caseName, actor, action string, detail json.RawMessage) error {
	if action == "" {
		return fmt.Errorf("%w: empty audit action", ErrInvalid)
	}
	if detail == nil {
		detail = json.RawMessage(`{}`)
	}
	if !json.Valid(detail) {
		return fmt.Errorf("%w: audit detail is not JSON", ErrInvalid)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		ref, err := s.resolveCase(ctx, tx, tenant, caseName)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, ref.tenantID, ref.caseID, actor, action, detail)
	})
}

// Audit returns the audit log of a case of tenant, oldest first, at most
// limit entries after the entry with ID after (0: from the start).
func (s *Store) Audit(ctx context.Context, tenant, caseName string, after int64, limit int) ([]AuditEntry, error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, at, actor, action, detail FROM audit
		WHERE tenant_id = ? AND case_id = ? AND id > ? ORDER BY id LIMIT ?`), ref.tenantID, ref.caseID, after, pageLimit(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e := AuditEntry{Tenant: tenant, Case: caseName}
		var at int64
		var detail string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &detail); err != nil {
			return nil, err
		}
		e.At, e.Detail = fromMicros(at), json.RawMessage(detail)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Page sizes: a request for no limit gets DefaultLimit, one for more than
// MaxLimit gets MaxLimit.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

func pageLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}
