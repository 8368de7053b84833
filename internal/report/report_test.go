package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/attack"
	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/shared"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixture hunts the small evidence set of the hunt package with its test
// rules only, and clears what changes from run to run.
func fixture(t *testing.T) *result.Result {
	t.Helper()
	res, err := hunt.Run(t.Context(), []string{"../hunt/testdata/evidence"}, hunt.Options{
		NoBuiltin: true,
		Rules:     []string{"../hunt/testdata/rules"},
		Workers:   2,
	})
	if err != nil {
		t.Fatal(err)
	}
	res.Started = time.Time{}
	res.ElapsedSeconds = 0
	res.Version = "test"
	return res
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: output differs from the golden file (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestGolden(t *testing.T) {
	res := fixture(t)
	tests := []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"hunt.txt", func(b *bytes.Buffer) error { return Terminal(b, res, TerminalOptions{}) }},
		{"hunt_limit1.txt", func(b *bytes.Buffer) error { return Terminal(b, res, TerminalOptions{Limit: 1}) }},
		{"hunt.csv", func(b *bytes.Buffer) error { return Timeline(b, res, CSV) }},
		{"hunt.jsonl", func(b *bytes.Buffer) error { return Timeline(b, res, JSONL) }},
		{"hunt.json", func(b *bytes.Buffer) error { return JSON(b, res) }},
		{"hunt_operations.json", func(b *bytes.Buffer) error { return Operations(b, res) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, b.Bytes())
		})
	}
}

func TestTerminalNoDetections(t *testing.T) {
	res := fixture(t)
	res.Detections, res.Total, res.RuleCounts, res.Hosts, res.Tactics = nil, 0, nil, nil, nil
	res.Levels = result.LevelCounts{}
	var b bytes.Buffer
	if err := Terminal(&b, res, TerminalOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); !strings.HasSuffix(got, "\nNo detections.\n") {
		t.Errorf("got %q, want it to end with No detections.", got)
	}
}

func TestTerminalColor(t *testing.T) {
	res := fixture(t)
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		if err := Terminal(&b, res, TerminalOptions{Color: color}); err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(b.String(), "\x1b[")
		if got != color {
			t.Errorf("Color %v: got escapes %v, want %v", color, got, color)
		}
		if color && !strings.Contains(b.String(), levelColors["critical"]+"critical") {
			t.Errorf("Color true: got no critical colour in %q", b.String())
		}
	}
}

