package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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

	cursor cursor // its place in the list it came from
}

// DetectionPage is one page of a detection list.
type DetectionPage struct {
	Detections []Detection
	// Next is the After of the next page; "" on the last.
	Next string
}

// plan is a detection query: what it reads, and its conditions.
type plan struct {
	// drive is the table read in order: the detections d, or the tag table
	// t when a tag is filtered on (its key is in level then time order, so
	// a page of a common tag is read in order, level by level, instead of
	// sorted out of all its rows).
	drive string
	// at, id, hunt and rank are the driving table's time, detection, hunt
	// and level rank.
	at, id, hunt, rank string
	// needD: a condition reads the detections (t then joins them).
	needD bool
	// byLevel: the driving key holds the level before the time (a tag, a
	// host, a rule: migration 00010), so a time-ordered page is the merge of
	// one range per level (mergeLevels). ranks are the levels the filter
	// keeps, most severe first (all of them when it keeps every level).
	byLevel bool
	ranks   []int
	// caseID is the case's store id (mergeLevels reads bodies by id).
	caseID int64
	where  []string
	args   []any
	// fts is SQLite's MATCH expression of the free text ("": none), and
	// words its words. It is not among the conditions: a rare word is
	// applied as the set FTS5 returns (withText), a common one by checking
	// each row read in order (see scanText).
	fts   string
	words []string
}

// withText is p with its free text as a condition: the detections FTS5
// finds, gathered before the order is read.
func (p *plan) withText() *plan {
	if p.fts == "" {
		return p
	}
	q := *p
	q.where = append(slices.Clone(p.where), `d.id IN (SELECT rowid FROM detection_text WHERE detection_text MATCH ?)`)
	q.args = append(slices.Clone(p.args), p.fts)
	q.fts, q.words = "", nil
	return &q
}

func (p *plan) add(cond string, args ...any) {
	p.where = append(p.where, cond)
	p.args = append(p.args, args...)
}

// sql is the query; rows says the detections' columns are read.
func (p *plan) sql(columns, order string, rows bool, extra ...string) string {
	from := p.drive
	if p.drive != `detections d` && (rows || p.needD) {
		from += ` JOIN detections d ON d.id = t.detection_id`
	}
	return `SELECT ` + columns + ` FROM ` + from + ` WHERE ` + strings.Join(append(slices.Clone(p.where), extra...), ` AND `) + order
}

