package report

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/termsafe"
)

// TerminalOptions tune Terminal.
type TerminalOptions struct {
	// Color colours levels with ANSI escapes (for a terminal only).
	Color bool
	// Limit is how many detections are listed, most severe first; 0 lists
	// all of them.
	Limit int
	// Top is how many rules and hosts the summary tables show; 0 means 10.
	Top int
}

// DefaultLimit is the number of detections a terminal report lists unless
// told otherwise.
const DefaultLimit = 50

// ANSI colours of the levels.
var levelColors = map[string]string{
	"critical":      "\x1b[1;97;41m", // bold white on red
	"high":          "\x1b[1;31m",    // bold red
	"medium":        "\x1b[33m",      // yellow
	"low":           "\x1b[32m",      // green
	"informational": "\x1b[2m",       // dim
}

const (
	colorReset = "\x1b[0m"
	colorBold  = "\x1b[1m"
)

// levelsDown are the levels, most severe first.
var levelsDown = []string{"critical", "high", "medium", "low", "informational"}

// Terminal writes the report of a hunt for a person: what was read and
// skipped, the rules used, the detections by level, the top rules and
// hosts, the ATT&CK tactics seen, and then the detections themselves, most
// severe first, each with the fields that explain it.
func Terminal(w io.Writer, r *result.Result, opts TerminalOptions) error {
	if opts.Top <= 0 {
		opts.Top = 10
	}
	t := &term{w: bufio.NewWriter(w), color: opts.Color}
	t.out = termsafe.NewWriter(t.w)
	if t.color {
		t.out.Keep = append(slices.Collect(maps.Values(levelColors)), colorReset, colorBold)
	}
	t.evidence(r)
	t.rules(r)
	t.operations(r, opts.Limit)
	if r.Total == 0 {
		t.printf("\nNo detections.\n")
		return t.w.Flush()
	}
	t.levels(r)
	t.topRules(r, opts.Top)
	t.hosts(r, opts.Top)
	t.tactics(r)
	t.attribution(r)
	t.detections(r, opts.Limit)
	return t.w.Flush()
}

// term writes one terminal report.
type term struct {
	w *bufio.Writer
	// out escapes what the evidence and rules say (the report's colours
	// pass) on its way to w.
	out   *termsafe.Writer
	color bool
}

func (t *term) printf(format string, args ...any) { fmt.Fprintf(t.out, format, args...) }

// paint wraps s in the colour of level when colour is on.
func (t *term) paint(level, s string) string {
	if !t.color {
		return s
	}
	c, ok := levelColors[level]
	if !ok {
		return s
	}
	return c + s + colorReset
}

// heading writes a section title.
func (t *term) heading(s string) {
	if t.color {
		s = colorBold + s + colorReset
	}
	t.printf("\n%s\n", s)
}

