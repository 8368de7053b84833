package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/shared"
)

// searchCorpus is real evidence of three shapes: EVTX (Sysmon, Security,
// System, PowerShell; "Data" lists), a Security-Datasets zip of nested
// Winlogbeat JSON.
func searchCorpus(t *testing.T) []string {
	return []string{
		shared.Path(t, "datasets", "evtx-attack-samples"),
		shared.Path(t, "datasets", "deepbluecli", "evtx", "metasploit-sysmon.evtx"),
		shared.Path(t, "datasets", "security-datasets", "datasets", "atomic", "windows", "defense_evasion", "host", "cmd_mshta_javascript_getobject_sct.zip"),
	}
}

// TestSearchMatchesGrepOfDump is the differential test of spoor search:
// for each string, the events search finds are exactly the lines of spoor
// dump's output of the same files that contain the string, case ignored
// (grep -i -F), compared as multisets of the events' JSON. The strings,
// chosen and ten more sampled from the values, occur in values only (a
// field name is no value: grep would find it, search does not) and hold no
// character JSON escapes.
func TestSearchMatchesGrepOfDump(t *testing.T) {
	paths := searchCorpus(t)
	code, dump, stderr := run(t, t.Context(), append([]string{"dump", "-q"}, paths...)...)
	if code != ExitOK {
		t.Fatalf("dump: exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(dump, "\n"), "\n")
	if len(lines) < 9000 {
		t.Fatalf("dump: got %d events, want the whole corpus (over 9,000)", len(lines))
	}
	strs := []string{
		"mimikatz",           // Sysmon images, Security 4703, 5145 share paths
		"MIMIKATZ",           // the same, upper case
		"GoogleUpdateHelper", // inside "Data" lists of MsiInstaller events
		"[client: 10.0.2",    // in a list, other case, brackets no wildcard
		"wardog",             // nested Winlogbeat JSON (winlog.event_data.*) and Message
		"WorkStation5",       // Computer and data of the JSON
		"4624",               // numbers: EventID and others, as text
		"lsass.exe",
		"(NULL)",
		"S-1-5-18",
		"0x8020000000000000", // Keywords rendered as hex
		"{5770385F-C22A",     // GUIDs rendered upper-case in braces
		"2019-03-18T14:23",   // times as dump renders them
	}
	if testing.Short() {
		// CI's race run: a case, a list, nested JSON.
		strs = []string{"MIMIKATZ", "GoogleUpdateHelper", "wardog"}
	} else {
		strs = append(strs, sampleValues(t, lines, 10)...)
	}
	for _, s := range strs {
		t.Run(s, func(t *testing.T) {
			want := map[string]int{}
			wantN := 0
			for _, l := range lines {
				if strings.Contains(strings.ToLower(l), strings.ToLower(s)) {
					want[l]++
					wantN++
				}
			}
			if wantN == 0 {
				t.Fatalf("grep finds no event with %q: a useless case", s)
			}
			code, out, stderr := run(t, t.Context(), append([]string{"search", "-q", "--json", "--keyword", s}, paths...)...)
			if code != ExitOK {
				t.Fatalf("search: exit %d, stderr %q", code, stderr)
			}
			got := map[string]int{}
			gotN := 0
			for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if l == "" {
					continue
				}
				var hit struct {
					Source  string
					Record  int64
					Matched []string
					Event   json.RawMessage
				}
				if err := json.Unmarshal([]byte(l), &hit); err != nil {
					t.Fatalf("search: line %q: %v", l, err)
				}
				if hit.Source == "" || len(hit.Matched) == 0 {
					t.Errorf("hit without its file or matched fields: %.200s", l)
				}
				got[string(hit.Event)]++
				gotN++
			}
			for l, n := range want {
				if got[l] != n {
					t.Errorf("grep finds %d, search %d of %.300s", n, got[l], l)
				}
			}
			for l, n := range got {
				if want[l] == 0 {
					t.Errorf("search finds %d events grep does not: %.300s", n, l)
				}
			}
			if gotN != wantN {
				t.Errorf("hits: got %d, want %d (grep)", gotN, wantN)
			}
		})
	}
}

// sampleValues picks n strings at random (a fixed seed) from the string
// values of dump's lines: a few characters of a value, any case, that hold
// nothing JSON escapes or writes around values (quotes, backslashes,
// commas, colons, brackets) and occur in no field name, so that grep can
// find them only in values. They keep the differential test from holding
// only strings someone chose.
func sampleValues(t *testing.T, lines []string, n int) []string {
	t.Helper()
	var values []string
	names := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				names[strings.ToLower(k)] = true
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			values = append(values, v)
		}
	}
	for _, l := range lines {
		var ev any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("dump line %.200q: %v", l, err)
		}
		walk(ev)
	}
	ok := func(s string) bool {
		if len(s) < 3 || strings.TrimSpace(s) != s {
			return false
		}
		for _, c := range s {
			if c > 0x7e || c < ' ' || strings.ContainsRune(`"\,:{}[]`, c) {
				return false
			}
		}
		for name := range names {
			if strings.Contains(name, strings.ToLower(s)) {
				return false
			}
		}
		return true
	}
	rnd := rand.New(rand.NewPCG(17, 1))
	var out []string
	for tries := 0; len(out) < n && tries < 100_000; tries++ {
		v := values[rnd.IntN(len(values))]
		size := 3 + rnd.IntN(10)
		if len(v) < size {
			continue
		}
		at := rnd.IntN(len(v) - size + 1)
		if s := v[at : at+size]; ok(s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) < n {
		t.Fatalf("sampled %d strings from the dump's values, want %d", len(out), n)
	}
	return out
}

