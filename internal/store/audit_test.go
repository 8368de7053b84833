package store

import (
	"context"
	"testing"
)

// TestAuditNotReplaced: an entry cannot be rewritten by inserting over
// it either (SQLite's REPLACE deletes the old row without firing the
// delete trigger; PostgreSQL's upsert updates it).
func TestAuditNotReplaced(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		setup(t, s)
		stmt := `INSERT OR REPLACE INTO audit (id, at, tenant_id, case_id, actor, action, detail)
			SELECT id, at, tenant_id, case_id, 'mallory', action, detail FROM audit`
		if s.dialect == postgresDialect {
			stmt = `INSERT INTO audit (id, at, tenant_id, case_id, actor, action, detail)
				SELECT id, at, tenant_id, case_id, 'mallory', action, detail FROM audit
				ON CONFLICT (id) DO UPDATE SET actor = excluded.actor`
		}
		if _, err := s.db.ExecContext(ctx, stmt); err == nil {
			t.Errorf("rewriting the audit log by insertion: got no error")
		}
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM audit WHERE actor = 'mallory'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("got %d rewritten entries (%v), want 0", n, err)
		}
	})
}