func (t *term) evidence(r *result.Result) {
	e := &r.Evidence
	t.heading("Evidence")
	kinds := []string{}
	if e.EVTX > 0 {
		kinds = append(kinds, num(e.EVTX)+" evtx")
	}
	if e.JSON > 0 {
		kinds = append(kinds, num(e.JSON)+" json")
	}
	if e.Archives > 0 {
		kinds = append(kinds, plural(e.Archives, "archive"))
	}
	t.printf("  read:       %s", plural(e.Logs, "event log"))
	if len(kinds) > 0 {
		t.printf(" (%s)", strings.Join(kinds, ", "))
	}
	t.printf(" from %s, %s MB\n", plural(e.Files, "file"), mb(e.Bytes))
	t.printf("  events:     %s", num64(e.Events))
	if e.OutOfRange > 0 {
		t.printf(", %s hunted, %s outside the time range", num64(e.Hunted), num64(e.OutOfRange))
	}
	t.printf("\n")
	if !e.First.IsZero() {
		t.printf("  time range: %s to %s\n", stamp(e.First), stamp(e.Last))
	}
	if !r.Filters.From.IsZero() || !r.Filters.To.IsZero() {
		t.printf("  hunted:     %s to %s\n", stampOr(r.Filters.From, "the start"), stampOr(r.Filters.To, "the end"))
	}
	if n := len(e.NotLogs); n > 0 {
		t.printf("  skipped:    %s not event logs: %s", plural(n, "file"), strings.Join(e.NotLogs[:min(n, 5)], ", "))
		if n > 5 {
			t.printf(" and %d more", n-5)
		}
		t.printf("\n")
	}
	if n := len(e.Duplicates); n > 0 {
		t.printf("  read once:  %s given twice (the same path, a link, or in a folder given): %s", plural(n, "path"), strings.Join(e.Duplicates[:min(n, 5)], ", "))
		if n > 5 {
			t.printf(" and %d more", n-5)
		}
		t.printf("\n")
	}
	if len(e.Failed) > 0 {
		t.printf("  unreadable: %s\n", plural(len(e.Failed), "file"))
		for _, f := range e.Failed {
			t.printf("    %s: %s", f.Name, f.Error)
			if f.Events > 0 {
				t.printf(" (after %s)", plural64(f.Events, "event"))
			}
			t.printf("\n")
		}
	}
	if e.Carved > 0 || e.CarveDropped > 0 {
		t.printf("  carved:     %s from EVTX free space and slack", plural64(e.Carved, "record"))
		if e.CarveDropped > 0 {
			t.printf("; %s found whole could not be decoded", plural64(e.CarveDropped, "stale record"))
		}
		t.printf("\n")
	}
	if len(e.Damaged) > 0 {
		t.printf("  damaged:    %s with unreadable parts skipped\n", plural(len(e.Damaged), "log"))
		for _, d := range e.Damaged {
			t.printf("    %s: %s skipped", d.Name, plural(d.Skips, "part"))
			if d.Records > 0 {
				t.printf(", at least %s lost", plural(d.Records, "record"))
			}
			t.printf("\n")
			for _, f := range d.First {
				t.printf("      %s\n", f)
			}
		}
	}
}

func (t *term) rules(r *result.Result) {
	s := &r.Rules
	t.printf("  rules:      %s loaded (%s)", num(s.Loaded), strings.Join(s.Sources, ", "))
	var extra []string
	if s.Skipped > 0 {
		extra = append(extra, num(s.Skipped)+" skipped (run spoor rules lint for details)")
	}
	if s.Unsupported > 0 {
		extra = append(extra, num(s.Unsupported)+" for other log sources")
	}
	if s.Filtered > 0 {
		extra = append(extra, num(s.Filtered)+" left out by filters")
	}
	if s.Duplicates > 0 {
		extra = append(extra, num(s.Duplicates)+" duplicate IDs")
	}
	if s.Replaced > 0 {
		extra = append(extra, num(s.Replaced)+" replaced by --rules")
	}
	if s.Noisy > 0 {
		extra = append(extra, num(s.Noisy)+" noisy left out (--noisy)")
	}
	if s.Correlations > 0 {
		extra = append(extra, plural(s.Correlations, "correlation rule"))
	}
	if len(extra) > 0 {
		t.printf(", %s", strings.Join(extra, ", "))
	}
	t.printf("\n")
}

func (t *term) levels(r *result.Result) {
	t.heading(fmt.Sprintf("Detections: %s", num(r.Total)))
	var parts []string
	for _, l := range levelsDown {
		if n := r.Levels.Get(l); n > 0 {
			parts = append(parts, t.paint(l, fmt.Sprintf("%s %s", l, num(n))))
		}
	}
	t.printf("  %s\n", strings.Join(parts, "  "))
	if r.Suppressed > 0 {
		t.printf("  and %s of the rules correlations count, not listed on their own\n", plural(r.Suppressed, "detection"))
	}
}

