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

// Filter selects detections of a case. Zero fields select everything;
// string matches are exact but for case (Host, User) and the free text.
type Filter struct {
	// Hunt keeps one hunt's detections (0: all hunts).
	Hunt int64
	// Unfinished also shows detections of hunts that are not complete
	// (running, or interrupted); by default only complete hunts' are shown.
	Unfinished bool
	// Levels keeps detections whose rule has one of these levels.
	Levels []string
	// Rule is a rule id.
	Rule string
	// Host is a computer name; User an account (DOMAIN\name as Sysmon
	// writes it, or the name when no domain was logged).
	Host, User string
	// Tactic is an ATT&CK tactic short name (execution); Technique an ID
	// (T1059 also matches its sub-techniques, T1059.001 only itself).
	Tactic, Technique string
	// From and To bound the detection's time: From <= time < To.
	From, To time.Time
	// Text keeps detections holding every word of it (words are runs of
	// letters and digits, any case) in their rule, host, user, source or
	// field values.
	Text string
}

// Order is the order of a detection list.
type Order int

// Orders of a detection list; ties are broken by the store's ID, so pages
// never skip or repeat a detection.
const (
	ByTime     Order = iota // oldest first
	ByTimeDesc              // newest first
	ByLevel                 // most severe first, then oldest first
)

// Query is a filtered, ordered page of detections.
type Query struct {
	Filter
	Order Order
	// Limit is the page size (DefaultLimit when 0, at most MaxLimit).
	Limit int
	// After is the Next of the previous page ("" for the first).
	After string
}

// Detection is a stored detection: its JSON exactly as it was written.
type Detection struct {
	ID   int64
	Hunt int64
	JSON json.RawMessage
}

// DetectionPage is one page of a detection list.
type DetectionPage struct {
	Detections []Detection
	// Next is the After of the next page; "" on the last.
	Next string
}

// where builds the WHERE clause of f within a case.
func (s *Store) where(ref caseRef, f Filter) (string, []any, error) {
	var b strings.Builder
	args := []any{ref.caseID}
	b.WriteString(`d.case_id = ?`)
	add := func(cond string, a ...any) {
		b.WriteString(" AND ")
		b.WriteString(cond)
		args = append(args, a...)
	}
	if f.Hunt != 0 {
		add(`d.hunt_id = ?`, f.Hunt)
	}
	if !f.Unfinished {
		add(`d.hunt_id IN (SELECT id FROM hunts WHERE case_id = ? AND state = 'complete')`, ref.caseID)
	}
	if len(f.Levels) > 0 {
		marks := make([]string, len(f.Levels))
		ranks := make([]any, len(f.Levels))
		for i, l := range f.Levels {
			r, err := levelRank(l)
			if err != nil {
				return "", nil, err
			}
			marks[i], ranks[i] = "?", r
		}
		add(`d.level_rank IN (`+strings.Join(marks, ", ")+`)`, ranks...)
	}
	if f.Rule != "" {
		add(`d.rule_id = ?`, f.Rule)
	}
	if f.Host != "" {
		add(`d.host = ?`, strings.ToLower(f.Host))
	}
	if f.User != "" {
		add(`d.user_name = ?`, strings.ToLower(f.User))
	}
	if f.Tactic != "" {
		add(`d.id IN (SELECT detection_id FROM detection_tags WHERE case_id = ? AND tag = ?)`, ref.caseID, "tactic:"+strings.ToLower(f.Tactic))
	}
	if f.Technique != "" {
		add(`d.id IN (SELECT detection_id FROM detection_tags WHERE case_id = ? AND tag = ?)`, ref.caseID, "technique:"+strings.ToUpper(f.Technique))
	}
	if !f.From.IsZero() {
		add(`d.at >= ?`, micros(f.From))
	}
	if !f.To.IsZero() {
		add(`d.at < ?`, micros(f.To))
	}
	if ws := queryWords(f.Text); len(ws) > 0 {
		if s.dialect == postgresDialect {
			add(`d.search @@ plainto_tsquery('simple', ?)`, strings.Join(ws, " "))
		} else {
			// Each word quoted: FTS5 reads none of them as syntax.
			add(`d.id IN (SELECT rowid FROM detection_text WHERE detection_text MATCH ?)`, `"`+strings.Join(ws, `" "`)+`"`)
		}
	}
	return b.String(), args, nil
}

