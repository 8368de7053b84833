// Package html writes the result of a hunt as one self-contained HTML
// report: the operations (a card per intrusion with the ATT&CK groups it
// resembles, its story and a graph of its hosts and processes), a summary
// of what was read and skipped, a chart of detections over time by level,
// ATT&CK tactic coverage, the top rules and hosts, and the detection table
// with client-side filtering and sorting.
//
// The report has no external assets: its CSS, its script and its chart
// (inline SVG) are in the file, which opens from disk offline. It is
// rendered with html/template, so evidence (attacker-controlled command
// lines, file names, computer names) is escaped wherever it appears; a
// Content-Security-Policy in the page lets only the report's own scripts
// run, by hash. Everything but the table's filters works without
// JavaScript, and the page prints.
package html

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spoor-hunt/spoor/internal/result"
)

// DefaultMaxRows is how many detections the table holds when
// Options.MaxRows is zero: the most severe ones, then the earliest. It
// keeps the report of any hunt near 13 MB (rows of about 650 bytes, with
// a 200-character command line each; TestLarge).
const DefaultMaxRows = 20000

// DefaultPageRows is how many rows of the detection table are shown at a
// time when Options.PageRows is zero.
const DefaultPageRows = 500

// Options tune the report. The zero value is ready to use.
type Options struct {
	// MaxRows caps the detection table: when a hunt has more detections,
	// the table holds the MaxRows most severe (then earliest) and says so;
	// the summary, chart and aggregates always count them all. Zero means
	// DefaultMaxRows; a negative value, no cap.
	MaxRows int
	// Generated is the time written as the report's creation time; zero
	// means time.Now. Tests set it to make the output reproducible.
	Generated time.Time
	// PageRows is how many matching rows the table shows at first, and
	// how many more at each request, when scripts run: browsers lay out
	// tables of many thousand rows slowly. Before the script runs only
	// these are laid out; without scripts, every row shows. Zero means
	// DefaultPageRows; a negative value, no paging.
	PageRows int
	// MaxValue caps the length in characters of one field value in the
	// table, beyond which it is cut with an ellipsis. Zero means 1,000.
	MaxValue int
}

// Write writes the HTML report of r to w with the default options.
func Write(w io.Writer, r *result.Result) error {
	return Options{}.Write(w, r)
}

// Write writes the HTML report of r to w.
func (o Options) Write(w io.Writer, r *result.Result) error {
	p := o.build(r)
	var buf bytes.Buffer
	buf.Grow(4096 + 600*len(p.Rows))
	if err := reportTemplate.Execute(&buf, p); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// The page's static parts, embedded.
var (
	//go:embed report.html.tmpl
	templateText string
	//go:embed report.css
	styleText string
	//go:embed report.js
	scriptText string
	//go:embed errors.js
	errorsScriptText string
)

// reportTemplate is parsed once; it is never modified after.
var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"px":    px,
	"num":   num,
	"count": count,
	"inc":   func(n int) int { return n + 1 },
}).Parse(templateText))

// csp is the page's Content-Security-Policy: nothing is loaded from
// anywhere, and only the report's own two scripts run.
var csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src " +
	scriptHash(errorsScriptText) + " " + scriptHash(scriptText) + "; base-uri 'none'; form-action 'none'"

func scriptHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}

// level is a Sigma rule level as the report shows it.
type level struct {
	Name  string // "high": CSS class and filter value
	Title string // "High"
}

// levels are the Sigma levels, most severe first: the order of the
// legend, the stacking of the chart's bars (from the axis up) and the
// level counts.
var levels = [...]level{
	{"critical", "Critical"},
	{"high", "High"},
	{"medium", "Medium"},
	{"low", "Low"},
	{"informational", "Informational"},
}

// levelIndex returns the position of a level in levels; a level that is
// empty or unknown counts as informational.
func levelIndex(s string) int {
	for i, l := range levels {
		if strings.EqualFold(s, l.Name) {
			return i
		}
	}
	return len(levels) - 1
}

