package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TAXIIObject is one version of a STIX object kept in a TAXII collection.
// The store reads none of the JSON: the caller (internal/taxii) parsed
// the id, type, spec_version and version out of it.
type TAXIIObject struct {
	ID          string
	Type        string
	SpecVersion string
	// Version is the object's modified time, else its created time, else
	// when it was added; kept to the microsecond.
	Version time.Time
	// DateAdded is set by the store when the object is added.
	DateAdded time.Time
	JSON      json.RawMessage
	// Refused is set by AddTAXIIObjects to why the object was not added:
	// it is one of spoor's own exported objects, which only spoor adds
	// versions of.
	Refused string
}

// ExportActor adds a case's own export to its collection (AddTAXIIExport);
// no user may be named so.
const ExportActor = "spoor"

// TAXIIQuery selects object versions of a collection. Lists are ORed
// within, and the fields ANDed.
type TAXIIQuery struct {
	// AddedAfter keeps objects added after it (zero: all).
	AddedAfter time.Time
	IDs, Types []string
	// Versions holds "first", "last", "all" or exact versions (microsecond
	// timestamps, as TAXIIVersion writes them); none is "last". "first"
	// and "last" are among the versions of the spec versions asked.
	Versions     []string
	SpecVersions []string
	// Limit is the largest page (1 to MaxTAXIIPage; 0 is MaxTAXIIPage).
	Limit int
	// After continues a page: the Next of the page before.
	After string
}

// TAXIIPage is a page of object versions in the order they were added.
type TAXIIPage struct {
	Objects []TAXIIObject
	// Next continues the listing ("" when there is no more).
	Next string
}

// MaxTAXIIPage bounds a page of TAXII objects, and each list of a
// TAXIIQuery; MaxTAXIIPageBytes the JSON of a page's objects, so memory
// is bounded whatever sizes the objects added have.
const (
	MaxTAXIIPage      = 1000
	MaxTAXIIPageBytes = 32 << 20
)

// TAXIIGrant is a user's access to one collection; it can only take away
// what the user's role allows.
type TAXIIGrant struct {
	Collection  string
	User        string
	Read, Write bool
}

// AddTAXIIObjects adds objects to a collection of tenant (a case's when
// caseName is set, resolved within the tenant) and records the add in the
// audit log, in one transaction. An object whose id and version the
// collection holds already is left as it was: added reports false for it.
// Each object added gets its own date_added, later than any before in the
// collection; each objs[i].DateAdded is set to its date_added (the one
// it had for an object held already).
func (s *Store) AddTAXIIObjects(ctx context.Context, tenant, caseName, collection string, objs []TAXIIObject, actor string) (added []bool, err error) {
	return s.addTAXII(ctx, tenant, caseName, collection, objs, actor, "")
}

// AddTAXIIExport adds a case's own export to its collection, as
// AddTAXIIObjects, and records stamp (OperationsStamp) as the build it
// came from.
func (s *Store) AddTAXIIExport(ctx context.Context, tenant, caseName, collection string, objs []TAXIIObject, stamp string) error {
	if caseName == "" || stamp == "" {
		return fmt.Errorf("%w: an export needs its case and stamp", ErrInvalid)
	}
	_, err := s.addTAXII(ctx, tenant, caseName, collection, objs, ExportActor, stamp)
	return err
}