// queryWords are the words of a free-text query, as searchText cuts them.
func queryWords(text string) []string {
	var ws []string
	for w := range words(text) {
		ws = append(ws, w)
	}
	return ws
}

// Detections returns a page of the detections of a case of tenant.
func (s *Store) Detections(ctx context.Context, tenant, caseName string, q Query) (DetectionPage, error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return DetectionPage{}, err
	}
	where, args, err := s.where(ref, q.Filter)
	if err != nil {
		return DetectionPage{}, err
	}
	var order string
	switch q.Order {
	case ByTime:
		order = `d.at, d.id`
	case ByTimeDesc:
		order = `d.at DESC, d.id DESC`
	case ByLevel:
		order = `d.level_rank DESC, d.at, d.id`
	default:
		return DetectionPage{}, fmt.Errorf("%w: order %d", ErrInvalid, q.Order)
	}
	if q.After != "" {
		c, err := parseCursor(q.After, q.Order)
		if err != nil {
			return DetectionPage{}, err
		}
		switch q.Order {
		case ByTime:
			where += ` AND (d.at, d.id) > (?, ?)`
			args = append(args, c.at, c.id)
		case ByTimeDesc:
			where += ` AND (d.at, d.id) < (?, ?)`
			args = append(args, c.at, c.id)
		case ByLevel:
			where += ` AND (d.level_rank < ? OR (d.level_rank = ? AND (d.at, d.id) > (?, ?)))`
			args = append(args, c.rank, c.rank, c.at, c.id)
		}
	}
	limit := pageLimit(q.Limit)
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT d.id, d.hunt_id, d.level_rank, d.at, d.body FROM detections d
		WHERE `+where+` ORDER BY `+order+` LIMIT ?`), args...)
	if err != nil {
		return DetectionPage{}, err
	}
	defer rows.Close()
	var page DetectionPage
	var last cursor
	for rows.Next() {
		if len(page.Detections) == limit {
			page.Next = last.String(q.Order)
			break
		}
		var d Detection
		var body string
		if err := rows.Scan(&d.ID, &d.Hunt, &last.rank, &last.at, &body); err != nil {
			return DetectionPage{}, err
		}
		last.id, d.JSON = d.ID, json.RawMessage(body)
		page.Detections = append(page.Detections, d)
	}
	return page, rows.Err()
}

// CountDetections counts the detections of a case of tenant that f keeps.
func (s *Store) CountDetections(ctx context.Context, tenant, caseName string, f Filter) (int64, error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return 0, err
	}
	where, args, err := s.where(ref, f)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.db.QueryRowContext(ctx, s.q(`SELECT count(*) FROM detections d WHERE `+where), args...).Scan(&n)
	return n, err
}

// GetDetection returns one detection of a case of tenant, whatever its
// hunt's state.
func (s *Store) GetDetection(ctx context.Context, tenant, caseName string, id int64) (Detection, error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return Detection{}, err
	}
	d := Detection{ID: id}
	var body string
	err = s.db.QueryRowContext(ctx, s.q(`SELECT hunt_id, body FROM detections WHERE case_id = ? AND id = ?`), ref.caseID, id).Scan(&d.Hunt, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return Detection{}, fmt.Errorf("detection %d of case %q: %w", id, caseName, ErrNotFound)
	}
	d.JSON = json.RawMessage(body)
	return d, err
}

// cursor is where a page ended: the last row's sort key.
type cursor struct {
	rank   int
	at, id int64
}

func (c cursor) String(o Order) string {
	s := strconv.FormatInt(c.at, 10) + "." + strconv.FormatInt(c.id, 10)
	if o == ByLevel {
		s = strconv.Itoa(c.rank) + "." + s
	}
	return s
}

func parseCursor(s string, o Order) (cursor, error) {
	parts := strings.Split(s, ".")
	want := 2
	if o == ByLevel {
		want = 3
	}
	bad := fmt.Errorf("%w: page cursor %q", ErrInvalid, s)
	if len(parts) != want {
		return cursor{}, bad
	}
	var c cursor
	var err error
	if o == ByLevel {
		if c.rank, err = strconv.Atoi(parts[0]); err != nil {
			return cursor{}, bad
		}
		parts = parts[1:]
	}
	if c.at, err = strconv.ParseInt(parts[0], 10, 64); err != nil {
		return cursor{}, bad
	}
	if c.id, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
		return cursor{}, bad
	}
	return c, nil
}