// page is the data the template renders.
type page struct {
	Tool, Version     string
	Generated         string
	Started, Elapsed  string
	Paths             []string
	Rules             result.RuleStats
	Filters           []string
	Evidence          result.Evidence
	Size              string
	First, Last       string
	NotLogs           []string
	MoreNotLogs       int
	Total             int
	Levels            []levelCount
	Chart             *chart
	Undated           int
	Tactics           []tacticRow
	OtherTactics      []tacticRow
	TopRules          []ruleRow
	RuleTotal         int
	TopHosts          []hostRow
	HostTotal         int
	Rows              []row
	PageRows          int // 0: no paging
	Operations        []opCard
	OperationTotal    int
	Capped            bool
	HostOptions       []string
	RuleOptions       []string
	CSS               template.CSS
	Script, ErrScript template.JS
	CSP               string
}

type levelCount struct {
	Level, Name string
	Count       int
}

type tacticRow struct {
	ID, Name   string
	Count      int
	Rules      int
	Techniques string
}

type ruleRow struct {
	ID, Title, Level string
	Count, Hosts     int
	Bar              float64 // share of the top count, 0..100
	Tactics          string
	Description      string
}

type hostRow struct {
	Name   string
	Count  int
	Bar    float64
	Levels []levelCount // non-zero levels only
}

// row is one detection in the table.
type row struct {
	T          int64 // Unix milliseconds, for sorting; 0 without a time
	Time       string
	Host       string
	Level      string
	Rule       string
	RuleID     string
	Tactics    string
	Techniques string
	Fields     []result.Field
	Source     string
	Event      string // "Security 4688, record 123"
}

// Limits of the aggregate tables and the skipped-file list.
const (
	topN       = 10
	maxNotLogs = 20
)

// noHost is how a detection without a Computer is shown and filtered.
const noHost = "(none)"

func (o Options) build(r *result.Result) *page {
	gen := o.Generated
	if gen.IsZero() {
		gen = time.Now()
	}
	p := &page{
		Tool:      cmp.Or(r.Tool, "spoor"),
		Version:   cmp.Or(r.Version, "dev"),
		Generated: gen.UTC().Format(timeLayout),
		Elapsed:   (time.Duration(r.ElapsedSeconds * float64(time.Second))).Round(time.Millisecond).String(),
		Paths:     r.Paths,
		Rules:     r.Rules,
		Filters:   filters(r.Filters),
		Evidence:  r.Evidence,
		Size:      size(r.Evidence.Bytes),
		Total:     len(r.Detections),
		CSS:       template.CSS(styleText),
		Script:    template.JS(scriptText),
		ErrScript: template.JS(errorsScriptText),
		CSP:       csp,
	}
	if !r.Started.IsZero() {
		p.Started = r.Started.UTC().Format(timeLayout)
	}
	if !r.Evidence.First.IsZero() {
		p.First = r.Evidence.First.UTC().Format(timeLayout)
		p.Last = r.Evidence.Last.UTC().Format(timeLayout)
	}
	p.NotLogs = r.Evidence.NotLogs[:min(len(r.Evidence.NotLogs), maxNotLogs)]
	p.MoreNotLogs = len(r.Evidence.NotLogs) - len(p.NotLogs)

	// Levels are counted from the detections rather than taken from
	// r.Levels, so that the page agrees with itself for any Result.
	var byLevel [len(levels)]int
	points := make([]point, 0, len(r.Detections))
	var from, to time.Time
	for i := range r.Detections {
		d := &r.Detections[i]
		l := levelIndex(d.Rule.Level)
		byLevel[l]++
		if d.Time.IsZero() {
			p.Undated++
			continue
		}
		points = append(points, point{t: d.Time, level: l})
		if from.IsZero() || d.Time.Before(from) {
			from = d.Time
		}
		if d.Time.After(to) {
			to = d.Time
		}
	}
	for i, l := range levels {
		p.Levels = append(p.Levels, levelCount{Level: l.Name, Name: l.Title, Count: byLevel[i]})
	}
	p.Chart = newChart(points, from, to)

	p.Tactics, p.OtherTactics = tacticRows(r.Tactics)
	p.TopRules, p.RuleTotal = ruleRows(r.RuleCounts), len(r.RuleCounts)
	p.TopHosts, p.HostTotal = hostRows(r.Hosts), len(r.Hosts)
	for _, h := range r.Hosts {
		p.HostOptions = append(p.HostOptions, cmp.Or(h.Computer, noHost))
	}
	slices.Sort(p.HostOptions)
	p.HostOptions = slices.Compact(p.HostOptions)
	for _, rc := range r.RuleCounts {
		p.RuleOptions = append(p.RuleOptions, rc.Title)
	}
	slices.Sort(p.RuleOptions)
	p.RuleOptions = slices.Compact(p.RuleOptions)

	p.Operations, p.OperationTotal = operationCards(r), len(r.Operations)
	p.Rows, p.Capped = o.rows(r.Detections)
	p.PageRows = max(0, cmp.Or(o.PageRows, DefaultPageRows))
	return p
}