// TestSearchQueries checks field terms, --all/--any, --cased, --regex,
// time bounds and indicators on real logs, against counts taken from
// spoor dump's output by hand-written predicates.
func TestSearchQueries(t *testing.T) {
	dir := shared.Path(t, "datasets", "evtx-attack-samples")
	code, dump, _ := run(t, t.Context(), "dump", "-q", dir)
	if code != ExitOK {
		t.Fatal("dump failed")
	}
	var events []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(dump, "\n"), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	str := func(ev map[string]any, k string) string { s, _ := ev[k].(string); return s }
	count := func(pred func(map[string]any) bool) int {
		n := 0
		for _, ev := range events {
			if pred(ev) {
				n++
			}
		}
		return n
	}
	lower := strings.ToLower
	// A hash and a domain of the evidence, found at test time: the MD5 of
	// the first Sysmon event with one, and the parent domain of the first
	// host name of three labels or more (its subdomains match).
	var md5, domain string
	for _, ev := range events {
		if _, h, ok := strings.Cut(str(ev, "Hashes"), "MD5="); ok && md5 == "" {
			md5, _, _ = strings.Cut(h, ",")
		}
		for _, k := range []string{"QueryName", "DestinationHostname", "SourceHostname"} {
			if q := str(ev, k); domain == "" && strings.Count(q, ".") >= 2 && !strings.Contains(q, "..") {
				_, domain, _ = strings.Cut(q, ".")
			}
		}
	}
	if md5 == "" || domain == "" {
		t.Fatalf("no MD5 (%q) or host name (%q) in the evidence to look for", md5, domain)
	}
	iocs := writeFile(t, filepath.Join(t.TempDir(), "iocs.txt"), "# report 1\n\nmimikatz.exe\n10.0.2[.]17\n"+lower(md5)+"\n"+strings.ReplaceAll(domain, ".", "[.]")+"\n")

	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"field contains", []string{"--field", "CommandLine|contains=vssadmin"}, count(func(ev map[string]any) bool {
			return strings.Contains(lower(str(ev, "CommandLine")), "vssadmin")
		})},
		{"two fields ANDed, a number", []string{"--field", "EventID=1", "--field", "Image|endswith=\\cmd.exe"}, count(func(ev map[string]any) bool {
			return ev["EventID"] == 1.0 && strings.HasSuffix(lower(str(ev, "Image")), `\cmd.exe`)
		})},
		{"keywords any", []string{"-k", "psexec", "-k", "wmic"}, count(func(ev map[string]any) bool {
			l := lower(mustJSON(ev))
			return strings.Contains(l, "psexec") || strings.Contains(l, "wmic")
		})},
		{"keywords all", []string{"--all", "-k", "psexec", "-k", "services.exe"}, count(func(ev map[string]any) bool {
			l := lower(mustJSON(ev))
			return strings.Contains(l, "psexec") && strings.Contains(l, "services.exe")
		})},
		{"cased", []string{"--cased", "-k", "psexesvc"}, count(func(ev map[string]any) bool {
			return strings.Contains(mustJSON(ev), "psexesvc")
		})},
		{"regex", []string{"--regex", `(?i)\\\\[a-z0-9.]+\\(c|admin)\$`}, -1},
		{"time range", []string{"--field", "EventID=4624", "--from", "2019-03-19", "--to", "2019-03-19"}, count(func(ev map[string]any) bool {
			return ev["EventID"] == 4624.0 && strings.HasPrefix(str(ev, "TimeCreated"), "2019-03-19")
		})},
		{"iocs", []string{"--ioc", iocs}, count(func(ev map[string]any) bool {
			for _, k := range []string{"Image", "ParentImage", "SourceImage", "TargetImage", "ImageLoaded", "TargetFilename", "NewProcessName", "ParentProcessName", "ProcessName"} {
				if strings.HasSuffix(lower(str(ev, k)), `\mimikatz.exe`) {
					return true
				}
			}
			for _, k := range []string{"IpAddress", "SourceIp", "DestinationIp", "SourceAddress", "DestAddress", "ClientAddress", "Address"} {
				if v := str(ev, k); v == "10.0.2.17" || v == "::ffff:10.0.2.17" {
					return true
				}
			}
			for _, k := range []string{"Hashes", "Hash"} {
				for _, h := range strings.Split(str(ev, k), ",") {
					if _, v, _ := strings.Cut(h, "="); strings.EqualFold(v, md5) {
						return true
					}
				}
			}
			for _, k := range []string{"MD5", "SHA1", "SHA256", "Imphash"} {
				if strings.EqualFold(str(ev, k), md5) {
					return true
				}
			}
			for _, k := range []string{"QueryName", "DestinationHostname", "SourceHostname"} {
				if v := lower(str(ev, k)); v == lower(domain) || strings.HasSuffix(v, "."+lower(domain)) {
					return true
				}
			}
			return false
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := run(t, t.Context(), append(append([]string{"search", "-q", "--csv"}, tc.args...), dir)...)
			if code != ExitOK {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rows[0], csvColumns) {
				t.Fatalf("header: got %v, want %v", rows[0], csvColumns)
			}
			got := len(rows) - 1
			want := tc.want
			if want < 0 { // the regex: admin shares in any value
				want = 0
				for _, ev := range events {
					if adminShare(ev) {
						want++
					}
				}
			}
			if want == 0 {
				t.Fatalf("no event to find: a useless case")
			}
			if got != want {
				t.Errorf("hits: got %d, want %d", got, want)
			}
			if tc.name == "iocs" {
				kinds := map[string]int{}
				for _, r := range rows[1:] {
					held := false
					for _, ioc := range []string{"file:mimikatz.exe", "ip:10.0.2.17", "hash:" + lower(md5), "domain:" + lower(domain)} {
						if strings.Contains(r[7], ioc) {
							kinds[ioc]++
							held = true
						}
					}
					if !held {
						t.Errorf("iocs column: got %q, want the indicator held", r[7])
					}
				}
				if len(kinds) != 4 {
					t.Errorf("indicators held by the hits: %v, want each of the four", kinds)
				}
			}
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// adminShare reports whether a value of ev names an admin share
// (\\host\C$ or \\host\ADMIN$), written out without a regular expression.
func adminShare(ev map[string]any) bool {
	var values []string
	for _, v := range ev {
		switch v := v.(type) {
		case string:
			values = append(values, v)
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					values = append(values, s)
				}
			}
		}
	}
	for _, v := range values {
		l := strings.ToLower(v)
		for i := 0; i+2 < len(l); i++ {
			if l[i] != '\\' || l[i+1] != '\\' {
				continue
			}
			j := i + 2
			for j < len(l) && (l[j] >= 'a' && l[j] <= 'z' || l[j] >= '0' && l[j] <= '9' || l[j] == '.') {
				j++
			}
			if j > i+2 && j < len(l) && l[j] == '\\' && (strings.HasPrefix(l[j+1:], "c$") || strings.HasPrefix(l[j+1:], "admin$")) {
				return true
			}
		}
	}
	return false
}

// TestSearchBadInput: bad queries are usage errors (2) that say what is
// wrong; an IOC file that cannot be read or holds no indicator exits 1
// naming it (and the line).
func TestSearchBadInput(t *testing.T) {
	dir := t.TempDir()
	log := shared.Path(t, "datasets", "deepbluecli", "evtx", "metasploit-sysmon.evtx")
	bad := writeFile(t, filepath.Join(dir, "bad.txt"), "d41d8cd98f00b204e9800998ecf8427e\nnot an indicator\n")
	empty := writeFile(t, filepath.Join(dir, "empty.txt"), "# nothing\n")
	unreadable := writeFile(t, filepath.Join(dir, "secret.txt"), "1.2.3.4\n")
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"bad regex", []string{"--regex", "a(b"}, ExitUsage, []string{"--regex", "a(b", "missing closing )"}},
		{"unknown modifier", []string{"--field", "CommandLine|contians=x"}, ExitUsage, []string{"--field", `unknown modifier "contians"`}},
		{"conflicting modifiers", []string{"--field", "Image|contains|endswith=x"}, ExitUsage, []string{"conflict"}},
		{"bad cidr", []string{"--field", "SourceIp|cidr=10.0.0/8"}, ExitUsage, []string{"cidr"}},
		{"no equals", []string{"--field", "CommandLine"}, ExitUsage, []string{"NAME=VALUE"}},
		{"nothing to search", nil, ExitUsage, []string{"nothing to search for"}},
		{"empty keyword", []string{"-k", ""}, ExitUsage, []string{"empty"}},
		{"all and any", []string{"--all", "--any", "-k", "x"}, ExitUsage, []string{"contradict"}},
		{"bad time", []string{"-k", "x", "--from", "yesterday"}, ExitUsage, []string{"--from"}},
		{"missing ioc file", []string{"--ioc", filepath.Join(dir, "nope.txt")}, ExitFailure, []string{"--ioc", "nope.txt", "no such file"}},
		{"bad ioc line", []string{"--ioc", bad}, ExitFailure, []string{"bad.txt:2", `"not an indicator"`}},
		{"no indicators", []string{"--ioc", empty}, ExitFailure, []string{"empty.txt", "no indicators"}},
	}
	if os.Getuid() != 0 { // root reads any file
		tests = append(tests, struct {
			name string
			args []string
			code int
			want []string
		}{"unreadable ioc file", []string{"--ioc", unreadable}, ExitFailure, []string{"secret.txt", "permission denied"}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := run(t, t.Context(), append(append([]string{"search"}, tc.args...), log)...)
			if code != tc.code {
				t.Errorf("exit: got %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if out != "" {
				t.Errorf("stdout: got %q, want nothing", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr: got %q, want it to say %q", stderr, w)
				}
			}
		})
	}
}