// TestTimelineShape checks what Timeline Explorer and Timesketch rely on:
// the header, one row per detection in time order, the Timesketch columns.
func TestTimelineShape(t *testing.T) {
	res := fixture(t)
	var b bytes.Buffer
	if err := Timeline(&b, res, CSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(rows[0], ","), strings.Join(Columns, ","); got != want {
		t.Errorf("header: got %s, want %s", got, want)
	}
	if got, want := len(rows)-1, len(res.Detections); got != want {
		t.Fatalf("rows: got %d, want %d", got, want)
	}
	var prev int64
	for i, row := range rows[1:] {
		// timestamp is microseconds since 1970 (what Timesketch stores),
		// datetime the same instant as RFC 3339.
		us, err := strconv.ParseInt(row[0], 10, 64)
		if err != nil {
			t.Errorf("row %d: timestamp: %v", i+1, err)
		}
		if us < prev {
			t.Errorf("row %d: timestamp %d before the previous %d", i+1, us, prev)
		}
		prev = us
		dt, err := time.Parse(time.RFC3339, row[1])
		if err != nil {
			t.Errorf("row %d: datetime: %v", i+1, err)
		} else if dt.UnixMicro() != us {
			t.Errorf("row %d: timestamp %d is not datetime %s (%d)", i+1, us, row[1], dt.UnixMicro())
		}
		if row[2] != TimestampDesc || row[3] == "" {
			t.Errorf("row %d: timestamp_desc %q, message %q: want both set", i+1, row[2], row[3])
		}
	}

	b.Reset()
	if err := Timeline(&b, res, JSONL); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(res.Detections) {
		t.Fatalf("JSON lines: got %d, want %d", len(lines), len(res.Detections))
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		for _, c := range Columns {
			if _, ok := m[c]; !ok {
				t.Errorf("line %d: got no %q key", i+1, c)
			}
		}
		if len(m) != len(Columns) {
			t.Errorf("line %d: got %d keys, want %d", i+1, len(m), len(Columns))
		}
		if ts, ok := m["timestamp"].(float64); !ok || ts <= 0 {
			t.Errorf("line %d: timestamp %v: want a number of microseconds (Timesketch keeps it as given)", i+1, m["timestamp"])
		}
	}
}

// TestCarvedMark: a carved detection says so in the timeline (the carved
// column, in CSV and JSON lines), in the terminal report and in JSON.
func TestCarvedMark(t *testing.T) {
	res := fixture(t)
	if len(res.Detections) < 2 {
		t.Fatalf("got %d detections, want at least 2", len(res.Detections))
	}
	res.Detections[1].Carved = true
	var b bytes.Buffer
	if err := Timeline(&b, res, CSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "carved")
	if col != len(Columns)-1 || rows[1][col] != "" || rows[2][col] != "true" {
		t.Errorf("CSV: got carved column %d, values %q and %q; want %d, \"\" and \"true\"", col, rows[1][col], rows[2][col], len(Columns)-1)
	}
	b.Reset()
	if err := Timeline(&b, res, JSONL); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.HasSuffix(lines[0], `"carved":false}`) || !strings.HasSuffix(lines[1], `"carved":true}`) {
		t.Errorf("JSON lines: got\n%s\n%s\nwant carved false, then true", lines[0], lines[1])
	}
	b.Reset()
	if err := Terminal(&b, res, TerminalOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(b.String(), "(carved)"); got != 1 {
		t.Errorf("terminal: got %d carved marks, want 1:\n%s", got, b.String())
	}
	b.Reset()
	if err := JSON(&b, res); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(b.String(), `"carved": true`) + strings.Count(b.String(), `"carved":true`); got != 1 {
		t.Errorf("JSON: got %d carved marks, want 1", got)
	}
}

func TestFormatOf(t *testing.T) {
	tests := []struct {
		name    string
		want    Format
		wantErr bool
	}{
		{"t.csv", CSV, false},
		{"T.CSV", CSV, false},
		{"t.jsonl", JSONL, false},
		{"t.json", JSONL, false},
		{"dir/t.ndjson", JSONL, false},
		{"t.txt", 0, true},
		{"t", 0, true},
	}
	for _, tt := range tests {
		got, err := FormatOf(tt.name)
		if (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
			t.Errorf("FormatOf(%q): got %v, %v, want %v (error %v)", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestDetails(t *testing.T) {
	got := Details([]result.Field{{Name: "Image", Value: `C:\a.exe`}, {Name: "CommandLine", Value: "a\r\n b\tc"}})
	want := `Image: C:\a.exe ¦ CommandLine: a  b c`
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	res := fixture(t)
	var b bytes.Buffer
	if err := JSON(&b, res); err != nil {
		t.Fatal(err)
	}
	var back result.Result
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Total != res.Total || len(back.Detections) != len(res.Detections) || back.Rules.Loaded != res.Rules.Loaded {
		t.Errorf("got total %d, %d detections, %d rules; want %d, %d, %d",
			back.Total, len(back.Detections), back.Rules.Loaded, res.Total, len(res.Detections), res.Rules.Loaded)
	}
}

// TestGoldenCorrelation: the terminal and JSON reports of a hunt where a
// correlation fires (DeepBlueCLI's password spraying): the correlation with
// its window, group, count and first detections; its building blocks
// counted, not listed.
func TestGoldenCorrelation(t *testing.T) {
	// The rules are files of the built-in set (the failed-logon
	// correlations and their building blocks), so that rules added to it
	// do not change the golden file.
	res, err := hunt.Run(t.Context(), []string{shared.Path(t, "datasets", "deepbluecli", "evtx", "password-spray.evtx")}, hunt.Options{
		NoBuiltin: true,
		Rules: []string{
			"../../rules/windows/correlation/mr_win_security_password_guessing.yml",
			"../../rules/windows/correlation/mr_win_security_password_spray_explicit_credentials.yml",
			"../../rules/windows/correlation/mr_win_security_password_spray_failed_logons.yml",
			"../../rules/windows/builtin/security/win_security_explicit_credentials_remote.yml",
			"../../rules/windows/builtin/security/win_security_logon_failed_network.yml",
		},
		Workers: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	res.Started, res.ElapsedSeconds, res.Version = time.Time{}, 0, "test"
	res.Paths = []string{"password-spray.evtx"}
	res.Rules.Sources = []string{"rules"}
	for i := range res.Detections {
		d := &res.Detections[i]
		d.Source = filepath.Base(d.Source)
		if c := d.Correlation; c != nil {
			for j := range c.Detections {
				c.Detections[j].Source = filepath.Base(c.Detections[j].Source)
			}
		}
	}
	var b bytes.Buffer
	if err := Terminal(&b, res, TerminalOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"correlation value_count of explicit_credentials_remote: count(TargetUserName) >= 10 within 5m0s",
		"294 detections from 2019-04-30 19:27:02Z to 2019-04-30 19:32:17Z, at most 41 in one window",
		"and 291 more",
		"resembles ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal report: want %q in it", want)
		}
	}
	if strings.Contains(out, "Logon With Explicit Credentials to a Remote Server (Security 4648)\n    Security") {
		t.Error("terminal report: a building-block detection is listed on its own")
	}
	golden(t, "correlation.txt", b.Bytes())

	b.Reset()
	if err := Timeline(&b, res, CSV); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), ","+CorrelationDesc+",[high] Password Spraying With Explicit Credentials") {
		t.Errorf("timeline: want the correlation's row with timestamp_desc %q", CorrelationDesc)
	}
}

// TestOperationsDocument: --operations writes every operation of the
// Result in its order, each with its detections in full, the ones its
// indices name.
func TestOperationsDocument(t *testing.T) {
	res := fixture(t)
	if len(res.Operations) == 0 {
		t.Fatal("fixture: got no operations")
	}
	var b bytes.Buffer
	if err := Operations(&b, res); err != nil {
		t.Fatal(err)
	}
	var doc OperationsDocument
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tool != "spoor" || len(doc.Operations) != len(res.Operations) {
		t.Fatalf("got tool %q, %d operations; want spoor, %d", doc.Tool, len(doc.Operations), len(res.Operations))
	}
	for i, op := range doc.Operations {
		want := res.Operations[i]
		if op.ID != want.ID || len(op.Detections) != len(want.Detections) {
			t.Fatalf("operation %d: got %s with %d detections, want %s with %d", i, op.ID, len(op.Detections), want.ID, len(want.Detections))
		}
		for j, d := range op.Detections {
			w := res.Detections[want.Detections[j]]
			if d.RecordID != w.RecordID || d.Rule.ID != w.Rule.ID || !d.Time.Equal(w.Time) {
				t.Errorf("operation %d detection %d: got record %d rule %s, want record %d rule %s", i, j, d.RecordID, d.Rule.ID, w.RecordID, w.Rule.ID)
			}
		}
	}
}

// TestAttributionLines checks that the likelier of the best group and
// "none of ATT&CK's groups" comes first, and that a group is never said to
// be the actor.
func TestAttributionLines(t *testing.T) {
	at := &result.Attribution{Candidates: []result.Candidate{
		{Rank: 1, ID: "G0096", Name: "APT41", Confidence: 0.7},
		{Rank: 2, ID: "G0044", Name: "Winnti Group", Confidence: 0.1},
	}, UnknownActor: 0.2}
	lines := AttributionLines(at, 3)
	if !strings.HasPrefix(lines[0], "resembles APT41 (G0096), confidence 0.70") || !strings.Contains(lines[1], "runner-up Winnti Group") ||
		!strings.Contains(lines[2], "or none of ATT&CK's groups") {
		t.Errorf("group likelier: got %q", lines)
	}
	at.Candidates[0].Confidence, at.UnknownActor = 0.1, 0.8
	lines = AttributionLines(at, 3)
	if !strings.HasPrefix(lines[0], "resembles none of ATT&CK's groups") || !strings.Contains(lines[1], "closest group APT41") ||
		!strings.Contains(lines[2], "next closest Winnti Group") {
		t.Errorf("none likelier: got %q", lines)
	}
	for _, l := range lines {
		if strings.Contains(l, " is ") {
			t.Errorf("line says a group is the actor: %q", l)
		}
	}
	at.Evidence.Seen = []attack.SoftwareSeen{{ID: "S0002", Name: "Mimikatz", In: `C:\Temp\mimikatz.exe`}}
	lines = AttributionLines(at, 3)
	if want := `  software Mimikatz (S0002) seen in: C:\Temp\mimikatz.exe`; lines[len(lines)-1] != want {
		t.Errorf("software seen: got %q, want %q last", lines, want)
	}
	// A procedure counted once with a stronger one of its report says so.
	at.Candidates[0].Procedures = []attack.ProcedureMatch{
		{Text: "net session", Target: "T1049", Groups: 1, Bits: 1.44, Sources: []string{"R"}},
		{Text: "net time", Target: "T1124", Groups: 4, Sources: []string{"R"}},
	}
	lines = AttributionLines(at, 3)
	last := lines[len(lines)-2:]
	if strings.Contains(last[0], "counted once") || !strings.HasSuffix(last[1], "counted once with its report's other procedures") {
		t.Errorf("procedures: got %q, want only the second noted as counted once", last)
	}
}

// TestTimelineCSVFormulas: a CSV cell of evidence or rule text that starts
// like a spreadsheet formula is written with a leading single quote (OWASP,
// CSV Injection); numbers stay numbers and JSON lines keep the text as is.
func TestTimelineCSVFormulas(t *testing.T) {
	hyperlink := `=HYPERLINK("http://x","y")`
	res := &result.Result{Detections: []result.Detection{{
		Time:     time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), // a negative timestamp
		Computer: hyperlink,
		Channel:  "+cmd|' /C calc'!A0",
		EventID:  -1,
		RecordID: 7,
		Source:   "@SUM(1+1)*cmd|' /C calc'!A0",
		Rule:     &result.Rule{ID: "-2+3", Title: "\tTab", Level: "\rhigh", Tactics: []string{"\nx"}, Techniques: []string{"T1003"}},
		Fields:   []result.Field{{Name: "=A1", Value: "v"}},
	}}}
	var b bytes.Buffer
	if err := Timeline(&b, res, CSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("got %d rows, want a header and 1 row", len(rows))
	}
	got := map[string]string{}
	for i, c := range Columns {
		got[c] = rows[1][i]
	}
	for col, want := range map[string]string{
		"timestamp":   "-1000000",
		"datetime":    "1969-12-31T23:59:59.000000Z",
		"message":     "[\rhigh] \tTab ¦ =A1: v",
		"computer":    "'" + hyperlink,
		"channel":     "'+cmd|' /C calc'!A0",
		"event_id":    "-1",
		"record_id":   "7",
		"level":       "'\rhigh",
		"rule_title":  "'\tTab",
		"rule_id":     "'-2+3",
		"tactics":     "'\nx",
		"techniques":  "T1003",
		"details":     "'=A1: v",
		"source_file": "'@SUM(1+1)*cmd|' /C calc'!A0",
	} {
		if got[col] != want {
			t.Errorf("CSV %s: got %q, want %q", col, got[col], want)
		}
	}

	b.Reset()
	if err := Timeline(&b, res, JSONL); err != nil {
		t.Fatal(err)
	}
	var row timelineRow
	if err := json.Unmarshal(b.Bytes(), &row); err != nil {
		t.Fatal(err)
	}
	if row.Computer != hyperlink || row.RuleID != "-2+3" || row.Details != "=A1: v" {
		t.Errorf("JSON lines: got computer %q, rule_id %q, details %q; want them as they are", row.Computer, row.RuleID, row.Details)
	}
}

// TestNotAttributed: a hunt whose evidence is too little to attribute says
// so in the terminal instead of listing groups.
func TestNotAttributed(t *testing.T) {
	res := &result.Result{Total: 1, NotAttributed: result.TooLittleEvidence}
	var b strings.Builder
	if err := Terminal(&b, res, TerminalOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "none compared: too little evidence") {
		t.Errorf("terminal: got\n%s\nwant it to say too little evidence", b.String())
	}
}

// TestTerminalLateral: each cross-host link of an operation is listed once,
// with the keys that made it.
func TestTerminalLateral(t *testing.T) {
	res := fixture(t)
	if len(res.Operations) == 0 {
		t.Fatal("fixture: got no operations")
	}
	hop := result.Hop{From: "J", To: "DC", Label: `network logon 0x3e4a1f of CORP\adm ← WMIC.exe`}
	res.Operations[0].Lateral = []result.Hop{hop, hop}
	var b bytes.Buffer
	if err := Terminal(&b, res, TerminalOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "  lateral: J → DC  network logon 0x3e4a1f of CORP\\adm ← WMIC.exe\n"
	if got := strings.Count(b.String(), want); got != 1 {
		t.Errorf("got %q %d times, want once in\n%s", want, got, b.String())
	}
}

// TestTerminalEscapesEvidence: control characters in what the evidence
// says (a command line that retitles the terminal, a computer name that
// clears the screen, a reversed file name) are printed escaped; the
// report's own colours are not.
func TestTerminalEscapesEvidence(t *testing.T) {
	res := fixture(t)
	d := &res.Detections[0]
	d.Computer = "WS01\x1b[2J"
	d.Rule.Title = "Title\rspoofed"
	if len(d.Fields) == 0 {
		t.Fatal("the fixture's first detection has no fields")
	}
	d.Fields[0].Value = "cmd.exe \x1b]0;owned\x07 invoice\u202egpj.exe"
	var b bytes.Buffer
	if err := Terminal(&b, res, TerminalOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`WS01\x1b[2J`, `Title\x0dspoofed`, `cmd.exe \x1b]0;owned\x07 invoice\u202egpj.exe`, levelColors["critical"] + "critical"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, bad := range []string{"\x1b[2J", "\x1b]0;", "\r", "\u202e"} {
		if strings.Contains(out, bad) {
			t.Errorf("output holds %q raw", bad)
		}
	}
}