// rows returns the table rows in the Result's order (by time), capped to
// the most severe detections.
func (o Options) rows(ds []result.Detection) ([]row, bool) {
	limit := o.MaxRows
	if limit == 0 {
		limit = DefaultMaxRows
	}
	keep := make([]int, len(ds))
	for i := range keep {
		keep[i] = i
	}
	capped := limit > 0 && len(ds) > limit
	if capped {
		// Most severe first; the stable sort keeps time order within a
		// level, so the earliest of a level are kept.
		slices.SortStableFunc(keep, func(a, b int) int {
			return cmp.Compare(levelIndex(ds[a].Rule.Level), levelIndex(ds[b].Rule.Level))
		})
		keep = keep[:limit]
		slices.Sort(keep)
	}
	maxValue := cmp.Or(o.MaxValue, 1000)
	rows := make([]row, 0, len(keep))
	for _, i := range keep {
		d := &ds[i]
		rw := row{
			Host:       cmp.Or(d.Computer, noHost),
			Level:      levels[levelIndex(d.Rule.Level)].Name,
			Rule:       d.Rule.Title,
			RuleID:     d.Rule.ID,
			Tactics:    tacticNames(d.Rule.Tactics),
			Techniques: strings.Join(d.Rule.Techniques, ", "),
			Source:     d.Source,
			Event:      eventRef(d),
		}
		if !d.Time.IsZero() {
			rw.T = d.Time.UnixMilli()
			rw.Time = d.Time.UTC().Format("2006-01-02 15:04:05.000")
		}
		if d.Locator > 0 {
			rw.Source += ":" + strconv.FormatInt(d.Locator, 10)
		}
		if d.Carved {
			rw.Source += " (carved)"
		}
		rw.Fields = make([]result.Field, len(d.Fields))
		for j, f := range d.Fields {
			rw.Fields[j] = result.Field{Name: f.Name, Value: cut(f.Value, maxValue)}
		}
		rows = append(rows, rw)
	}
	return rows, capped
}

// eventRef names an event by channel, event ID and record ID, leaving out
// what is unknown.
func eventRef(d *result.Detection) string {
	var parts []string
	if d.Channel != "" {
		parts = append(parts, d.Channel)
	}
	if d.EventID != 0 {
		parts = append(parts, "event "+strconv.FormatInt(d.EventID, 10))
	}
	if d.RecordID != 0 {
		parts = append(parts, "record "+strconv.FormatInt(d.RecordID, 10))
	}
	return strings.Join(parts, ", ")
}

// tacticRows returns the tactics in kill-chain order with their counts,
// and the tactics of r that are not among them.
func tacticRows(seen []result.TacticCount) (known, other []tacticRow) {
	known = make([]tacticRow, len(result.Tactics))
	for i, t := range result.Tactics {
		known[i] = tacticRow{ID: t.ID, Name: t.Name}
	}
	for _, tc := range seen {
		tr := tacticRow{ID: tc.ID, Name: tc.Name, Count: tc.Count, Rules: tc.Rules, Techniques: markedTechniques(tc)}
		i := tacticIndex(tc.Short)
		if i < 0 {
			i = tacticIndex(tc.ID)
		}
		if i < 0 {
			tr.Name = cmp.Or(tr.Name, tc.Short, tc.ID)
			other = append(other, tr)
			continue
		}
		tr.ID, tr.Name = result.Tactics[i].ID, result.Tactics[i].Name
		known[i] = tr
	}
	return known, other
}