// TestSearchCSVKeepsNoReaderText: search --csv holds a file's rows until it
// prints them, past the events; a row that kept a string of the reader's
// (here a textual EventID, which JSON logs may carry) showed the text of a
// later line once the reader refilled its buffer. The log is larger than
// the JSON reader's first buffer so that it is refilled.
func TestSearchCSVKeepsNoReaderText(t *testing.T) {
	var b strings.Builder
	const lines = 3000
	pad := strings.Repeat("x", 200)
	for i := range lines {
		fmt.Fprintf(&b, `{"EventID":"E%04d","Computer":"HOST%04d","Channel":"Security","TimeCreated":"2024-01-01T00:00:00Z","Pad":%q}`+"\n", i, i, pad)
	}
	log := writeFile(t, filepath.Join(t.TempDir(), "ids.jsonl"), b.String())
	code, out, stderr := run(t, t.Context(), "search", "-q", "--csv", "--keyword", "HOST", log)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != lines+1 {
		t.Fatalf("rows: got %d, want %d", len(rows), lines+1)
	}
	for _, r := range rows[1:] {
		var ev struct{ EventID, Computer string }
		if err := json.Unmarshal([]byte(r[9]), &ev); err != nil {
			t.Fatal(err)
		}
		if r[1] != ev.Computer || r[3] != ev.EventID {
			t.Fatalf("row of %s: got computer %q, event_id %q; want %q, %q", ev.Computer, r[1], r[3], ev.Computer, ev.EventID)
		}
	}
}

