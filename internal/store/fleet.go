package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// What fleet workers (internal/fleet) write: the detections of the events
// collectors published, each batch in one transaction with a key per
// detection, so that a batch written twice (its acknowledgement lost, or
// the worker killed before it) adds nothing the second time. Migration
// 00009_fleet.sql.

// FleetDetection is one detection a fleet worker writes.
type FleetDetection struct {
	// Key identifies the detection within its case whatever writes it:
	// a second detection of the same key is not stored.
	Key string
	// JSON is the detection as `spoor hunt --json` writes it; Ref what
	// the operation builder needs of it (nil for none).
	JSON, Ref []byte
}

// FleetInput is an input of the case's correlations: a detection of a
// rule some correlation references (correlate.Input and result.Detection
// as JSON), by its detection's key.
type FleetInput struct {
	Key              string
	Input, Detection []byte
}

// FleetBatch is what a worker commits to one case at once.
type FleetBatch struct {
	Case       string
	Detections []FleetDetection
	Inputs     []FleetInput
	// Entities is the entity index of the batch's events
	// (operation.Index.AppendBinary); nil for none.
	Entities []byte
	// Gaps is what the tampering findings need of the batch's events
	// (internal/fleet's encoding of gaps.Facts), each stored once by its
	// key.
	Gaps []FleetGap
}

// FleetGap is the gap facts of some events of a case, by a key of its
// content: those of ordinals from First of pass Pass over a collector's
// input (fleet.Input.ID).
type FleetGap struct {
	Key         string
	Input       string
	Pass, First int64
	Data        []byte
}

// FleetCommit is what Ingest stored of a batch.
type FleetCommit struct {
	// Added is how many of its detections were new; Inputs how many
	// correlation inputs.
	Added, Inputs int
}

// fleetSource is the hunts.paths of a worker's hunt.
const fleetSource = `["nats"]`

// Ingest writes the batches of worker (its id) into their cases of tenant,
// all in one transaction: the cases must exist. Each case's detections go
// into the worker's hunt of the case (made, complete, on first use);
// those whose key the case holds are left out, as are their inputs.
func (s *Store) Ingest(ctx context.Context, tenant, worker string, batches []FleetBatch) ([]FleetCommit, error) {
	rows := make([][]indexRow, len(batches))
	for i, b := range batches {
		for j, d := range b.Detections {
			row, err := indexDetection(d.JSON)
			if err == nil && d.Ref != nil && (!utf8.Valid(d.Ref) || !json.Valid(d.Ref)) {
				err = fmt.Errorf("%w: operation ref is not JSON", ErrInvalid)
			}
			if err == nil && d.Key == "" {
				err = fmt.Errorf("%w: no key", ErrInvalid)
			}
			if err != nil {
				return nil, fmt.Errorf("case %q detection %d: %w", b.Case, j, err)
			}
			row.ref = string(d.Ref)
			rows[i] = append(rows[i], row)
		}
	}
	out := make([]FleetCommit, len(batches))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, b := range batches {
			ref, err := s.resolveCase(ctx, tx, tenant, b.Case)
			if err != nil {
				return err
			}
			hunt, err := s.fleetHunt(ctx, tx, ref, worker)
			if err != nil {
				return err
			}
			if out[i].Added, err = s.insertFleet(ctx, tx, ref, hunt, b.Detections, rows[i]); err != nil {
				return fmt.Errorf("case %q: %w", b.Case, err)
			}
			for _, in := range b.Inputs {
				res, err := tx.ExecContext(ctx, s.q(`INSERT INTO fleet_inputs (case_id, fleet_key, input, detection) VALUES (?, ?, ?, ?)
					ON CONFLICT (case_id, fleet_key) DO NOTHING`), ref.caseID, in.Key, string(in.Input), string(in.Detection))
				if err != nil {
					return fmt.Errorf("case %q: correlation input: %w", b.Case, err)
				}
				n, _ := res.RowsAffected()
				out[i].Inputs += int(n)
			}
			for _, g := range b.Gaps {
				if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO fleet_gaps (case_id, fleet_key, input, pass, first_ordinal, data) VALUES (?, ?, ?, ?, ?, ?)
					ON CONFLICT (case_id, fleet_key) DO NOTHING`), ref.caseID, g.Key, g.Input, g.Pass, g.First, g.Data); err != nil {
					return fmt.Errorf("case %q: gap facts: %w", b.Case, err)
				}
			}
			if b.Entities != nil {
				if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO fleet_entities (hunt_id, data) VALUES (?, ?)`), hunt, b.Entities); err != nil {
					return fmt.Errorf("case %q: entities: %w", b.Case, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fleetHunt returns worker's hunt of the case, made when missing. Two
// commits of one worker (its partitions) may make it at once: the one
// that loses takes the other's.
func (s *Store) fleetHunt(ctx context.Context, tx *sql.Tx, ref caseRef, worker string) (int64, error) {
	var hunt int64
	get := func() error {
		return tx.QueryRowContext(ctx, s.q(`SELECT hunt_id FROM fleet_hunts WHERE case_id = ? AND worker = ?`), ref.caseID, worker).Scan(&hunt)
	}
	err := get()
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return hunt, err
	}
	now := micros(s.now())
	by := "fleet:" + worker
	var mine int64
	err = tx.QueryRowContext(ctx, s.q(`INSERT INTO hunts (case_id, started_by, started, finished, heartbeat, state, paths, rules, summary)
		VALUES (?, ?, ?, ?, ?, 'complete', ?, ?, '{}') RETURNING id`),
		ref.caseID, by, now, now, now, fleetSource, "fleet worker "+worker).Scan(&mine)
	if err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO fleet_hunts (case_id, worker, hunt_id) VALUES (?, ?, ?)
		ON CONFLICT (case_id, worker) DO NOTHING`), ref.caseID, worker, mine)
	if err != nil {
		return 0, err
	}
	if err := get(); err != nil {
		return 0, err
	}
	if hunt != mine {
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM hunts WHERE id = ?`), mine)
		return hunt, err
	}
	return hunt, s.audit(ctx, tx, ref.tenantID, ref.caseID, by, "fleet.hunt", map[string]any{"hunt": hunt})
}