// markedTechniques lists the techniques of tc, those ATT&CK's knowledge in
// spoor does not know (newer than its release) marked with a star.
func markedTechniques(tc result.TacticCount) string {
	techs := make([]string, len(tc.Techniques))
	for i, id := range tc.Techniques {
		techs[i] = id
		if slices.Contains(tc.Unknown, id) {
			techs[i] += "*"
		}
	}
	s := strings.Join(techs, ", ")
	if len(tc.Unknown) > 0 {
		s += " (* newer than spoor's ATT&CK knowledge)"
	}
	return s
}

func tacticNames(short []string) string {
	names := make([]string, len(short))
	for i, s := range short {
		names[i] = tacticName(s)
	}
	return strings.Join(names, ", ")
}

func ruleRows(rcs []result.RuleCount) []ruleRow {
	top := rcs[:min(len(rcs), topN)]
	rows := make([]ruleRow, len(top))
	for i, rc := range top {
		rows[i] = ruleRow{
			ID:          rc.ID,
			Title:       rc.Title,
			Level:       levels[levelIndex(rc.Level)].Name,
			Count:       rc.Count,
			Hosts:       rc.Hosts,
			Bar:         share(rc.Count, top[0].Count),
			Tactics:     tacticNames(rc.Tactics),
			Description: rc.Description,
		}
	}
	return rows
}

func hostRows(hcs []result.HostCount) []hostRow {
	top := hcs[:min(len(hcs), topN)]
	rows := make([]hostRow, len(top))
	for i, hc := range top {
		rows[i] = hostRow{Name: cmp.Or(hc.Computer, noHost), Count: hc.Count, Bar: share(hc.Count, top[0].Count)}
		counts := [...]int{hc.Levels.Critical, hc.Levels.High, hc.Levels.Medium, hc.Levels.Low, hc.Levels.Informational}
		for l, n := range counts {
			if n > 0 {
				rows[i].Levels = append(rows[i].Levels, levelCount{Level: levels[l].Name, Name: levels[l].Title, Count: n})
			}
		}
	}
	return rows
}

// share returns n as a percentage of top, for a bar's width.
func share(n, top int) float64 {
	if top <= 0 {
		return 0
	}
	return 100 * float64(n) / float64(top)
}

// filters describes the hunt's filters, one line each.
func filters(f result.Filters) []string {
	var out []string
	if f.MinLevel != "" {
		out = append(out, "level "+f.MinLevel+" and above")
	}
	if len(f.Statuses) > 0 {
		out = append(out, "status "+strings.Join(f.Statuses, ", "))
	}
	if len(f.Tags) > 0 {
		out = append(out, "tags "+strings.Join(f.Tags, ", "))
	}
	if len(f.Exclude) > 0 {
		out = append(out, "excluding "+strings.Join(f.Exclude, ", "))
	}
	if !f.From.IsZero() {
		out = append(out, "events from "+f.From.UTC().Format(timeLayout))
	}
	if !f.To.IsZero() {
		out = append(out, "events to "+f.To.UTC().Format(timeLayout))
	}
	return out
}

// cut shortens s to at most n characters, marking the cut with an
// ellipsis; it never splits a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s
	}
	i, k := 0, 0
	for i = range s {
		if k == n-1 {
			break
		}
		k++
	}
	return s[:i] + "…"
}

// size renders a byte count for people: "1.5 MB".
func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// count renders a count and its noun: "1 detection", "1,204 detections".
func count(n any, noun string) string {
	s := num(n)
	if s == "1" {
		return s + " " + noun
	}
	return s + " " + noun + "s"
}

// px renders an SVG coordinate with one decimal.
func px(f float64) string {
	return strconv.FormatFloat(f, 'f', 1, 64)
}

// num renders a count with thousands separators: 95,000.
func num(n any) string {
	var s string
	switch v := n.(type) {
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	default:
		return fmt.Sprint(n)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