func (t *term) topRules(r *result.Result, top int) {
	t.heading("Top rules")
	t.printf("  %7s  %-13s  %5s  %s\n", "count", "level", "hosts", "rule")
	for _, rc := range r.RuleCounts[:min(top, len(r.RuleCounts))] {
		t.printf("  %7s  %s  %5s  %s\n", num(rc.Count), t.paint(rc.Level, fmt.Sprintf("%-13s", rc.Level)), num(rc.Hosts), rc.Title)
	}
	if n := len(r.RuleCounts) - top; n > 0 {
		t.printf("  and %s more rules\n", num(n))
	}
}

func (t *term) hosts(r *result.Result, top int) {
	t.heading("Hosts with most detections")
	t.printf("  %7s  %5s %5s %5s %5s %5s  %s\n", "count", "crit", "high", "med", "low", "info", "computer")
	for _, h := range r.Hosts[:min(top, len(r.Hosts))] {
		name := h.Computer
		if name == "" {
			name = "(no computer name)"
		}
		l := h.Levels
		t.printf("  %7s  %5s %5s %5s %5s %5s  %s\n", num(h.Count), dash(l.Critical), dash(l.High), dash(l.Medium), dash(l.Low), dash(l.Informational), name)
	}
	if n := len(r.Hosts) - top; n > 0 {
		t.printf("  and %s more hosts\n", num(n))
	}
}

func (t *term) tactics(r *result.Result) {
	if len(r.Tactics) == 0 {
		return
	}
	t.heading("ATT&CK tactics seen")
	for _, tc := range r.Tactics {
		techs := tc.Techniques
		if len(tc.Unknown) > 0 {
			techs = slices.Clone(techs)
			for i, id := range techs {
				if slices.Contains(tc.Unknown, id) {
					techs[i] = id + "*"
				}
			}
		}
		more := ""
		if len(techs) > 8 {
			more = fmt.Sprintf(" +%d", len(techs)-8)
			techs = techs[:8]
		}
		t.printf("  %-6s  %-20s  %7s  %s%s\n", tc.ID, tc.Name, num(tc.Count), strings.Join(techs, " "), more)
	}
	if len(r.UnknownTechniques) > 0 {
		release, _, _ := strings.Cut(r.ATTACKModified, "T")
		t.printf("  * not in spoor's ATT&CK knowledge (release of %s), newer than it: %s (kept; spoor attack update installs a newer release)\n",
			release, strings.Join(r.UnknownTechniques, ", "))
	}
}

func (t *term) detections(r *result.Result, limit int) {
	ds := r.BySeverity()
	shown := len(ds)
	if limit > 0 && limit < shown {
		shown = limit
	}
	title := "Detections, most severe first"
	if shown < len(ds) {
		title += fmt.Sprintf(" (%s of %s; --limit 0 lists all)", num(shown), num(len(ds)))
	}
	t.heading(title)
	for i := range ds[:shown] {
		d := &ds[i]
		t.printf("%s  %s  %s  %s\n", t.paint(d.Rule.Level, fmt.Sprintf("%-13s", d.Rule.Level)), stamp(d.Time), orNone(d.Computer), d.Rule.Title)
		if d.Correlation != nil {
			t.correlation(d)
			continue
		}
		where := fmt.Sprintf("%s %d", d.Channel, d.EventID)
		if d.RecordID != 0 {
			where += fmt.Sprintf(" record %d", d.RecordID)
		}
		t.printf("    %s  %s", where, d.Source)
		if d.Locator > 0 && d.RecordID == 0 {
			t.printf(":%d", d.Locator)
		}
		if d.Carved {
			t.printf("  (carved)")
		}
		t.printf("\n")
		for _, f := range d.Fields {
			t.printf("    %s: %s\n", f.Name, oneLine(f.Value, 300))
		}
	}
}

// Caps of the operations section of a terminal report (unless Limit is 0).
const (
	operationsShown = 10
	stepsShown      = 40
)