func (s *Store) addTAXII(ctx context.Context, tenant, caseName, collection string, objs []TAXIIObject, actor, stamp string) ([]bool, error) {
	if collection == "" {
		return nil, fmt.Errorf("%w: no collection", ErrInvalid)
	}
	for i, o := range objs {
		if o.ID == "" || o.Type == "" || o.SpecVersion == "" || !json.Valid(o.JSON) {
			return nil, fmt.Errorf("%w: TAXII object %d: id, type, spec_version and JSON needed", ErrInvalid, i)
		}
	}
	added := make([]bool, len(objs))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ref, err := s.collectionRef(ctx, tx, tenant, caseName)
		if err != nil {
			return err
		}
		var caseID any
		if ref.caseID != 0 {
			caseID = ref.caseID
		}
		if s.dialect == postgresDialect {
			// Adds to a tenant's collections one at a time, as SQLite's
			// write lock makes them: two at once would share date_added
			// values, and a client paging by added_after could miss some.
			if _, err := tx.ExecContext(ctx, s.q(`SELECT id FROM tenants WHERE id = ? FOR UPDATE`), ref.tenantID); err != nil {
				return err
			}
		}
		var last int64
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COALESCE(MAX(date_added), 0) FROM taxii_objects
			WHERE tenant_id = ? AND collection = ?`), ref.tenantID, collection).Scan(&last); err != nil {
			return err
		}
		at := max(micros(s.now()), last+1)
		ins, err := tx.PrepareContext(ctx, s.q(`INSERT INTO taxii_objects
			(tenant_id, case_id, collection, object_id, type, spec_version, version, date_added, added_by, body)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`))
		if err != nil {
			return err
		}
		defer ins.Close()
		// Export ids are spoor's: a partner may not add versions of them
		// (a newer one would stand for spoor's), and the export removes
		// any a partner added before spoor first exported the object.
		var owned *sql.Stmt
		if stamp == "" {
			owned, err = tx.PrepareContext(ctx, s.q(`SELECT COUNT(*) FROM taxii_objects
				WHERE tenant_id = ? AND collection = ? AND object_id = ? AND added_by = ?`))
		} else {
			owned, err = tx.PrepareContext(ctx, s.q(`DELETE FROM taxii_objects
				WHERE tenant_id = ? AND collection = ? AND object_id = ? AND added_by <> ?`))
		}
		if err != nil {
			return err
		}
		defer owned.Close()
		n := 0
		for i, o := range objs {
			if stamp == "" {
				var k int
				if err := owned.QueryRowContext(ctx, ref.tenantID, collection, o.ID, ExportActor).Scan(&k); err != nil {
					return fmt.Errorf("TAXII object %d: %w", i, err)
				}
				if k > 0 {
					objs[i].Refused = "an object of spoor's own export of the case: only spoor adds versions of it"
					continue
				}
			} else if _, err := owned.ExecContext(ctx, ref.tenantID, collection, o.ID, ExportActor); err != nil {
				return fmt.Errorf("TAXII object %d: %w", i, err)
			}
			res, err := ins.ExecContext(ctx, ref.tenantID, caseID, collection, o.ID, o.Type, o.SpecVersion,
				micros(o.Version), at, actor, string(o.JSON))
			if err != nil {
				return fmt.Errorf("TAXII object %d: %w", i, err)
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if k > 0 {
				added[i] = true
				objs[i].DateAdded = fromMicros(at)
				at++
				n++
				continue
			}
			// Held already: when it was added is what the caller reports.
			var was int64
			if err := tx.QueryRowContext(ctx, s.q(`SELECT date_added FROM taxii_objects
				WHERE tenant_id = ? AND collection = ? AND object_id = ? AND version = ?`),
				ref.tenantID, collection, o.ID, micros(o.Version)).Scan(&was); err != nil {
				return fmt.Errorf("TAXII object %d: %w", i, err)
			}
			objs[i].DateAdded = fromMicros(was)
		}
		if stamp != "" {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO taxii_exports (case_id, stamp) VALUES (?, ?)
				ON CONFLICT (case_id) DO UPDATE SET stamp = excluded.stamp`), ref.caseID, stamp); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, ref.tenantID, ref.caseID, actor, "taxii.add",
			map[string]any{"collection": collection, "objects": len(objs), "added": n})
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

// collectionRef resolves where a collection lives: a case of tenant, or
// the tenant itself when caseName is "" (caseID 0).
func (s *Store) collectionRef(ctx context.Context, q querier, tenant, caseName string) (caseRef, error) {
	if caseName != "" {
		return s.resolveCase(ctx, q, tenant, caseName)
	}
	id, err := s.tenantID(ctx, q, tenant)
	return caseRef{tenantID: id}, err
}

