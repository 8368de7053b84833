package store

import (
	"context"
	"database/sql"
)

// The two ways a batch of detections goes in: row by row through prepared
// statements on SQLite (in-process, a statement costs no round trip), and
// one statement per table over arrays on PostgreSQL (two round trips per
// batch, whatever its size).

func insertSQLite(ctx context.Context, tx *sql.Tx, caseID, hunt, first int64, batch []indexRow) error {
	det, err := tx.PrepareContext(ctx, `INSERT INTO detections
		(case_id, hunt_id, seq, at, level_rank, rule_id, rule_title, host, user_name, body, ref)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer det.Close()
	text, err := tx.PrepareContext(ctx, `INSERT INTO detection_text (rowid, words) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer text.Close()
	tag, err := tx.PrepareContext(ctx, `INSERT INTO detection_tags (case_id, tag, at, detection_id, hunt_id, level_rank) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer tag.Close()
	for i, r := range batch {
		res, err := det.ExecContext(ctx, caseID, hunt, first+int64(i), r.at, r.levelRank, r.ruleID, r.ruleTitle, r.host, r.user, string(r.body), r.ref)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if _, err := text.ExecContext(ctx, id, r.words); err != nil {
			return err
		}
		for _, t := range r.tags {
			if _, err := tag.ExecContext(ctx, caseID, t, r.at, id, hunt, r.levelRank); err != nil {
				return err
			}
		}
	}
	return nil
}

func insertPostgres(ctx context.Context, tx *sql.Tx, caseID, hunt, first int64, batch []indexRow) error {
	n := len(batch)
	seq, at := make([]int64, n), make([]int64, n)
	rank := make([]int32, n)
	ruleID, ruleTitle, host, user, body, words, ref := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	var tagSeq []int64
	var tags []string
	for i, r := range batch {
		seq[i], at[i], rank[i] = first+int64(i), r.at, int32(r.levelRank)
		ruleID[i], ruleTitle[i], host[i], user[i], body[i], words[i], ref[i] = r.ruleID, r.ruleTitle, r.host, r.user, string(r.body), r.words, r.ref
		for _, t := range r.tags {
			tagSeq = append(tagSeq, seq[i])
			tags = append(tags, t)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO detections
		(case_id, hunt_id, seq, at, level_rank, rule_id, rule_title, host, user_name, body, search, ref)
		SELECT $1, $2, seq, at, rank, rule_id, rule_title, host, user_name, body, to_tsvector('simple', words), ref
		FROM unnest($3::bigint[], $4::bigint[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
			AS b (seq, at, rank, rule_id, rule_title, host, user_name, body, words, ref)`,
		caseID, hunt, seq, at, rank, ruleID, ruleTitle, host, user, body, words, ref)
	if err != nil || len(tags) == 0 {
		return err
	}
	// The rows just inserted are found by (hunt, seq), which is unique.
	_, err = tx.ExecContext(ctx, `INSERT INTO detection_tags (case_id, tag, at, detection_id, hunt_id, level_rank)
		SELECT $1, t.tag, d.at, d.id, $2, d.level_rank FROM unnest($3::bigint[], $4::text[]) AS t (seq, tag)
		JOIN detections d ON d.hunt_id = $2 AND d.seq = t.seq`,
		caseID, hunt, tagSeq, tags)
	return err
}