// operations lists the operations, highest score first: severity and score,
// hosts, users, time span, tactics in kill-chain order, the groups it
// resembles, and its story.
func (t *term) operations(r *result.Result, limit int) {
	if len(r.Operations) == 0 {
		return
	}
	ops := r.Operations
	if limit > 0 && len(ops) > operationsShown {
		ops = ops[:operationsShown]
	}
	title := fmt.Sprintf("Operations: %s, strongest evidence first", num(len(r.Operations)))
	if len(ops) < len(r.Operations) {
		title += fmt.Sprintf(" (%s shown; --limit 0 or --operations FILE for all)", num(len(ops)))
	}
	t.heading(title)
	for i := range ops {
		op := &ops[i]
		t.printf("\n%s  operation %d  %s  score %s  %s\n", t.paint(op.Severity, fmt.Sprintf("%-13s", op.Severity)), i+1, op.ID,
			strconv.FormatFloat(op.Score, 'f', -1, 64), plural(len(op.Detections), "detection"))
		t.printf("  hosts:   %s (%d)\n", strings.Join(op.Hosts, ", "), len(op.Hosts))
		if len(op.Users) > 0 {
			t.printf("  users:   %s\n", strings.Join(op.Users, ", "))
		}
		t.printf("  time:    %s to %s\n", stamp(op.First), stamp(op.Last))
		if len(op.Tactics) > 0 {
			t.printf("  tactics: %s\n", strings.Join(op.Tactics, " → "))
		}
		t.lateral(op.Lateral)
		for j, line := range AttributionLines(op.Attribution, 6) {
			if j == 0 {
				t.printf("  it %s\n", line)
				continue
			}
			t.printf("  %s\n", line)
		}
		t.exposure(op.Exposure, limit)
		steps := op.Narrative
		if limit > 0 && len(steps) > stepsShown {
			steps = steps[:stepsShown]
		}
		t.printf("  story:\n")
		for _, s := range steps {
			t.printf("    %s\n", oneLine(s, 300))
		}
		if n := len(op.Narrative) - len(steps); n > 0 {
			t.printf("    and %s more (--limit 0 or --operations FILE for all)\n", plural(n, "step"))
		}
	}
}

// exposureShown is how many exposure items an operation lists (unless
// Limit is 0).
const exposureShown = 12

// exposure lists what an operation's evidence shows taken: the summary,
// then each item with its strength and why.
func (t *term) exposure(e *result.Exposure, limit int) {
	if e == nil {
		return
	}
	t.printf("  exposure: %s\n", oneLine(e.Summary, 400))
	if e.Raised != "" {
		t.printf("    %s\n", e.Raised)
	}
	if len(e.CrownJewels) > 0 && e.Inferred {
		t.printf("    (valuable data inferred from file types and archived shares: no --crown-jewels file)\n")
	}
	items := e.Items
	if limit > 0 && len(items) > exposureShown {
		items = items[:exposureShown]
	}
	for _, it := range items {
		t.printf("    %s\n", oneLine(ExposureLine(&it), 400))
		t.printf("      %s: %s\n", t.paint(strengthLevel(it.Strength), it.Strength), it.Why)
	}
	if n := len(e.Items) - len(items); n > 0 {
		t.printf("    and %s more (--limit 0 or --operations FILE for all)\n", plural(n, "item"))
	}
}

// strengthLevel is the level whose colour an item's strength takes.
func strengthLevel(s string) string {
	switch s {
	case "strong":
		return "high"
	case "medium":
		return "medium"
	}
	return "low"
}

