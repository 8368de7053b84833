package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
)

// Format is a timeline file format.
type Format int

// The timeline formats.
const (
	CSV   Format = iota // comma-separated values with a header line
	JSONL               // one JSON object per line
)

// String returns "csv" or "jsonl".
func (f Format) String() string {
	if f == JSONL {
		return "jsonl"
	}
	return "csv"
}

// FormatOf returns the timeline format a file name calls for: CSV for .csv,
// JSON lines for .jsonl, .json and .ndjson (case-insensitive).
func FormatOf(name string) (Format, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return CSV, nil
	case ".jsonl", ".json", ".ndjson":
		return JSONL, nil
	}
	return 0, fmt.Errorf("timeline %s: unknown extension: want .csv, .jsonl, .json or .ndjson", name)
}

// Columns are the timeline's columns, in order: the CSV header and the keys
// of every JSON line. They are stable; new ones are only ever appended.
//
//   - timestamp: the event time in microseconds since 1970 UTC, as
//     Timesketch stores it (a number in JSON lines; its import keeps a
//     timestamp it is given); "" in CSV and null in JSON lines when the
//     event has none
//   - datetime: the event time, RFC 3339 in UTC with microseconds
//     (2022-02-07T14:02:11.000000Z), so that the text sorts as the time
//     does (Timesketch requires it; Timeline Explorer shows it); "" when
//     the event has none
//   - timestamp_desc: "Event Time" (Timesketch); "Correlation Fired" for
//     a correlation, whose time is when its condition first held
//   - message: "[level] rule title ¦ details" (Timesketch)
//   - computer, channel, event_id, record_id: the event's system fields
//   - level: the rule level (informational ... critical)
//   - rule_title, rule_id: the rule
//   - tactics: the rule's ATT&CK tactics, kill-chain order ("; " between
//     them in CSV, an array in JSON lines)
//   - techniques: its ATT&CK technique IDs (likewise)
//   - details: the fields that explain the detection, "Name: value"
//     joined by " ¦ " (as Hayabusa writes them), line breaks as spaces
//   - source_file: the file (or "archive!member") the event came from
//   - carved: "true" (true in JSON lines) when the event was carved from
//     an EVTX file's free space or slack (hunt --carve), "" (false)
//     otherwise
//
// In CSV, a text cell that starts with a character that makes a
// spreadsheet read a formula (= + - @, tab, carriage return, line feed) is
// written with a single quote in front, so that a Computer of
// =HYPERLINK(...) stays text; JSON lines are written as they are.
var Columns = []string{
	"timestamp", "datetime", "timestamp_desc", "message",
	"computer", "channel", "event_id", "record_id",
	"level", "rule_title", "rule_id", "tactics", "techniques",
	"details", "source_file", "carved",
}

// TimestampDesc is the timestamp_desc of a detection's timeline row;
// CorrelationDesc that of a correlation's.
const (
	TimestampDesc   = "Event Time"
	CorrelationDesc = "Correlation Fired"
)

// timestampDesc returns the timestamp_desc of d's row.
func timestampDesc(d *result.Detection) string {
	if d.Kind == result.KindCorrelation {
		return CorrelationDesc
	}
	return TimestampDesc
}

// Timeline writes every detection of r in time order (r.Detections is
// sorted so by hunt.Run), one row each, in format f.
func Timeline(w io.Writer, r *result.Result, f Format) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var err error
	if f == JSONL {
		err = timelineJSONL(bw, r)
	} else {
		err = timelineCSV(bw, r)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func timelineCSV(w io.Writer, r *result.Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return err
	}
	row := make([]string, len(Columns))
	for i := range r.Detections {
		d := &r.Detections[i]
		details := Details(d.Fields)
		micros := ""
		if us := timeMicros(d.Time); us != nil {
			micros = strconv.FormatInt(*us, 10)
		}
		row = append(row[:0],
			micros, TimeText(d.Time), timestampDesc(d), cell(message(d, details)),
			cell(d.Computer), cell(d.Channel), strconv.FormatInt(d.EventID, 10), strconv.FormatInt(d.RecordID, 10),
			cell(d.Rule.Level), cell(d.Rule.Title), cell(d.Rule.ID),
			cell(strings.Join(d.Rule.Tactics, "; ")), cell(strings.Join(d.Rule.Techniques, "; ")),
			cell(details), cell(d.Source), carvedText(d.Carved),
		)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// formulaStarts are the first characters that make a spreadsheet read a
// cell as a formula (OWASP, CSV Injection): = + - @, tab, carriage return,
// line feed.
const formulaStarts = "=+-@\t\r\n"

// cell neutralises a CSV cell of text that comes from the evidence or the
// rules: one that starts like a formula gets a leading single quote, which
// spreadsheets take as "this is text" (OWASP's advice; the CSV writer
// quotes separators and quotes). The columns spoor renders from numbers
// and times are left as they are: a number, even negative, is no formula.
func cell(s string) string {
	if s != "" && strings.IndexByte(formulaStarts, s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// timelineRow is one JSON line; its fields follow Columns.
type timelineRow struct {
	Timestamp     *int64   `json:"timestamp"`
	Datetime      string   `json:"datetime"`
	TimestampDesc string   `json:"timestamp_desc"`
	Message       string   `json:"message"`
	Computer      string   `json:"computer"`
	Channel       string   `json:"channel"`
	EventID       int64    `json:"event_id"`
	RecordID      int64    `json:"record_id"`
	Level         string   `json:"level"`
	RuleTitle     string   `json:"rule_title"`
	RuleID        string   `json:"rule_id"`
	Tactics       []string `json:"tactics"`
	Techniques    []string `json:"techniques"`
	Details       string   `json:"details"`
	SourceFile    string   `json:"source_file"`
	Carved        bool     `json:"carved"`
}

// carvedText is the CSV carved column.
func carvedText(carved bool) string {
	if carved {
		return "true"
	}
	return ""
}

func timelineJSONL(w io.Writer, r *result.Result) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range r.Detections {
		d := &r.Detections[i]
		details := Details(d.Fields)
		row := timelineRow{
			Timestamp: timeMicros(d.Time), Datetime: TimeText(d.Time), TimestampDesc: timestampDesc(d), Message: message(d, details),
			Computer: d.Computer, Channel: d.Channel, EventID: d.EventID, RecordID: d.RecordID,
			Level: d.Rule.Level, RuleTitle: d.Rule.Title, RuleID: d.Rule.ID,
			Tactics: nonNil(d.Rule.Tactics), Techniques: nonNil(d.Rule.Techniques),
			Details: details, SourceFile: d.Source, Carved: d.Carved,
		}
		if err := enc.Encode(&row); err != nil {
			return err
		}
	}
	return nil
}

// TimeText renders a detection time for a timeline: RFC 3339, UTC, with
// microseconds, so that the text sorts as the time does; "" for no time.
func TimeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

// timeMicros returns t in microseconds since 1970 UTC, nil for no time.
func timeMicros(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	us := t.UnixMicro()
	return &us
}

// Details renders fields as "Name: value ¦ Name: value", each value on one
// line.
func Details(fields []result.Field) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteString(" ¦ ")
		}
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(flatten(f.Value))
	}
	return b.String()
}

// flatten puts s on one line: each run of line breaks and tabs becomes one
// space.
func flatten(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' || r == '\t' }), " ")
}

func message(d *result.Detection, details string) string {
	m := "[" + d.Rule.Level + "] " + d.Rule.Title
	if details != "" {
		m += " ¦ " + details
	}
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
