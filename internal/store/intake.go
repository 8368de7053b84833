package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
)

// What the operation builder reads of a case: the refs of its complete
// hunts' detections, their entity indexes, and the detections of one
// operation at a time (see internal/intake).

// SaveEntities keeps the hunt's entity index (opaque bytes: the hunt's
// operation.Index.AppendBinary), read back by Entities once the hunt is
// complete. A hunt has one; a second is refused.
func (w *Writer) SaveEntities(ctx context.Context, data []byte) error {
	if w.ended {
		return ErrFinished
	}
	_, err := w.s.db.ExecContext(ctx, w.s.q(`INSERT INTO hunt_entities (hunt_id, data) VALUES (?, ?)`), w.hunt, data)
	if isUnique(err) {
		return fmt.Errorf("hunt %d: %w: entities saved twice", w.hunt, ErrInvalid)
	}
	if err != nil {
		return fmt.Errorf("hunt %d: save entities: %w", w.hunt, err)
	}
	return nil
}

// Entities calls fn with the entity index of each complete hunt of a case
// of tenant that saved one, and each of its fleet workers' commits (see
// Ingest), oldest hunt first; data is fn's only during the call. An error of fn ends the walk and is returned.
func (s *Store) Entities(ctx context.Context, tenant, caseName string, fn func(hunt int64, data []byte) error) error {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return err
	}
	// A hunt's index, then each of a fleet worker's commits (fleet.go).
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT x.hunt_id, x.data FROM (
			SELECT hunt_id, data, 0 AS n FROM hunt_entities
			UNION ALL SELECT hunt_id, data, id AS n FROM fleet_entities) x
		JOIN hunts h ON h.id = x.hunt_id
		WHERE h.case_id = ? AND h.state = 'complete' ORDER BY x.hunt_id, x.n`), ref.caseID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var hunt int64
		var data []byte
		if err := rows.Scan(&hunt, &data); err != nil {
			return err
		}
		if err := fn(hunt, data); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Refs calls fn with the id and operation ref (WriteRef's) of each
// detection of the complete hunts of a case of tenant that has one, in id
// order; ref is fn's only during the call. The bodies are not read. An
// error of fn ends the walk and is returned.
func (s *Store) Refs(ctx context.Context, tenant, caseName string, fn func(id int64, ref []byte) error) error {
	cref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT d.id, d.ref FROM detections d JOIN hunts h ON h.id = d.hunt_id
		WHERE d.case_id = ? AND h.state = 'complete' AND d.ref <> '' ORDER BY d.id`), cref.caseID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var raw sql.RawBytes
	var id int64
	for rows.Next() {
		if err := rows.Scan(&id, &raw); err != nil {
			return err
		}
		if err := fn(id, raw); err != nil {
			return err
		}
	}
	return rows.Err()
}

// maxIDsPerQuery bounds the parameters of one DetectionsByID query
// (SQLite allows 32,766, PostgreSQL 65,535).
const maxIDsPerQuery = 500

// DetectionsByID returns the detections of a case of tenant with ids, in
// the order of ids; an id of no detection of the case is ErrNotFound.
func (s *Store) DetectionsByID(ctx context.Context, tenant, caseName string, ids []int64) ([]Detection, error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return nil, err
	}
	found, err := s.byIDs(ctx, ref.caseID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Detection, len(ids))
	for i, id := range ids {
		d, ok := found[id]
		if !ok {
			return nil, fmt.Errorf("detection %d of case %q: %w", id, caseName, ErrNotFound)
		}
		out[i] = d
	}
	return out, nil
}

// byIDs reads the detections of a case with ids (those it has).
func (s *Store) byIDs(ctx context.Context, caseID int64, ids []int64) (map[int64]Detection, error) {
	found := make(map[int64]Detection, len(ids))
	for start := 0; start < len(ids); start += maxIDsPerQuery {
		part := ids[start:min(start+maxIDsPerQuery, len(ids))]
		args := make([]any, 0, len(part)+1)
		args = append(args, caseID)
		for _, id := range part {
			args = append(args, id)
		}
		// case_id + 0: no index of the case is read for it (without the
		// planner's statistics, SQLite would read the case's whole level
		// index rather than look up the ids).
		query := `SELECT id, hunt_id, body FROM detections WHERE case_id + 0 = ? AND id IN (?` + strings.Repeat(", ?", len(part)-1) + `)`
		rows, err := s.db.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var d Detection
			var body string
			if err := rows.Scan(&d.ID, &d.Hunt, &body); err != nil {
				rows.Close()
				return nil, err
			}
			d.JSON = json.RawMessage(body)
			found[d.ID] = d
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return found, nil
}