// TestSearchCSVNoFormulas: text that a spreadsheet would run as a formula,
// in a JSON log's event ID or record ID as in any other cell, is written
// with a leading quote.
func TestSearchCSVNoFormulas(t *testing.T) {
	log := writeFile(t, filepath.Join(t.TempDir(), "f.jsonl"),
		`{"EventID":"=HYPERLINK(\"http://x\")","EventRecordID":"+1+1","Computer":"@SUM(A1)","Channel":"Security","TimeCreated":"2024-01-01T00:00:00Z"}`+"\n")
	code, out, stderr := run(t, t.Context(), "search", "-q", "--csv", "--keyword", "Security", log)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows %v, %v; want a header and one row", rows, err)
	}
	for i, want := range map[int]string{1: `'@SUM(A1)`, 3: `'=HYPERLINK("http://x")`, 4: `'+1+1`} {
		if rows[1][i] != want {
			t.Errorf("%s: got %q, want %q", rows[0][i], rows[1][i], want)
		}
	}
}

// TestSearchTable: the table for people lists the hits --json lists, file
// by file under the file's name, each row with its event ID and record ID
// and the fields that hold the keyword.
func TestSearchTable(t *testing.T) {
	dir := shared.Path(t, "datasets", "evtx-attack-samples")
	code, out, stderr := run(t, t.Context(), "search", "-q", "--json", "-k", "mimikatz", dir)
	if code != ExitOK {
		t.Fatalf("search --json: exit %d, stderr %q", code, stderr)
	}
	want := map[string]int{} // source, event ID, record ID
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var hit struct {
			Source string
			Event  struct{ EventID, EventRecordID int64 }
		}
		if err := json.Unmarshal([]byte(l), &hit); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		want[fmt.Sprintf("%s %d %d", hit.Source, hit.Event.EventID, hit.Event.EventRecordID)]++
	}
	if len(want) < 5 {
		t.Fatalf("%d hits of mimikatz as JSON, want over 5", len(want))
	}
	code, out, stderr = run(t, t.Context(), "search", "-q", "-k", "mimikatz", dir)
	if code != ExitOK {
		t.Fatalf("search: exit %d, stderr %q", code, stderr)
	}
	got := map[string]int{}
	source := ""
	cols := regexp.MustCompile(`\s{2,}`)
	for _, l := range strings.Split(out, "\n") {
		switch {
		case l == "":
		case !strings.HasPrefix(l, "  "):
			source = l
		case strings.HasPrefix(l, "  TIME (UTC)"):
			if source == "" {
				t.Errorf("column header before a file's name")
			}
		default:
			f := cols.Split(strings.TrimSpace(l), -1)
			if len(f) != 6 || !strings.Contains(strings.ToLower(f[5]), "mimikatz") {
				t.Errorf("row %q: want time, computer, channel, event ID, record ID and the fields holding mimikatz", l)
				continue
			}
			got[source+" "+f[3]+" "+f[4]]++
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("table rows:\n%v\nwant the --json hits:\n%v", got, want)
	}
}