// ExposureLine says one exposure item in a line: kind, time, host, tool,
// what it read and wrote, its switches and size, valuable data touched,
// the account.
func ExposureLine(it *result.ExposureItem) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-11s %s %s  %s", it.Kind, stamp(it.Time), it.Host, it.Tool)
	if len(it.Sources) > 0 {
		src := it.Sources
		if len(src) > 4 {
			src = append(slices.Clone(src[:4]), fmt.Sprintf("and %d more", len(it.Sources)-4))
		}
		b.WriteString("  " + strings.Join(src, ", "))
	}
	if it.Destination != "" {
		b.WriteString(" → " + it.Destination)
	}
	var notes []string
	if it.Recursive {
		notes = append(notes, "recursive")
	}
	if it.Password {
		p := "password"
		if it.HeadersEncrypted {
			p += " (file names hidden)"
		}
		notes = append(notes, p)
	}
	if len(it.Files) > 0 && it.Volumes == 0 {
		notes = append(notes, plural(len(it.Files), "file")+" seen")
	}
	if it.SizeNote != "" {
		notes = append(notes, it.SizeNote)
	}
	if len(it.Valuable) > 0 {
		notes = append(notes, "valuable: "+strings.Join(it.Valuable, ", "))
	}
	if it.Account != "" {
		notes = append(notes, "by "+it.Account)
	}
	if len(notes) > 0 {
		b.WriteString("  [" + strings.Join(notes, "; ") + "]")
	}
	return b.String()
}

// lateralShown is how many cross-host links an operation lists.
const lateralShown = 5

// lateral lists an operation's cross-host links, once each, with the keys
// that made them.
func (t *term) lateral(hops []result.Hop) {
	var seen []string
	for _, h := range hops {
		line := h.From + " → " + h.To + "  " + h.Label
		if slices.Contains(seen, line) {
			continue
		}
		seen = append(seen, line)
		if len(seen) <= lateralShown {
			t.printf("  lateral: %s\n", oneLine(line, 200))
		}
	}
	if n := len(seen) - lateralShown; n > 0 {
		t.printf("  lateral: and %d more (--operations FILE for all)\n", n)
	}
}

// attribution writes which ATT&CK groups the whole hunt resembles.
func (t *term) attribution(r *result.Result) {
	if r.NotAttributed != "" {
		t.heading("ATT&CK groups the detections resemble")
		t.printf("  none compared: %s (the detections are all of one low-severity rule)\n", r.NotAttributed)
		return
	}
	if r.Attribution == nil || len(r.Attribution.Candidates) == 0 {
		return
	}
	t.heading("ATT&CK groups the detections resemble (all together; not an identification)")
	for _, line := range AttributionLines(r.Attribution, 8) {
		t.printf("  %s\n", line)
	}
}

// AttributionLines describes an attribution in a few lines: the group the
// evidence most resembles, its confidence and the shared evidence (at most
// shared IDs), then the runners-up and the confidence that it is none of
// ATT&CK's groups'; when none is the likelier, that comes first and the
// groups follow as the closest; then the software recognised in what the
// detections saw, with where. It never says the evidence is a group's.
func AttributionLines(at *result.Attribution, shared int) []string {
	if at == nil || len(at.Candidates) == 0 {
		return nil
	}
	ids := func(c *result.Candidate) string {
		var out []string
		for _, s := range c.Shared[:min(shared, len(c.Shared))] {
			out = append(out, s.ID)
		}
		if len(c.Shared) > shared {
			out = append(out, "…")
		}
		if len(out) == 0 {
			return "no shared evidence"
		}
		return strings.Join(out, ", ")
	}
	// cluster names the related groups sharing the confidence, if any.
	cluster := func(c *result.Candidate) string {
		if len(c.Related) == 0 {
			return ""
		}
		var rs []string
		for _, r := range c.Related {
			rs = append(rs, fmt.Sprintf("%s %.2f", r.Name, r.Confidence))
		}
		return fmt.Sprintf(" (related: %s; together %.2f)", strings.Join(rs, ", "), c.ClusterConfidence)
	}
	const none = "none of ATT&CK's groups (an unknown actor, or unrelated activity), confidence %.2f"
	var lines []string
	c := &at.Candidates[0]
	if at.UnknownActor >= c.Confidence {
		// The evidence is likelier none of the groups': say so first, and
		// the groups only as the closest.
		lines = append(lines, fmt.Sprintf("resembles "+none, at.UnknownActor))
		for i := range at.Candidates {
			c := &at.Candidates[i]
			label := "closest group"
			if i > 0 {
				label = "next closest"
			}
			lines = append(lines, fmt.Sprintf("  %s %s (%s), confidence %.2f%s: %s", label, c.Name, c.ID, c.Confidence, cluster(c), ids(c)))
		}
	} else {
		lines = append(lines, fmt.Sprintf("resembles %s (%s), confidence %.2f%s: %s", c.Name, c.ID, c.Confidence, cluster(c), ids(c)))
		for i := 1; i < len(at.Candidates); i++ {
			c := &at.Candidates[i]
			lines = append(lines, fmt.Sprintf("  runner-up %s (%s), confidence %.2f%s: %s", c.Name, c.ID, c.Confidence, cluster(c), ids(c)))
		}
		lines = append(lines, fmt.Sprintf("  or "+none, at.UnknownActor))
	}
	for _, sw := range at.Evidence.Seen {
		lines = append(lines, fmt.Sprintf("  software %s (%s) seen in: %s", sw.Name, sw.ID, oneLine(sw.In, 120)))
	}
	for i := range at.Candidates {
		c := &at.Candidates[i]
		for _, p := range c.Procedures {
			lines = append(lines, fmt.Sprintf("  procedure `%s`: %s is documented doing this (%s, %s; per %s)%s", p.Text, c.Name, p.Target, plural(p.Groups, "group"), strings.Join(p.Sources, ", "), sameReport(p)))
		}
	}
	if len(at.Unknown) > 0 {
		lines = append(lines, "  not in the ATT&CK knowledge base: "+strings.Join(at.Unknown, ", "))
	}
	return lines
}

