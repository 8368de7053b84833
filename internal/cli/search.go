package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/report"
	"github.com/spoor-hunt/spoor/internal/search"
	"github.com/spoor-hunt/spoor/internal/source"
	"github.com/spoor-hunt/spoor/internal/termsafe"
)

// searchFlags are the flags of `spoor search`.
type searchFlags struct {
	keywords []string
	regexes  []string
	all      bool
	anyOf    bool
	cased    bool
	fields   []string
	ioc      string
	from, to string
	json     bool
	csv      bool
	evidence evidenceFlags
}

func newSearch(env Env) *cobra.Command {
	var f searchFlags
	cmd := &cobra.Command{
		Use:   "search PATH...",
		Short: "Find the events that hold a text, a field value or an indicator",
		Long: `Search reads event logs as spoor dump does (EVTX, JSON, folders, archives,
"-" for the standard input) and prints every event that matches the query,
with its file and record.

The query is compiled into a Sigma detection and matched by the hunt's
engine, so it means what it would in a rule:

  --keyword TEXT   TEXT in any field value (not in field names), as a Sigma
                   keyword: contained, case ignored (ASCII and Unicode),
                   taken literally (* and ? are no wildcards). Repeatable:
                   any keyword (--any, the default) or every one (--all,
                   each in some field). --cased makes keywords case-sensitive.
  --regex RE       a regular expression (Go RE2 syntax, Sigma's re) matched
                   against every field value; case-sensitive unless (?i).
                   Repeatable, any or all as keywords.
  --field NAME=VALUE
                   a field term, as a Sigma rule writes NAME: VALUE, with
                   modifiers: 'CommandLine|contains=vssadmin',
                   'Image|endswith=\rundll32.exe', 'DestinationIp|cidr=10.0.0.0/8',
                   'EventID=4688'. Names are those spoor dump shows (no
                   logsource mapping: Security 4688 has NewProcessName, not
                   Image). Values are compared case-insensitively, * and ?
                   are wildcards. Repeatable: every term must hold.
  --ioc FILE       indicators, one a line (# comments): MD5/SHA-1/SHA-256
                   hashes (Hashes, Hash, MD5, SHA1, SHA256, Imphash), IP
                   addresses (DestinationIp, SourceIp, IpAddress,
                   SourceAddress, DestAddress, ClientAddress, Address),
                   domains and their subdomains (QueryName,
                   DestinationHostname, SourceHostname), file names or paths
                   (at the end of Image, ParentImage, TargetFilename,
                   ImageLoaded, NewProcessName, ServiceFileName, ImagePath
                   and other path fields; OriginalFileName). Defanged forms
                   (evil[.]com) are read; a prefix (hash:, ip:, domain:,
                   file:) settles an ambiguous one such as file:update.com.
                   An event holding any indicator is a hit, and says which.

Parts given together are ANDed. --from/--to bound the event time (RFC 3339
or a date, UTC; both included).

Output: a table per file (time, computer, channel, event ID, record, the
fields that hold what was asked for), --json JSON lines (source file,
record, indicators, matched field names and the whole event as spoor dump
writes it), or --csv (the same, the event as a JSON cell). The hits of one
file come in record order; files come as they are finished (--workers 1:
in input order). On a terminal, progress is shown on stderr; the summary
(what was read, events searched and hits) goes to stderr.

Exit status: 0 when events were read (with or without hits); 1 when nothing
could be read, a PATH given or the --ioc file could not be read, or the
--ioc file holds a line that is no indicator (named by line); 2 for a bad
command line (a bad regular expression, an unknown modifier, a malformed
--field).`,
		Example: `  # Every event mentioning a tool, case ignored
  spoor search --keyword mimikatz C:\Triage\Logs\

  # Shadow copies deleted, as JSON lines
  spoor search --field 'CommandLine|contains=vssadmin' --field 'CommandLine|contains=delete' --json logs/

  # Indicators from a report, over a collection, to a spreadsheet
  spoor search --ioc iocs.txt --csv collection.zip > hits.csv

  # Failed logons of one account in a week
  spoor search --field EventID=4625 --field TargetUserName=svc_backup --from 2022-02-01 --to 2022-02-07 Security.evtx`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{errors.New("search needs at least one PATH (file, folder or archive)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSearch(cmd.Context(), quietEnv(env, cmd, f.evidence.quiet), f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.keywords, "keyword", "k", nil, "`TEXT` in any field value, case ignored, no wildcards (repeatable)")
	fl.StringArrayVarP(&f.regexes, "regex", "r", nil, "regular expression `RE` matched against every field value (repeatable)")
	fl.BoolVar(&f.all, "all", false, "every --keyword and --regex must match (each in some field)")
	fl.BoolVar(&f.anyOf, "any", false, "one --keyword and one --regex suffice (the default)")
	fl.BoolVar(&f.cased, "cased", false, "keywords are case-sensitive")
	fl.StringArrayVarP(&f.fields, "field", "f", nil, "field term `NAME[|modifier...]=VALUE`, as in a Sigma rule (repeatable, ANDed)")
	fl.StringVar(&f.ioc, "ioc", "", "indicators in `FILE`, one a line: hashes, IP addresses, domains, file names")
	fl.StringVar(&f.from, "from", "", "only events at or after `TIME` (RFC 3339 or YYYY-MM-DD, UTC)")
	fl.StringVar(&f.to, "to", "", "only events at or before `TIME` (RFC 3339 or YYYY-MM-DD, UTC)")
	fl.BoolVar(&f.json, "json", false, "print JSON lines, one hit a line")
	fl.BoolVar(&f.csv, "csv", false, "print CSV, one hit a row")
	f.evidence.add(fl)
	return cmd
}

// query checks the flags and returns the query; a usage error for the
// command line, an exitError (1) for an IOC file that cannot be read or
// holds no indicators.
func (f *searchFlags) query() (search.Query, error) {
	q := search.Query{Keywords: f.keywords, Regexes: f.regexes, All: f.all, Cased: f.cased, Fields: f.fields}
	if f.all && f.anyOf {
		return q, &usageError{errors.New("--all and --any contradict each other")}
	}
	if f.json && f.csv {
		return q, &usageError{errors.New("--json and --csv contradict each other: choose one output")}
	}
	if f.ioc != "" {
		file, err := os.Open(f.ioc)
		if err != nil {
			return q, &exitError{ExitFailure, fmt.Errorf("--ioc: %w", err)}
		}
		defer file.Close()
		if q.IOCs, err = search.ParseIOCs(file, f.ioc); err != nil {
			return q, &exitError{ExitFailure, fmt.Errorf("--ioc: %w", err)}
		}
	}
	return q, nil
}

func runSearch(ctx context.Context, env Env, f searchFlags, paths []string) error {
	q, err := f.query()
	if err != nil {
		return err
	}
	searcher, err := search.Compile(q)
	if err != nil {
		return &usageError{err}
	}
	var opts search.Options
	if opts.From, err = parseTime(f.from, false); err != nil {
		return &usageError{fmt.Errorf("--from: %w", err)}
	}
	if opts.To, err = parseTime(f.to, true); err != nil {
		return &usageError{fmt.Errorf("--to: %w", err)}
	}
	if !opts.From.IsZero() && !opts.To.IsZero() && opts.To.Before(opts.From) {
		return &usageError{fmt.Errorf("--to %s is before --from %s", f.to, f.from)}
	}
	var prog source.Progress
	if opts.Source, err = f.evidence.options(env, &prog); err != nil {
		return err
	}
	format := hitsTable
	switch {
	case f.json:
		format = hitsJSON
	case f.csv:
		format = hitsCSV
	}
	bw := bufio.NewWriterSize(env.Stdout, outputBuffer)
	hw := newHitWriter(bw, format, q.Explainer(), opts.Source.Workers)

	pd := f.evidence.progress(env, &prog)
	sum, stats, runErr := searcher.Run(ctx, paths, opts, hw.hit)
	pd.stop()
	if runErr == nil {
		runErr = hw.close()
	}
	flushErr := bw.Flush()

	f.evidence.summary(env, sum, runErr)
	if !f.evidence.quiet {
		fmt.Fprintf(env.Stderr, "spoor: %s in %s searched", plural64(stats.Hits, "hit"), plural64(stats.Searched, "event"))
		if stats.OutOfRange > 0 {
			fmt.Fprintf(env.Stderr, " (%s outside --from/--to)", plural64(stats.OutOfRange, "event"))
		}
		fmt.Fprintln(env.Stderr)
	}
	return readError(ctx, &prog, sum, runErr, flushErr, "write hits")
}

// hitFormat is how hits are printed.
type hitFormat uint8

const (
	hitsTable hitFormat = iota
	hitsJSON
	hitsCSV
)

// hitWriter prints hits from several workers: each worker gathers the hits
// of the file it reads and hands them over whole (a file's hits stay
// together and in record order), or in blocks when they are many.
type hitWriter struct {
	mu     sync.Mutex
	w      io.Writer
	csv    *csv.Writer
	err    error
	format hitFormat
	expl   *search.Explainer
	shards []hitShard
}

// hitShard is one worker's hits of its current file.
type hitShard struct {
	source string
	rows   [][]string // table rows
	buf    []byte     // JSON lines
	csv    [][]string // CSV records
	idx    []int
	_      [64]byte
}

// hitBlock is how many hits a worker gathers before printing them.
const hitBlock = 1000

// csvColumns are the columns of search --csv.
var csvColumns = []string{"datetime", "computer", "channel", "event_id", "record_id", "locator", "source_file", "iocs", "matched", "event"}

func newHitWriter(w io.Writer, format hitFormat, expl *search.Explainer, workers int) *hitWriter {
	hw := &hitWriter{w: w, format: format, expl: expl, shards: make([]hitShard, workers)}
	if format == hitsCSV {
		hw.csv = csv.NewWriter(w)
		hw.csv.Write(csvColumns)
	}
	return hw
}

// hit records one hit of worker w.
func (hw *hitWriter) hit(w int, h search.Hit) error {
	sh := &hw.shards[w]
	ev := h.Event
	if ev.Source != sh.source {
		if err := hw.flush(sh); err != nil {
			return err
		}
		sh.source = strings.Clone(ev.Source)
	}
	sh.idx = hw.expl.Fields(sh.idx[:0], ev, h.IOCs)
	switch hw.format {
	case hitsJSON:
		sh.buf = appendHitJSON(sh.buf, ev, h.IOCs, sh.idx)
	case hitsCSV:
		sh.csv = append(sh.csv, hitCSV(ev, h.IOCs, sh.idx))
	default:
		sh.rows = append(sh.rows, hitRow(ev, h.IOCs, sh.idx))
	}
	if len(sh.rows)+len(sh.csv) >= hitBlock || len(sh.buf) >= outputBuffer/4 {
		return hw.flush(sh)
	}
	return nil
}

// close prints what the workers still hold.
func (hw *hitWriter) close() error {
	for i := range hw.shards {
		if err := hw.flush(&hw.shards[i]); err != nil {
			return err
		}
	}
	return nil
}

// flush prints a shard's hits.
func (hw *hitWriter) flush(sh *hitShard) error {
	if len(sh.rows) == 0 && len(sh.buf) == 0 && len(sh.csv) == 0 {
		return nil
	}
	hw.mu.Lock()
	defer hw.mu.Unlock()
	if hw.err != nil {
		return hw.err
	}
	switch {
	case len(sh.buf) > 0:
		_, hw.err = hw.w.Write(sh.buf)
	case len(sh.csv) > 0:
		hw.err = hw.csv.WriteAll(sh.csv)
	default:
		hw.err = writeHitTable(hw.w, sh.source, sh.rows)
	}
	sh.rows, sh.buf, sh.csv = sh.rows[:0], sh.buf[:0], sh.csv[:0]
	return hw.err
}

// hitTime renders an event's time: RFC 3339 in UTC, "" without one.
func hitTime(ev *event.Event, layout string) string {
	t := ev.Time()
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(layout)
}

// explained renders the fields of idx as "Name: value" joined by " ¦ ",
// each value cut at max bytes (0: whole).
func explained(ev *event.Event, idx []int, max int) string {
	var b strings.Builder
	for i, k := range idx {
		if i > 0 {
			b.WriteString(" ¦ ")
		}
		f := &ev.Fields[k]
		b.WriteString(f.Name)
		b.WriteString(": ")
		if max > 0 {
			b.WriteString(oneLine(f.Value.Text(), max))
		} else {
			b.WriteString(f.Value.Text())
		}
	}
	return b.String()
}

// cutText cuts s to at most n bytes on a rune boundary.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

func iocList(iocs []*search.IOC) []string {
	out := make([]string, len(iocs))
	for i, c := range iocs {
		out[i] = c.Kind.String() + ":" + c.Value
	}
	return out
}

// appendHitJSON appends one JSON line: source, record, carved, the
// indicators held, the fields that matched, and the whole event.
func appendHitJSON(b []byte, ev *event.Event, iocs []*search.IOC, idx []int) []byte {
	b = append(b, `{"source":`...)
	b = event.AppendJSONString(b, ev.Source)
	b = append(b, `,"record":`...)
	b = strconv.AppendInt(b, ev.Locator, 10)
	if ev.Carved {
		b = append(b, `,"carved":true`...)
	}
	if len(iocs) > 0 {
		b = append(b, `,"iocs":[`...)
		for i, s := range iocList(iocs) {
			if i > 0 {
				b = append(b, ',')
			}
			b = event.AppendJSONString(b, s)
		}
		b = append(b, ']')
	}
	b = append(b, `,"matched":[`...)
	for i, k := range idx {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, ev.Fields[k].Name)
	}
	b = append(b, `],"event":`...)
	b = ev.AppendJSON(b)
	return append(b, '}', '\n')
}

// hitCSV is one CSV record; every cell is copied out of the event.
func hitCSV(ev *event.Event, iocs []*search.IOC, idx []int) []string {
	return []string{
		hitTime(ev, "2006-01-02T15:04:05.000000Z"),
		report.CSVCell(strings.Clone(ev.Lookup(event.FieldComputer).Text())),
		report.CSVCell(strings.Clone(ev.Lookup(event.FieldChannel).Text())),
		report.CSVCell(strings.Clone(ev.Lookup(event.FieldEventID).Text())), // text in JSON logs: the reader's
		report.CSVCell(recordID(ev)),
		strconv.FormatInt(ev.Locator, 10),
		report.CSVCell(strings.Clone(ev.Source)),
		report.CSVCell(strings.Join(iocList(iocs), "; ")),
		report.CSVCell(explained(ev, idx, 0)),
		report.CSVCell(string(ev.AppendJSON(nil))),
	}
}

// recordID is the event's EventRecordID, else its Locator (the record
// number in an EVTX file, the line of a JSON file).
func recordID(ev *event.Event) string {
	if v, ok := ev.Get(event.FieldEventRecordID); ok && !v.IsNull() {
		return strings.Clone(v.Text())
	}
	return strconv.FormatInt(ev.Locator, 10)
}

// oneLine copies s as one line: runs of spaces and control characters
// made one space, cut at n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < ' ' || r == ' ' || r == 0x7f }), " ")
	if len(s) > n {
		return cutText(s, n) + "…"
	}
	return termsafe.String(strings.Clone(s)) // Join of one field is that field: the reader's
}

// hitRow is one table row: time, computer, channel, event ID, record,
// what matched.
func hitRow(ev *event.Event, iocs []*search.IOC, idx []int) []string {
	rec := recordID(ev)
	if ev.Carved {
		rec += " carved"
	}
	match := explained(ev, idx, 100)
	if len(iocs) > 0 {
		match = "[" + strings.Join(iocList(iocs), ", ") + "] " + match
	}
	return []string{
		hitTime(ev, time.DateTime),
		oneLine(ev.Lookup(event.FieldComputer).Text(), 30),
		oneLine(shortChannel(ev.Lookup(event.FieldChannel).Text()), 40),
		oneLine(ev.Lookup(event.FieldEventID).Text(), 10),
		termsafe.String(rec),
		termsafe.String(match),
	}
}

// shortChannel shortens the long channel names of common logs for a table.
func shortChannel(c string) string {
	c = strings.TrimPrefix(c, "Microsoft-Windows-")
	return strings.TrimSuffix(c, "/Operational")
}

// writeHitTable writes the hits of one file: its name, then the rows
// under aligned columns.
func writeHitTable(w io.Writer, file string, rows [][]string) error {
	header := []string{"TIME (UTC)", "COMPUTER", "CHANNEL", "EID", "RECORD ID", "MATCH"}
	width := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r[:len(r)-1] {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", oneLine(file, 1<<16))
	line := func(r []string) {
		b.WriteString("  ")
		for i, c := range r[:len(r)-1] {
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", width[i]-len([]rune(c))+2))
		}
		b.WriteString(r[len(r)-1])
		b.WriteByte('\n')
	}
	line(header)
	for _, r := range rows {
		line(r)
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}