// newFleetHunt makes a complete hunt for worker of the case, the one
// fleet_hunts names from now on.
func (s *Store) newFleetHunt(ctx context.Context, tx *sql.Tx, ref caseRef, worker, rules string) (int64, error) {
	now := micros(s.now())
	by := "fleet:" + worker
	var hunt int64
	err := tx.QueryRowContext(ctx, s.q(`INSERT INTO hunts (case_id, started_by, started, finished, heartbeat, state, paths, rules, summary)
		VALUES (?, ?, ?, ?, ?, 'complete', ?, ?, '{}') RETURNING id`),
		ref.caseID, by, now, now, now, fleetSource, rules).Scan(&hunt)
	if err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO fleet_hunts (case_id, worker, hunt_id) VALUES (?, ?, ?)
		ON CONFLICT (case_id, worker) DO UPDATE SET hunt_id = excluded.hunt_id`), ref.caseID, worker, hunt)
	if err != nil {
		return 0, err
	}
	return hunt, s.audit(ctx, tx, ref.tenantID, ref.caseID, by, "fleet.hunt", map[string]any{"hunt": hunt})
}

// insertFleet inserts the detections of rows (dets[i]'s) whose key the
// case does not hold into hunt, and returns how many.
func (s *Store) insertFleet(ctx context.Context, tx *sql.Tx, ref caseRef, hunt int64, dets []FleetDetection, rows []indexRow) (int, error) {
	// The hunt's row is locked (written) first: two commits of one
	// worker's partitions number their detections one after the other.
	var seq int64
	if err := tx.QueryRowContext(ctx, s.q(`UPDATE hunts SET heartbeat = ? WHERE id = ? RETURNING detections`), micros(s.now()), hunt).Scan(&seq); err != nil {
		return 0, err
	}
	pg := s.dialect == postgresDialect
	query := `INSERT INTO detections (case_id, hunt_id, seq, at, level_rank, rule_id, rule_title, host, user_name, body, ref, fleet_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, fleet_key) DO NOTHING RETURNING id`
	if pg {
		query = `INSERT INTO detections (case_id, hunt_id, seq, at, level_rank, rule_id, rule_title, host, user_name, body, ref, fleet_key, search)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, to_tsvector('simple', ?)) ON CONFLICT (case_id, fleet_key) DO NOTHING RETURNING id`
	}
	det, err := tx.PrepareContext(ctx, s.q(query))
	if err != nil {
		return 0, err
	}
	defer det.Close()
	tag, err := tx.PrepareContext(ctx, s.q(`INSERT INTO detection_tags (case_id, tag, at, detection_id, hunt_id, level_rank) VALUES (?, ?, ?, ?, ?, ?)`))
	if err != nil {
		return 0, err
	}
	defer tag.Close()
	var text *sql.Stmt
	if !pg {
		if text, err = tx.PrepareContext(ctx, `INSERT INTO detection_text (rowid, words) VALUES (?, ?)`); err != nil {
			return 0, err
		}
		defer text.Close()
	}
	added := 0
	for i, r := range rows {
		args := []any{ref.caseID, hunt, seq, r.at, r.levelRank, r.ruleID, r.ruleTitle, r.host, r.user, string(r.body), r.ref, dets[i].Key}
		if pg {
			args = append(args, r.words)
		}
		var id int64
		err := det.QueryRowContext(ctx, args...).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			continue // the case holds it
		}
		if err != nil {
			return added, err
		}
		seq++
		added++
		if text != nil {
			if _, err := text.ExecContext(ctx, id, r.words); err != nil {
				return added, err
			}
		}
		for _, t := range r.tags {
			if _, err := tag.ExecContext(ctx, ref.caseID, t, r.at, id, hunt, r.levelRank); err != nil {
				return added, err
			}
		}
	}
	_, err = tx.ExecContext(ctx, s.q(`UPDATE hunts SET detections = ?, finished = ?, heartbeat = ? WHERE id = ?`), seq, micros(s.now()), micros(s.now()), hunt)
	return added, err
}

// FleetInputs calls fn with every correlation input of a case of tenant
// (FleetBatch.Inputs), in the order they were stored; the slices are fn's
// only during the call.
func (s *Store) FleetInputs(ctx context.Context, tenant, caseName string, fn func(input, detection []byte) error) error {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT input, detection FROM fleet_inputs WHERE case_id = ? ORDER BY id`), ref.caseID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var in, det sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&in, &det); err != nil {
			return err
		}
		if err := fn(in, det); err != nil {
			return err
		}
	}
	return rows.Err()
}