// correlationShown is how many of a correlation's detections the terminal
// lists.
const correlationShown = 3

// correlation writes the body of a correlation's entry: what it counts,
// over which window, its group and aggregate, and its first detections.
func (t *term) correlation(d *result.Detection) {
	c := d.Correlation
	t.printf("    correlation %s of %s: %s within %s\n", c.Type, strings.Join(c.Rules, ", "), orNone(c.Condition), c.Timespan)
	t.printf("    %s from %s to %s", plural(c.Count, "detection"), stamp(c.First), stamp(c.Last))
	if c.Max != c.Value {
		t.printf(", at most %s in one window", strconv.FormatFloat(c.Max, 'f', -1, 64))
	}
	t.printf("\n")
	for _, f := range d.Fields {
		t.printf("    %s: %s\n", f.Name, oneLine(f.Value, 300))
	}
	for _, cd := range c.Detections[:min(correlationShown, len(c.Detections))] {
		t.printf("      %s  %s %d record %d  %s\n", stamp(cd.Time), cd.Channel, cd.EventID, cd.RecordID, cd.Rule.Title)
	}
	if n := len(c.Detections) - correlationShown; n > 0 {
		t.printf("      and %s more\n", num(n))
	}
}

// stamp renders a time for the terminal, in UTC to the second.
func stamp(tm time.Time) string {
	if tm.IsZero() {
		return "(no time)          "
	}
	return tm.UTC().Format("2006-01-02 15:04:05Z")
}

func stampOr(tm time.Time, zero string) string {
	if tm.IsZero() {
		return zero
	}
	return stamp(tm)
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine puts s on one line (line breaks as ⏎) and cuts it to max runes.
func oneLine(s string, max int) string {
	s = strings.NewReplacer("\r\n", "⏎", "\n", "⏎", "\r", "⏎", "\t", " ").Replace(s)
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

func dash(n int) string {
	if n == 0 {
		return "-"
	}
	return num(n)
}

// num renders n with thousands separators: 3,702.
func num(n int) string { return num64(int64(n)) }

func num64(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func plural(n int, noun string) string { return plural64(int64(n), noun) }

func plural64(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return num64(n) + " " + noun + "s"
}

// mb renders a byte count in megabytes (10^6) with one decimal.
func mb(n int64) string { return fmt.Sprintf("%.1f", float64(n)/1e6) }