// plan builds the query of f within a case.
func (s *Store) plan(ctx context.Context, ref caseRef, f Filter) (*plan, error) {
	p := &plan{drive: `detections d`, at: `d.at`, id: `d.id`, hunt: `d.hunt_id`, rank: `d.level_rank`, ranks: allRanks, caseID: ref.caseID}
	tags := []string{}
	if f.Tactic != "" {
		tags = append(tags, "tactic:"+strings.ToLower(f.Tactic))
	}
	if f.Technique != "" {
		tags = append(tags, "technique:"+strings.ToUpper(f.Technique))
	}
	if len(tags) > 0 {
		p.drive, p.at, p.id, p.hunt, p.rank = `detection_tags t`, `t.at`, `t.detection_id`, `t.hunt_id`, `t.level_rank`
		p.byLevel = true
		p.add(`t.case_id = ? AND t.tag = ?`, ref.caseID, tags[0])
		for _, tag := range tags[1:] {
			p.add(`EXISTS (SELECT 1 FROM detection_tags t2 WHERE t2.case_id = ? AND t2.tag = ? AND t2.at = t.at AND t2.detection_id = t.detection_id)`, ref.caseID, tag)
		}
	} else {
		p.add(`d.case_id = ?`, ref.caseID)
	}
	if f.Hunt != 0 {
		p.add(p.hunt+` = ?`, f.Hunt)
	}
	if !f.Unfinished {
		if err := s.completeOnly(ctx, ref, p); err != nil {
			return nil, err
		}
	}
	if !f.From.IsZero() {
		p.add(p.at+` >= ?`, micros(f.From))
	}
	if !f.To.IsZero() {
		p.add(p.at+` < ?`, micros(f.To))
	}
	if len(f.Levels) > 0 {
		// Each rank once: a level named thousands of times is still one
		// parameter, not more than the database takes.
		var ranks []any
		keep := map[int]bool{}
		for _, l := range f.Levels {
			r, err := levelRank(l)
			if err != nil {
				return nil, err
			}
			if !keep[r] {
				keep[r] = true
				ranks = append(ranks, r)
			}
		}
		p.ranks = slices.DeleteFunc(slices.Clone(allRanks), func(r int) bool { return !keep[r] })
		p.add(p.rank+` IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(ranks)), ", ")+`)`, ranks...)
	}
	n := len(p.where)
	if f.Rule != "" {
		p.add(`d.rule_id = ?`, f.Rule)
		p.byLevel = true // (case, rule, level, time)
	}
	if f.Host != "" {
		p.add(`d.host = ?`, strings.ToLower(f.Host))
		p.byLevel = true // (case, host, level, time)
	}
	if f.User != "" {
		p.add(`d.user_name = ?`, strings.ToLower(f.User))
	}
	ws := queryWords(f.Text)
	if len(ws) > MaxQueryWords {
		return nil, fmt.Errorf("%w: free text of %d words, at most %d", ErrInvalid, len(ws), MaxQueryWords)
	}
	if len(ws) > 0 {
		if s.dialect == postgresDialect {
			p.add(`d.search @@ plainto_tsquery('simple', ?)`, strings.Join(ws, " "))
		} else {
			// Each word quoted: FTS5 reads none of them as syntax.
			p.fts, p.words = `"`+strings.Join(ws, `" "`)+`"`, ws
		}
	}
	p.needD = len(p.where) > n || p.fts != ""
	return p, nil
}

// completeOnly keeps the detections of complete hunts: those of hunts known
// now (a hunt begun after has a higher ID) but the unfinished ones.
func (s *Store) completeOnly(ctx context.Context, ref caseRef, p *plan) error {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, state FROM hunts WHERE case_id = ? ORDER BY id`), ref.caseID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var last int64
	var unfinished []any
	for rows.Next() {
		var state HuntState
		if err := rows.Scan(&last, &state); err != nil {
			return err
		}
		if state != HuntComplete {
			unfinished = append(unfinished, last)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	p.add(p.hunt+` <= ?`, last)
	if len(unfinished) > 0 {
		p.add(p.hunt+` NOT IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(unfinished)), ", ")+`)`, unfinished...)
	}
	return nil
}

// MaxQueryWords bounds a free-text query: each word is a term the index
// intersects (PostgreSQL refuses a tsquery past its size limit, and FTS5
// spends seconds on tens of thousands).
const MaxQueryWords = 64

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
	p, err := s.plan(ctx, ref, q.Filter)
	if err != nil {
		return DetectionPage{}, err
	}
	if p, err = s.textPlan(ctx, p); err != nil {
		return DetectionPage{}, err
	}
	if q.Order != ByTime && q.Order != ByTimeDesc && q.Order != ByLevel {
		return DetectionPage{}, fmt.Errorf("%w: order %d", ErrInvalid, q.Order)
	}
	var after *cursor
	if q.After != "" {
		c, err := parseCursor(q.After, q.Order)
		if err != nil {
			return DetectionPage{}, err
		}
		after = &c
	}
	limit := pageLimit(q.Limit)
	if q.Order != ByLevel {
		return s.page(ctx, p, q.Order == ByTimeDesc, after, nil, limit)
	}
	// By level: one time-ordered read per level, most severe first, each
	// an index range (level, time) rather than a sort of every match.
	var out DetectionPage
	for _, rank := range p.ranks {
		if len(out.Detections) == limit {
			break
		}
		if after != nil && rank > after.rank {
			continue
		}
		var from *cursor
		if after != nil && rank == after.rank {
			from = after
		}
		page, err := s.page(ctx, p, false, from, &rank, limit-len(out.Detections))
		if err != nil {
			return DetectionPage{}, err
		}
		out.Detections = append(out.Detections, page.Detections...)
		out.Next = page.Next
		if page.Next != "" {
			break
		}
	}
	if len(out.Detections) == limit && out.Next == "" && len(out.Detections) > 0 {
		// The page ended a level exactly: the next starts after its last row.
		last := out.Detections[len(out.Detections)-1]
		out.Next = last.cursor.String(ByLevel)
	}
	return out, nil
}

// allRanks are the level ranks (levelRanks), most severe first.
var allRanks = []int{4, 3, 2, 1, 0, -1}

// page reads one time-ordered page of p after a cursor, of one level rank
// when given.
func (s *Store) page(ctx context.Context, p *plan, desc bool, after *cursor, rank *int, limit int) (DetectionPage, error) {
	if p.fts != "" {
		return s.scanText(ctx, p, desc, after, rank, limit)
	}
	if rank == nil && p.byLevel {
		return s.mergeLevels(ctx, p, desc, after, limit)
	}
	ds, err := s.rows(ctx, p, desc, after, rank, limit+1, true)
	if err != nil {
		return DetectionPage{}, err
	}
	return cut(ds, limit, pageOrder(desc, rank)), nil
}

// cut is the page of the first limit of ds, which has a next page when ds
// holds more.
func cut(ds []Detection, limit int, o Order) DetectionPage {
	if len(ds) <= limit {
		return DetectionPage{Detections: ds}
	}
	return DetectionPage{Detections: ds[:limit], Next: ds[limit-1].cursor.String(o)}
}

// mergeLevels reads a time-ordered page of p whose key holds the level
// before the time: the keys of a page from each level p keeps (from the
// index alone when no condition reads the detections), merged, then the
// page's detections.
func (s *Store) mergeLevels(ctx context.Context, p *plan, desc bool, after *cursor, limit int) (DetectionPage, error) {
	var all []Detection
	for _, rank := range p.ranks {
		ds, err := s.rows(ctx, p, desc, after, &rank, limit+1, false)
		if err != nil {
			return DetectionPage{}, err
		}
		all = append(all, ds...)
	}
	slices.SortFunc(all, func(a, b Detection) int {
		c := cmp.Or(cmp.Compare(a.cursor.at, b.cursor.at), cmp.Compare(a.cursor.id, b.cursor.id))
		if desc {
			return -c
		}
		return c
	})
	page := cut(all, limit, pageOrder(desc, nil))
	ids := make([]int64, len(page.Detections))
	for i, d := range page.Detections {
		ids[i] = d.ID
	}
	found, err := s.byIDs(ctx, p.caseID, ids)
	if err != nil {
		return DetectionPage{}, err
	}
	for i := range page.Detections {
		d := &page.Detections[i]
		f, ok := found[d.ID]
		if !ok { // gone since: a store never deletes detections
			return DetectionPage{}, fmt.Errorf("detection %d: %w", d.ID, ErrNotFound)
		}
		d.JSON = f.JSON
	}
	return page, nil
}

// rows reads at most n detections of p in time order after a cursor, of
// one level rank when given; their bodies too when body is set.
func (s *Store) rows(ctx context.Context, p *plan, desc bool, after *cursor, rank *int, n int, body bool) ([]Detection, error) {
	var extra []string
	args := slices.Clone(p.args)
	if rank != nil {
		extra = append(extra, p.rank+` = ?`)
		args = append(args, *rank)
	}
	order := ` ORDER BY ` + p.at + `, ` + p.id
	if after != nil {
		if desc {
			extra = append(extra, `(`+p.at+`, `+p.id+`) < (?, ?)`)
		} else {
			extra = append(extra, `(`+p.at+`, `+p.id+`) > (?, ?)`)
		}
		args = append(args, after.at, after.id)
	}
	if desc {
		order = ` ORDER BY ` + p.at + ` DESC, ` + p.id + ` DESC`
	}
	args = append(args, n)
	// The cursor is read from the driving key, whose condition it is.
	columns := p.id + `, ` + p.hunt + `, ` + p.rank + `, ` + p.at
	if body {
		columns += `, d.body`
	}
	rows, err := s.db.QueryContext(ctx, s.q(p.sql(columns, order+` LIMIT ?`, body, extra...)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Detection
	for rows.Next() {
		var d Detection
		var text string
		dst := []any{&d.ID, &d.Hunt, &d.cursor.rank, &d.cursor.at}
		if body {
			dst = append(dst, &text)
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		d.cursor.id, d.JSON = d.ID, json.RawMessage(text)
		out = append(out, d)
	}
	return out, rows.Err()
}

// pageOrder is the order whose cursor a page of page() ends with.
func pageOrder(desc bool, rank *int) Order {
	if rank != nil {
		return ByLevel
	}
	if desc {
		return ByTimeDesc
	}
	return ByTime
}

// Free text on SQLite: a word in at least commonWordDocs detections of the
// store is common, and its pages are read in order with each row's words
// checked (scanText), up to textScanBudget rows a page; past that (the
// word is common in the store but not in this list), the rest of the page
// comes from FTS5's set. Variables for the tests.
var (
	commonWordDocs int64 = 10_000
	textScanBudget       = 4_096
)

// textChunk is how many rows scanText reads at a time.
const textChunk = 256

// textPlan decides how p's free text is applied: a plan keeping fts is read
// by scanText.
func (s *Store) textPlan(ctx context.Context, p *plan) (*plan, error) {
	if p.fts == "" {
		return p, nil
	}
	common, err := s.commonText(ctx, p.words)
	if err != nil || common {
		return p, err
	}
	return p.withText(), nil
}

// commonText tells whether every word is in at least commonWordDocs
// detections of the store (fts5vocab counts them from the index, without
// reading the matches).
func (s *Store) commonText(ctx context.Context, words []string) (bool, error) {
	for _, w := range words {
		var docs int64
		err := s.db.QueryRowContext(ctx, `SELECT doc FROM detection_text_vocab WHERE term = ?`, w).Scan(&docs)
		if errors.Is(err, sql.ErrNoRows) || err == nil && docs < commonWordDocs {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// scanText reads a page of p whose free text is common: rows in the page's
// order without the text condition, each kept if it holds every word (its
// words as the index has them: indexDetection's).
func (s *Store) scanText(ctx context.Context, p *plan, desc bool, after *cursor, rank *int, limit int) (DetectionPage, error) {
	bare := *p
	bare.fts, bare.words = "", nil
	var out DetectionPage
	for scanned := 0; ; {
		if scanned >= textScanBudget {
			return s.finishFromIndex(ctx, p, out, desc, after, rank, limit)
		}
		chunk, err := s.page(ctx, &bare, desc, after, rank, textChunk)
		if err != nil {
			return DetectionPage{}, err
		}
		for _, d := range chunk.Detections {
			ok, err := holdsWords(d.JSON, p.words)
			if err != nil {
				return DetectionPage{}, err
			}
			if !ok {
				continue
			}
			if len(out.Detections) == limit {
				out.Next = out.Detections[limit-1].cursor.String(pageOrder(desc, rank))
				return out, nil
			}
			out.Detections = append(out.Detections, d)
		}
		scanned += len(chunk.Detections)
		if chunk.Next == "" {
			return out, nil
		}
		last := chunk.Detections[len(chunk.Detections)-1].cursor
		after = &last
	}
}

// finishFromIndex completes a page begun by scanText from FTS5's set, after
// the last row scanText read.
func (s *Store) finishFromIndex(ctx context.Context, p *plan, out DetectionPage, desc bool, after *cursor, rank *int, limit int) (DetectionPage, error) {
	need := limit - len(out.Detections)
	if need == 0 {
		// The page is full: is there more after it?
		probe, err := s.page(ctx, p.withText(), desc, after, rank, 1)
		if err != nil {
			return DetectionPage{}, err
		}
		if len(probe.Detections) > 0 {
			out.Next = out.Detections[limit-1].cursor.String(pageOrder(desc, rank))
		}
		return out, nil
	}
	rest, err := s.page(ctx, p.withText(), desc, after, rank, need)
	if err != nil {
		return DetectionPage{}, err
	}
	out.Detections = append(out.Detections, rest.Detections...)
	out.Next = rest.Next
	return out, nil
}

// holdsWords tells whether a stored detection holds every word.
func holdsWords(body []byte, words []string) (bool, error) {
	if lacksWord(body, words) {
		return false, nil
	}
	row, err := indexDetection(body)
	if err != nil {
		return false, err
	}
	have := strings.Fields(row.words)
	for _, w := range words {
		if !slices.Contains(have, w) {
			return false, nil
		}
	}
	return true, nil
}

// lacksWord tells, without decoding it, that a detection cannot hold every
// word: an ASCII body without \u escapes has each of its words' letters as
// they are, in some case, so a word not among its bytes (ASCII case
// folded) is none of its words. Any other body, or a word not ASCII, is
// left to the full check.
func lacksWord(body []byte, words []string) bool {
	if bytes.Contains(body, []byte(`\u`)) {
		return false
	}
	for _, c := range body {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	lower := bytes.ToLower(body) // ASCII only: no length change
	for _, w := range words {
		ascii := true
		for i := 0; i < len(w); i++ {
			ascii = ascii && w[i] < utf8.RuneSelf
		}
		if ascii && !bytes.Contains(lower, []byte(w)) {
			return true
		}
	}
	return false
}

// CountDetections counts the detections of a case of tenant that f keeps,
// up to upTo (0: all of them); more tells there are more than n. A console
// shows "10,000+" rather than read a million rows to say how many.
func (s *Store) CountDetections(ctx context.Context, tenant, caseName string, f Filter, upTo int64) (n int64, more bool, err error) {
	ref, err := s.resolveCase(ctx, s.db, tenant, caseName)
	if err != nil {
		return 0, false, err
	}
	p, err := s.plan(ctx, ref, f)
	if err != nil {
		return 0, false, err
	}
	if p.fts != "" && upTo > 0 && p.drive == `detections d` {
		if common, err := s.commonText(ctx, p.words); err != nil {
			return 0, false, err
		} else if common {
			// A common word: its matches read from FTS5 as they come (ID
			// order), each checked against the other conditions, until
			// upTo+1; not all of them gathered first.
			inner := `SELECT 1 FROM detection_text CROSS JOIN detections d WHERE detection_text MATCH ? AND d.id = detection_text.rowid AND ` +
				strings.Join(p.where, ` AND `) + ` LIMIT ?`
			args := append(append([]any{p.fts}, p.args...), upTo+1)
			err = s.db.QueryRowContext(ctx, `SELECT count(*) FROM (`+inner+`) AS m`, args...).Scan(&n)
			if n > upTo {
				return upTo, true, err
			}
			return n, false, err
		}
	}
	p = p.withText()
	if upTo <= 0 {
		err = s.db.QueryRowContext(ctx, s.q(p.sql(`count(*)`, ``, false)), p.args...).Scan(&n)
		return n, false, err
	}
	query := `SELECT count(*) FROM (` + p.sql(`1`, ` LIMIT ?`, false) + `) AS m`
	err = s.db.QueryRowContext(ctx, s.q(query), append(slices.Clone(p.args), upTo+1)...).Scan(&n)
	if n > upTo {
		return upTo, true, err
	}
	return n, false, err
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
