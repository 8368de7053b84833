package html

import (
	"bytes"
	"flag"
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// generated is the fixed creation time of the test reports.
var generated = time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC)

// render writes the report of r with opts (Generated fixed) and returns it.
func render(t *testing.T, r *result.Result, opts Options) string {
	t.Helper()
	if opts.Generated.IsZero() {
		opts.Generated = generated
	}
	var b bytes.Buffer
	if err := opts.Write(&b, r); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	got := render(t, fixture(), Options{})
	path := filepath.Join("testdata", "report.golden.html")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("report differs from %s at line %d:\ngot  %q\nwant %q\n(run go test -update if the change is intended)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("report differs from %s: got %d lines, want %d (run go test -update if the change is intended)", path, len(gl), len(wl))
	}
}

func TestDeterministic(t *testing.T) {
	a := render(t, fixture(), Options{})
	b := render(t, fixture(), Options{})
	if a != b {
		t.Fatal("two reports of the same Result differ")
	}
	if strings.Contains(a, time.Now().UTC().Format("2006-01-02 15:")) {
		t.Error("report with a fixed Generated time contains the wall clock")
	}
}

func TestSummary(t *testing.T) {
	out := render(t, fixture(), Options{})
	for _, want := range []string{
		"spoor v0.0.0-test",
		"2024-06-01 09:00:00 UTC", // generated
		"<code>evidence/</code>", "<code>extra/dc01.zip</code>",
		"52 rules from", "<code>builtin</code>", "<code>rules/extra</code>", "3 left out by the filters", "1 could not be loaded",
		"level informational and above",
		"<dt>Files</dt><dd>5 (1 archives), 3.0 MB</dd>",
		"<dt>Events read</dt><dd>12,345</dd>",
		"2024-05-14 08:12:30 UTC</time> to <time>2024-05-14 15:12:30 UTC",
		"could not read <code>evidence/cut.evtx</code>: unexpected EOF (after 120 events)",
		"2 parts skipped, at least 40 records lost", "<li>chunk 3: bad checksum</li>",
		"rule not used: rules/extra/broken.yml: unknown modifier |foo",
		`<span class="n">9</span> detections`,
		`<li class="lv lv-critical"><span class="n">2</span> Critical</li>`,
		`<li class="lv lv-high"><span class="n">2</span> High</li>`,
		`<li class="lv lv-medium"><span class="n">3</span> Medium</li>`,
		`<li class="lv lv-low"><span class="n">1</span> Low</li>`,
		`<li class="lv lv-informational"><span class="n">1</span> Informational</li>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestChart(t *testing.T) {
	r := fixture()
	out := render(t, r, Options{})
	// The fixture spans 09:12:30 to 15:10:30: 10-minute buckets from 09:10
	// to 15:10, 37 of them, one bar group each, empty ones included.
	groups := regexp.MustCompile(`<g class="bucket" data-start="([^"]+)"><title>([^<]*)</title>`).FindAllStringSubmatch(out, -1)
	if len(groups) != 37 {
		t.Fatalf("got %d bar groups, want 37", len(groups))
	}
	if got, want := groups[0][1], "2024-05-14 09:10"; got != want {
		t.Errorf("first bucket starts %q, want %q", got, want)
	}
	if got, want := groups[0][2], "2024-05-14 09:10 to 09:20 UTC: 3 detections (1 high, 2 medium)"; got != want {
		t.Errorf("first bar's title is %q, want %q", got, want)
	}
	if got, want := groups[36][1], "2024-05-14 15:10"; got != want {
		t.Errorf("last bucket starts %q, want %q", got, want)
	}
	// One rect for each level present in a bucket: the 8 dated detections
	// fill 5 buckets with 7 (bucket, level) pairs: 09:10 (high, medium),
	// 09:50 (critical), 11:10 (high, informational), 13:40 (critical) and
	// 15:10 (low).
	bars := out[strings.Index(out, `<g class="bars">`):]
	if got := strings.Count(bars, `<rect class="lv-`); got != 7 {
		t.Errorf("got %d bar segments, want 7", got)
	}
	for _, want := range []string{"one bar per 10 minutes", "1 detection without a time not shown", `<g class="legend">`} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestTacticsInOrder(t *testing.T) {
	out := render(t, fixture(), Options{})
	last := -1
	for _, tc := range result.Tactics {
		i := strings.Index(out, `<span class="name">`+tc.Name+`</span> <span class="id">`+tc.ID+`</span>`)
		if i < 0 {
			t.Fatalf("tactic %s %s missing", tc.ID, tc.Name)
		}
		if i < last {
			t.Errorf("tactic %s out of kill-chain order", tc.Name)
		}
		last = i
	}
	for _, want := range []string{
		`<li class="tactic seen"><span class="name">Discovery</span> <span class="id">TA0007</span> <span class="count">3 detections / 1 rule</span></li>`,
		`<li class="tactic seen"><span class="name">Credential Access</span> <span class="id">TA0006</span> <span class="count">2 detections / 1 rule</span></li>`,
		`<li class="tactic"><span class="name">Impact</span> <span class="id">TA0040</span> <span class="count">not seen</span></li>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestEveryDetection(t *testing.T) {
	r := fixture()
	out := render(t, r, Options{})
	body := out[strings.Index(out, `<table id="detections"`):]
	if got := strings.Count(body, "<tr class=\"lv-"); got != len(r.Detections) {
		t.Errorf("got %d table rows, want %d", got, len(r.Detections))
	}
	for _, d := range r.Detections {
		esc := template.HTMLEscapeString
		want := []string{esc(d.Rule.Title), esc(d.Source + ":")}
		if !d.Time.IsZero() {
			want = append(want, d.Time.Format("2006-01-02 15:04:05.000"))
		}
		if d.Computer != "" {
			want = append(want, esc(d.Computer))
		}
		for _, f := range d.Fields {
			want = append(want, "<b>"+esc(f.Name)+"</b> "+esc(f.Value))
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("table lacks %q of the detection at %v", w, d.Time)
			}
		}
	}
	if !strings.Contains(body, "<b>CommandLine</b> reg save HKLM\\SAM C:\\ProgramData\\s.hiv") {
		t.Error("a detection's command line is missing")
	}
}

func TestHostile(t *testing.T) {
	out := render(t, fixture(), Options{})
	// Only the report's own two scripts may appear.
	if got := strings.Count(strings.ToLower(out), "<script"); got != 2 {
		t.Errorf("got %d <script tags, want 2 (the report's own)", got)
	}
	for _, bad := range []string{hostileCommand, hostileHost, hostileRule, hostileSource, hostileNotLog, hostileFieldKey, "<img", "onerror=\"", "<b onclick"} {
		if strings.Contains(out, bad) {
			t.Errorf("report holds %q unescaped", bad)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;document.body.setAttribute(&#39;data-pwned&#39;,&#39;1&#39;)&lt;/script&gt;",
		"WS03&lt;img src=x onerror=&#34;document.body.setAttribute(&#39;data-pwned&#39;,&#39;2&#39;)&#34;&gt;",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks the escaped %q", want)
		}
	}
}

func TestCap(t *testing.T) {
	r := fixture()
	out := render(t, r, Options{MaxRows: 3})
	body := out[strings.Index(out, `<table id="detections"`):]
	if got := strings.Count(body, "<tr class=\"lv-"); got != 3 {
		t.Fatalf("got %d rows, want 3", got)
	}
	// The two critical and the earliest high.
	for _, want := range []string{"2024-05-14 09:12:30.000", "2024-05-14 09:59:30.000", "2024-05-14 13:42:30.000"} {
		if !strings.Contains(body, want) {
			t.Errorf("capped table lacks the detection at %s", want)
		}
	}
	if !strings.Contains(out, "This table holds the 3 most severe of the 9 detections") {
		t.Error("capped report does not say so")
	}
	if strings.Contains(render(t, r, Options{MaxRows: -1}), "most severe of the") {
		t.Error("uncapped report says it is capped")
	}
}

func TestEmpty(t *testing.T) {
	r := &result.Result{Tool: "spoor", Paths: []string{"x"}}
	out := render(t, r, Options{})
	for _, want := range []string{"No detections.", "No rule fired.", "No host had detections.", "not seen"} {
		if !strings.Contains(out, want) {
			t.Errorf("empty report lacks %q", want)
		}
	}
}

// TestLarge checks that a hunt with 100,000 detections gives a report of
// reasonable size: the table is capped.
func TestLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large report in -short mode")
	}
	r := fixture()
	base := r.Detections
	r.Detections = make([]result.Detection, 0, 100000)
	for i := range 100000 {
		d := base[i%(len(base)-1)] // the dated ones
		d.Time = t0.Add(time.Duration(i) * 13 * time.Second)
		d.Fields = []result.Field{{Name: "CommandLine", Value: strings.Repeat("powershell -enc AAAA ", 10)}}
		r.Detections = append(r.Detections, d)
	}
	aggregate(r)
	out := render(t, r, Options{})
	if n := strings.Count(out, "<tr class=\"lv-"); n != DefaultMaxRows {
		t.Errorf("got %d rows, want %d", n, DefaultMaxRows)
	}
	if len(out) > 16<<20 {
		t.Errorf("report is %d MB, want at most 16", len(out)>>20)
	}
	t.Logf("100,000 detections: %.1f MB", float64(len(out))/(1<<20))
}

func TestChooseSpan(t *testing.T) {
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		r    time.Duration
		want string
	}{
		{0, "minute"},
		{30 * time.Minute, "minute"},
		{100 * time.Minute, "2 minutes"},
		{6 * time.Hour, "10 minutes"},
		{2 * day, "1 hour"},
		{20 * day, "12 hours"},
		{90 * day, "2 days"},
		{300 * day, "week"},
		{3 * 365 * day, "4 weeks"},
		{10 * 365 * day, "9 weeks"},
	} {
		got := chooseSpan(from, from.Add(tc.r)).name
		if tc.want == "1 hour" {
			tc.want = "hour"
		}
		if got != tc.want {
			t.Errorf("range %v: got %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestWeekFloor(t *testing.T) {
	// 2024-05-16 is a Thursday; its week starts on Monday 2024-05-13.
	got := floor(time.Date(2024, 5, 16, 13, 0, 0, 0, time.UTC), week)
	if want := time.Date(2024, 5, 13, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"ééééé", 3, "éé…"},
	} {
		if got := cut(tc.s, tc.n); got != tc.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

// TestNoneOfTheGroupsFirst checks that an operation whose evidence is
// likelier none of ATT&CK's groups' says so first, the groups following as
// the closest, and otherwise comes last.
func TestNoneOfTheGroupsFirst(t *testing.T) {
	op := result.Operation{ID: "op-1", Severity: "high", Attribution: &result.Attribution{
		Candidates:   []result.Candidate{{Rank: 1, ID: "G0009", Name: "Deep Panda", Confidence: 0.01}},
		UnknownActor: 0.97,
	}}
	r := &result.Result{Operations: []result.Operation{op}}
	out := render(t, r, Options{})
	none := strings.Index(out, "None of ATT&amp;CK's groups")
	group := strings.Index(out, "Deep Panda (G0009)</span>, confidence 0.01 <small>closest</small>")
	if none < 0 || group < 0 || none > group {
		t.Errorf("none likelier: want it first, then the closest group (none at %d, group at %d)", none, group)
	}
	r.Operations[0].Attribution.Candidates[0].Confidence, r.Operations[0].Attribution.UnknownActor = 0.9, 0.05
	out = render(t, r, Options{})
	group = strings.Index(out, "Deep Panda (G0009)</span>, confidence 0.90:")
	none = strings.Index(out, "none of ATT&amp;CK's groups</span> (an unknown actor, or unrelated activity), confidence 0.05")
	if group < 0 || none < group {
		t.Errorf("group likelier: want it first, none last (group at %d, none at %d)", group, none)
	}
}

// TestCarved: a carved detection's source says so.
func TestCarved(t *testing.T) {
	r := fixture()
	r.Detections[0].Carved = true
	body := render(t, r, Options{})
	body = body[strings.Index(body, `<table id="detections"`):]
	if got := strings.Count(body, " (carved)"); got != 1 {
		t.Errorf("got %d carved marks, want 1", got)
	}
}