// FleetGaps calls fn with every FleetGap of a case of tenant (its key
// left out), by input, pass and first ordinal; its Data is fn's only
// during the call.
func (s *Store) FleetGaps(ctx context.Context, tenant, caseName string, fn func(FleetGap) error) error {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT input, pass, first_ordinal, data FROM fleet_gaps WHERE case_id = ?
		ORDER BY input, pass, first_ordinal, id`), ref.caseID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var g FleetGap
	var data sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&g.Input, &g.Pass, &g.First, &data); err != nil {
			return err
		}
		g.Data = data
		if err := fn(g); err != nil {
			return err
		}
	}
	return rows.Err()
}

// The fleet_hunts workers of a case's correlation matches and of its
// tampering detections.
const (
	fleetCorrelations = "#correlations"
	fleetTampering    = "#tampering"
)

// ReplaceCorrelations makes dets the case's correlation matches, as one
// set (in one transaction): a new complete hunt holds them and the
// previous one is marked incomplete (its detections no longer listed),
// unless the set is the one held, which is left as it is. It reports
// whether the set changed.
func (s *Store) ReplaceCorrelations(ctx context.Context, tenant, caseName, actor string, dets []FleetDetection) (bool, error) {
	return s.replaceSet(ctx, tenant, caseName, fleetCorrelations, "fleet correlations", dets)
}

// ReplaceTampering makes dets the case's tampering detections (made
// from its FleetGaps), as one set, as ReplaceCorrelations does.
func (s *Store) ReplaceTampering(ctx context.Context, tenant, caseName, actor string, dets []FleetDetection) (bool, error) {
	return s.replaceSet(ctx, tenant, caseName, fleetTampering, "fleet tampering findings", dets)
}

// replaceSet makes dets the detections of the case's fleet_hunts worker
// set (ReplaceCorrelations).
func (s *Store) replaceSet(ctx context.Context, tenant, caseName, set, rules string, dets []FleetDetection) (bool, error) {
	rows := make([]indexRow, len(dets))
	sum := sha256.New()
	keys := make([]string, len(dets))
	for i, d := range dets {
		row, err := indexDetection(d.JSON)
		if err == nil && d.Ref != nil && (!utf8.Valid(d.Ref) || !json.Valid(d.Ref)) {
			err = fmt.Errorf("%w: operation ref is not JSON", ErrInvalid)
		}
		if err != nil {
			return false, fmt.Errorf("correlation %d: %w", i, err)
		}
		row.ref = string(d.Ref)
		rows[i] = row
		keys[i] = d.Key + "\x00" + string(row.body) + "\x00" + row.ref
	}
	slices.Sort(keys)
	for _, k := range keys {
		sum.Write([]byte(k))
		sum.Write([]byte{0})
	}
	digest := `{"digest":"` + hex.EncodeToString(sum.Sum(nil)) + `"}`
	changed := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ref, err := s.resolveCase(ctx, tx, tenant, caseName)
		if err != nil {
			return err
		}
		// One replacement of a case at a time: two workers rebuilding it
		// at once would each mark the old set replaced and add their own.
		if err := s.lockCase(ctx, tx, ref.caseID); err != nil {
			return err
		}
		var old int64
		var summary string
		err = tx.QueryRowContext(ctx, s.q(`SELECT f.hunt_id, h.summary FROM fleet_hunts f JOIN hunts h ON h.id = f.hunt_id
			WHERE f.case_id = ? AND f.worker = ?`), ref.caseID, set).Scan(&old, &summary)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if len(dets) == 0 {
				return nil
			}
		case err != nil:
			return err
		case summary == digest:
			return nil
		default:
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE hunts SET state = 'incomplete', summary = '{"replaced":true}' WHERE id = ?`), old); err != nil {
				return err
			}
		}
		changed = true
		hunt, err := s.newFleetHunt(ctx, tx, ref, set, rules)
		if err != nil {
			return err
		}
		// Keys within the new hunt: the replaced hunts' rows keep theirs.
		own := make([]FleetDetection, len(dets))
		for i, d := range dets {
			own[i] = FleetDetection{Key: strconv.FormatInt(hunt, 10) + "/" + d.Key}
		}
		if _, err := s.insertFleet(ctx, tx, ref, hunt, own, rows); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE hunts SET summary = ? WHERE id = ?`), digest, hunt)
		return err
	})
	return changed, err
}

// CaseMark is a number that grows with every fleet batch committed to a
// case of tenant that brought something (detections, entities, inputs):
// a rebuild of the case's operations that saw the mark it started with
// when it ends saw everything.
func (s *Store) CaseMark(ctx context.Context, tenant, caseName string) (int64, error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return 0, err
	}
	var d, e, i, g int64
	err = s.db.QueryRowContext(ctx, s.q(`SELECT
		(SELECT COALESCE(MAX(id), 0) FROM detections WHERE case_id = ?),
		(SELECT COALESCE(MAX(f.id), 0) FROM fleet_entities f JOIN hunts h ON h.id = f.hunt_id WHERE h.case_id = ?),
		(SELECT COALESCE(MAX(id), 0) FROM fleet_inputs WHERE case_id = ?),
		(SELECT COALESCE(MAX(id), 0) FROM fleet_gaps WHERE case_id = ?)`), ref.caseID, ref.caseID, ref.caseID, ref.caseID).Scan(&d, &e, &i, &g)
	return d + e + i + g, err
}