// TAXIIVersion writes a version or date_added as TAXII and STIX write
// timestamps: UTC, to the millisecond, or the microsecond when it has one.
func TAXIIVersion(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()%int(time.Millisecond) == 0 {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	return t.Format("2006-01-02T15:04:05.000000Z")
}

// TAXIIObjects returns a page of the object versions of a collection of
// tenant that q selects, in the order they were added. A collection that
// holds nothing is an empty page: the caller knows which collections exist.
func (s *Store) TAXIIObjects(ctx context.Context, tenant, collection string, q TAXIIQuery) (TAXIIPage, error) {
	limit := q.Limit
	if limit <= 0 || limit > MaxTAXIIPage {
		limit = MaxTAXIIPage
	}
	tid, err := s.tenantID(ctx, s.db, tenant)
	if err != nil {
		return TAXIIPage{}, err
	}
	var where strings.Builder
	args := []any{tid, collection}
	where.WriteString(`o.tenant_id = ? AND o.collection = ?`)
	in := func(col string, vals []string) error {
		if len(vals) == 0 {
			return nil
		}
		if len(vals) > MaxTAXIIPage {
			return fmt.Errorf("%w: %d values for %s (at most %d)", ErrInvalid, len(vals), col, MaxTAXIIPage)
		}
		where.WriteString(` AND ` + col + ` IN (?` + strings.Repeat(`, ?`, len(vals)-1) + `)`)
		for _, v := range vals {
			args = append(args, v)
		}
		return nil
	}
	if !q.AddedAfter.IsZero() {
		where.WriteString(` AND o.date_added > ?`)
		args = append(args, micros(q.AddedAfter))
	}
	for _, f := range []struct {
		col  string
		vals []string
	}{{"o.object_id", q.IDs}, {"o.type", q.Types}, {"o.spec_version", q.SpecVersions}} {
		if err := in(f.col, f.vals); err != nil {
			return TAXIIPage{}, err
		}
	}
	vcond, vargs, err := s.versionCondition(q)
	if err != nil {
		return TAXIIPage{}, err
	}
	if vcond != "" {
		where.WriteString(` AND (` + vcond + `)`)
		args = append(args, vargs...)
	}
	if q.After != "" {
		at, id, err := parseTAXIICursor(q.After)
		if err != nil {
			return TAXIIPage{}, err
		}
		where.WriteString(` AND (o.date_added > ? OR (o.date_added = ? AND o.id > ?))`)
		args = append(args, at, at, id)
	}
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT o.id, o.object_id, o.type, o.spec_version, o.version, o.date_added, o.body
		FROM taxii_objects o WHERE `+where.String()+` ORDER BY o.date_added, o.id LIMIT ?`), args...)
	if err != nil {
		return TAXIIPage{}, err
	}
	defer rows.Close()
	var page TAXIIPage
	var lastAt, lastID int64
	size := 0
	for rows.Next() {
		var o TAXIIObject
		var id, version, added int64
		var body string
		if err := rows.Scan(&id, &o.ID, &o.Type, &o.SpecVersion, &version, &added, &body); err != nil {
			return TAXIIPage{}, err
		}
		// A page ends at limit objects, or before the object that would
		// take it past MaxTAXIIPageBytes (a page holds one object at least).
		if len(page.Objects) == limit || (len(page.Objects) > 0 && size+len(body) > MaxTAXIIPageBytes) {
			page.Next = strconv.FormatInt(lastAt, 10) + "-" + strconv.FormatInt(lastID, 10)
			break
		}
		size += len(body)
		lastAt, lastID = added, id
		o.Version, o.DateAdded, o.JSON = fromMicros(version), fromMicros(added), json.RawMessage(body)
		page.Objects = append(page.Objects, o)
	}
	return page, rows.Err()
}

// DeleteTAXIIObject removes versions of an object from a collection of
// tenant (a case's when caseName is set): those q.Versions and
// q.SpecVersions select, every version when q.Versions is empty. It
// returns how many were removed (0: ErrNotFound), and is audited.
func (s *Store) DeleteTAXIIObject(ctx context.Context, tenant, caseName, collection, objectID string, q TAXIIQuery, actor string) (int64, error) {
	if len(q.Versions) == 0 {
		q.Versions = []string{"all"}
	}
	vcond, vargs, err := s.versionCondition(q)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		ref, err := s.collectionRef(ctx, tx, tenant, caseName)
		if err != nil {
			return err
		}
		where := `o.tenant_id = ? AND o.collection = ? AND o.object_id = ?`
		args := []any{ref.tenantID, collection, objectID}
		if k := len(q.SpecVersions); k > 0 {
			where += ` AND o.spec_version IN (?` + strings.Repeat(`, ?`, k-1) + `)`
			for _, v := range q.SpecVersions {
				args = append(args, v)
			}
		}
		if vcond != "" {
			where += ` AND (` + vcond + `)`
			args = append(args, vargs...)
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM taxii_objects WHERE id IN (SELECT o.id FROM taxii_objects o WHERE `+where+`)`), args...)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("TAXII object %s: %w", objectID, ErrNotFound)
		}
		return s.audit(ctx, tx, ref.tenantID, ref.caseID, actor, "taxii.delete",
			map[string]any{"collection": collection, "object": objectID, "versions": n})
	})
	return n, err
}

// versionCondition is the SQL of q.Versions: the first or last version of
// an object among its versions of the spec versions asked, all of them,
// or the versions named.
func (s *Store) versionCondition(q TAXIIQuery) (string, []any, error) {
	versions := q.Versions
	if len(versions) == 0 {
		versions = []string{"last"}
	}
	if len(versions) > MaxTAXIIPage {
		return "", nil, fmt.Errorf("%w: %d versions asked (at most %d)", ErrInvalid, len(versions), MaxTAXIIPage)
	}
	var conds []string
	var args []any
	for _, v := range versions {
		switch v {
		case "all":
			return "", nil, nil
		case "first", "last":
			agg := "MAX"
			if v == "first" {
				agg = "MIN"
			}
			c := `o.version = (SELECT ` + agg + `(p.version) FROM taxii_objects p WHERE p.tenant_id = o.tenant_id
				AND p.collection = o.collection AND p.object_id = o.object_id`
			a := []any{}
			if n := len(q.SpecVersions); n > 0 {
				c += ` AND p.spec_version IN (?` + strings.Repeat(`, ?`, n-1) + `)`
				for _, sv := range q.SpecVersions {
					a = append(a, sv)
				}
			}
			conds = append(conds, c+`)`)
			args = append(args, a...)
		default:
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return "", nil, fmt.Errorf("%w: version %q is not first, last, all or a timestamp", ErrInvalid, v)
			}
			// An object without a version of its own (a cyber-observable)
			// is listed with its date_added as its version.
			conds = append(conds, `o.version = ? OR (o.version = ? AND o.date_added = ?)`)
			args = append(args, micros(t), micros(time.Time{}), micros(t))
		}
	}
	return strings.Join(conds, " OR "), args, nil
}

