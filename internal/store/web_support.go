package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// What `spoor serve` (internal/server) needs of the store beyond the calls
// the rest of the store's users share.

// WithPasswordCost sets the argon2id cost of the passwords the store hashes
// from now on: passes, memory in KiB and threads (at least 1 each). Stored
// hashes keep the cost they were made with. Tests of packages above the
// store lower it; a server may raise it.
func WithPasswordCost(passes, memoryKiB uint32, threads uint8) Option {
	return func(s *Store) {
		if passes >= 1 && memoryKiB >= 8*uint32(max(threads, 1)) && threads >= 1 {
			s.argon = argonParams{time: passes, memory: memoryKiB, threads: threads}
		}
	}
}

// GetUser returns the user of tenant named name, disabled or not: a
// session checks on each request that its user still may act, and as who.
func (s *Store) GetUser(ctx context.Context, tenant, name string) (User, error) {
	u := User{Tenant: tenant, Name: name}
	var disabled int
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT u.id, u.role, u.disabled, u.created
		FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.name = ? AND u.name = ?`), tenant, name).
		Scan(&u.ID, &u.Role, &disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %q of tenant %q: %w", name, tenant, ErrNotFound)
	}
	if err != nil {
		return User{}, err
	}
	u.Disabled, u.Created = disabled != 0, fromMicros(created)
	return u, nil
}

// Triages returns the triage of the objects of one kind of a case of
// tenant, by id: those never triaged are left out (they are TriageNew).
// It reads a page's worth in a few queries where GetTriage takes one per
// object; ids not of the case are ignored.
func (s *Store) Triages(ctx context.Context, tenant, caseName, kind string, ids []string) (map[string]Triage, error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return nil, err
	}
	out := map[string]Triage{}
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := []any{ref.caseID, kind}
		for _, id := range part {
			args = append(args, id)
		}
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT object_id, state, assignee, notes, updated, updated_by FROM triage
			WHERE case_id = ? AND kind = ? AND object_id IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(part)), ", ")+`)`), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			t := Triage{Kind: kind}
			var updated int64
			if err := rows.Scan(&t.ID, &t.State, &t.Assignee, &t.Notes, &updated, &t.UpdatedBy); err != nil {
				rows.Close()
				return nil, err
			}
			t.Updated = fromMicros(updated)
			out[t.ID] = t
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TenantAudit returns the audit log of a whole tenant, oldest first: its
// users' changes (Case "") and its cases' entries, at most limit after the
// entry with ID after (0: from the start).
func (s *Store) TenantAudit(ctx context.Context, tenant string, after int64, limit int) ([]AuditEntry, error) {
	tid, err := s.tenantID(ctx, s.db, tenant)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT a.id, a.at, COALESCE(c.name, ''), a.actor, a.action, a.detail
		FROM audit a LEFT JOIN cases c ON c.id = a.case_id
		WHERE a.tenant_id = ? AND a.id > ? ORDER BY a.id LIMIT ?`), tid, after, pageLimit(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e := AuditEntry{Tenant: tenant}
		var at int64
		var detail string
		if err := rows.Scan(&e.ID, &at, &e.Case, &e.Actor, &e.Action, &detail); err != nil {
			return nil, err
		}
		e.At, e.Detail = fromMicros(at), json.RawMessage(detail)
		out = append(out, e)
	}
	return out, rows.Err()
}