// parseTAXIICursor reads a TAXIIPage.Next.
func parseTAXIICursor(c string) (at, id int64, err error) {
	a, b, ok := strings.Cut(c, "-")
	at, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%w: next %q is not one this server gave", ErrInvalid, c)
	}
	return at, id, nil
}

// PutTAXIIStatus keeps the status resource of an add of tenant under its
// id.
func (s *Store) PutTAXIIStatus(ctx context.Context, tenant, id string, body json.RawMessage) error {
	if id == "" || !json.Valid(body) {
		return fmt.Errorf("%w: TAXII status needs an id and JSON", ErrInvalid)
	}
	tid, err := s.tenantID(ctx, s.db, tenant)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO taxii_status (tenant_id, status_id, created, body) VALUES (?, ?, ?, ?)`),
		tid, id, micros(s.now()), string(body))
	if isUnique(err) {
		return fmt.Errorf("%w: TAXII status %s", ErrExists, id)
	}
	return err
}

// TAXIIStatus returns a status resource of tenant; another tenant's is
// ErrNotFound.
func (s *Store) TAXIIStatus(ctx context.Context, tenant, id string) (json.RawMessage, error) {
	var body string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT st.body FROM taxii_status st JOIN tenants t ON t.id = st.tenant_id
		WHERE t.name = ? AND st.status_id = ?`), tenant, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("TAXII status %s: %w", id, ErrNotFound)
	}
	return json.RawMessage(body), err
}

// OperationsStamp tells which build of its operations a case of tenant
// has (now), and which one its collection holds the export of (exported;
// "" for none): when they differ the export is due.
func (s *Store) OperationsStamp(ctx context.Context, tenant, caseName string) (now, exported string, err error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return "", "", err
	}
	var n, built int64
	var stamp sql.NullString
	err = s.db.QueryRowContext(ctx, s.q(`SELECT (SELECT COUNT(*) FROM operations WHERE case_id = ?),
		(SELECT COALESCE(MAX(built), 0) FROM operations WHERE case_id = ?),
		(SELECT stamp FROM taxii_exports WHERE case_id = ?)`), ref.caseID, ref.caseID, ref.caseID).Scan(&n, &built, &stamp)
	if err != nil {
		return "", "", err
	}
	return strconv.FormatInt(built, 10) + "/" + strconv.FormatInt(n, 10), stamp.String, nil
}

// SetTAXIIGrant limits what a user of tenant may do in a collection (its
// TAXII id) below what their role allows; it replaces the user's grant
// there, and is audited.
func (s *Store) SetTAXIIGrant(ctx context.Context, tenant string, g TAXIIGrant, actor string) error {
	if g.Collection == "" {
		return fmt.Errorf("%w: no collection", ErrInvalid)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		tid, uid, _, err := s.userRef(ctx, tx, tenant, g.User)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO taxii_grants (tenant_id, collection, user_id, can_read, can_write)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (collection, user_id) DO UPDATE SET can_read = excluded.can_read, can_write = excluded.can_write`),
			tid, g.Collection, uid, boolInt(g.Read), boolInt(g.Write))
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, tid, 0, actor, "taxii.grant",
			map[string]any{"collection": g.Collection, "user": g.User, "read": g.Read, "write": g.Write})
	})
}

// TAXIIGrants returns a user's grants in tenant by collection.
func (s *Store) TAXIIGrants(ctx context.Context, tenant, user string) (map[string]TAXIIGrant, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT g.collection, g.can_read, g.can_write FROM taxii_grants g
		JOIN users u ON u.id = g.user_id JOIN tenants t ON t.id = g.tenant_id AND t.id = u.tenant_id
		WHERE t.name = ? AND u.name = ?`), tenant, user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]TAXIIGrant{}
	for rows.Next() {
		g := TAXIIGrant{User: user}
		var r, w int
		if err := rows.Scan(&g.Collection, &r, &w); err != nil {
			return nil, err
		}
		g.Read, g.Write = r != 0, w != 0
		out[g.Collection] = g
	}
	return out, rows.Err()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
