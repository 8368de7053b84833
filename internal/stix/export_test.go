package stix_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/spoor-hunt/spoor/internal/attack"
	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/stix"
	"github.com/spoor-hunt/spoor/rules"
)

// schemaBase is the $id prefix of the OASIS STIX 2.1 JSON schemas.
const schemaBase = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/"

var (
	schemaOnce sync.Once
	schemaErr  error
	schemas    *jsonschema.Compiler
)

// bundleSchema compiles the bundle schema of the STIX 2.1 JSON schemas
// in ../shared/docs/stix/json-schemas, each added under its $id.
func bundleSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	dir := shared.Path(t, "docs", "stix", "json-schemas", "schemas")
	schemaOnce.Do(func() {
		c := jsonschema.NewCompiler()
		schemaErr = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			doc, err := jsonschema.UnmarshalJSON(f)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			return c.AddResource(schemaBase+filepath.ToSlash(rel), doc)
		})
		schemas = c
	})
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	s, err := schemas.Compile(schemaBase + "common/bundle.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validate checks a bundle against the JSON schemas and Check.
func validate(t *testing.T, data []byte) {
	t.Helper()
	for _, p := range problems(t, data) {
		t.Error(p)
	}
}

// problems are the ways a bundle fails the JSON schemas, object by object
// (so that each names its object), and Check.
func problems(t *testing.T, data []byte) []string {
	t.Helper()
	sch := bundleSchema(t)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	if err := sch.Validate(doc); err != nil {
		objs := doc.(map[string]any)["objects"].([]any)
		n := 0
		for _, o := range objs {
			one := map[string]any{"type": "bundle", "id": doc.(map[string]any)["id"], "objects": []any{o}}
			if err := sch.Validate(one); err != nil && n < 5 {
				n++
				b, _ := json.Marshal(o)
				out = append(out, fmt.Sprintf("schema: %s\n%v", b, err))
			}
		}
		if n == 0 {
			out = append(out, fmt.Sprintf("schema: %v", err))
		}
	}
	for _, err := range stix.Check(data) {
		out = append(out, "check: "+err.Error())
	}
	return out
}

// huntOf hunts paths with the built-in rules.
func huntOf(t *testing.T, paths ...string) *result.Result {
	t.Helper()
	res, err := hunt.Run(context.Background(), paths, hunt.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// builtinYAML returns the built-in rule of an id, by a scan of the
// embedded files.
func builtinYAML(t *testing.T) func(string) []byte {
	t.Helper()
	byID := map[string][]byte{}
	err := fs.WalkDir(rules.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".test.yml") {
			return err
		}
		b, err := fs.ReadFile(rules.FS, p)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if id, ok := strings.CutPrefix(line, "id: "); ok {
				byID[strings.TrimSpace(id)] = b
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return func(id string) []byte { return byID[id] }
}

func operations(res *result.Result) []stix.Operation {
	var ops []stix.Operation
	for i := range res.Operations {
		op := &res.Operations[i]
		ds := make([]result.Detection, len(op.Detections))
		for j, k := range op.Detections {
			ds[j] = res.Detections[k]
		}
		ops = append(ops, stix.Operation{Op: op, Detections: ds})
	}
	return ops
}

func exportJSON(t *testing.T, ops []stix.Operation, opts stix.Options) ([]byte, *stix.Bundle) {
	t.Helper()
	b, err := stix.Export(ops, opts)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.MarshalIndent(b, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return data, b
}

func byType(b *stix.Bundle, typ string) []stix.Object {
	var out []stix.Object
	for _, o := range b.Objects {
		if o.Type() == typ {
			out = append(out, o)
		}
	}
	return out
}

func TestExportCuckooBees(t *testing.T) {
	res := huntOf(t, filepath.Join("..", "..", "examples", "cuckoobees"))
	if len(res.Operations) == 0 {
		t.Fatal("no operation in the CuckooBees example")
	}
	kb, err := attack.Load()
	if err != nil {
		t.Fatal(err)
	}
	opts := stix.Options{Identity: "Example CERT", RuleYAML: builtinYAML(t), ATTACK: kb}
	data, b := exportJSON(t, operations(res), opts)
	validate(t, data)

	if n := len(byType(b, "report")); n != len(res.Operations) {
		t.Errorf("got %d reports, want one per operation (%d)", n, len(res.Operations))
	}
	patterns := map[string]bool{}
	sigma := 0
	for _, ind := range byType(b, "indicator") {
		if ind["pattern_type"] == "sigma" {
			sigma++
			continue
		}
		patterns[ind["pattern"].(string)] = true
	}
	if sigma == 0 {
		t.Error("no Sigma indicator")
	}
	// What the example's README says the intrusion left.
	for _, want := range []string{
		`[ipv4-addr:value = '198.51.100.23']`,
		`[file:name = 'rar.exe' AND file:parent_directory_ref.path = 'C:\\ProgramData\\Microsoft\\DRM']`,
		`[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\TaskCache\\Tree\\test']`,
	} {
		if !patterns[want] {
			t.Errorf("no indicator %s; have %d: %v", want, len(patterns), slices.Sorted(mapKeys(patterns)))
		}
	}
	var attributed int
	for _, r := range byType(b, "relationship") {
		if r["relationship_type"] == "attributed-to" {
			attributed++
			if _, ok := r["confidence"].(int); !ok {
				t.Errorf("attributed-to without an integer confidence: %v", r)
			}
			if !strings.Contains(r["description"].(string), "not an identification") {
				t.Errorf("attributed-to without its explanation: %v", r["description"])
			}
		}
	}
	if attributed == 0 {
		t.Error("no attributed-to relationship")
	}
	if len(byType(b, "malware"))+len(byType(b, "tool")) == 0 {
		t.Error("no software (Mimikatz was recognised)")
	}

	// Deterministic: the same operations give the same bundle.
	again, _ := exportJSON(t, operations(res), opts)
	if !bytes.Equal(data, again) {
		t.Error("a second export of the same operations differs")
	}

	// Redacted: no host, user or internal address is left, anywhere.
	opts.Redact = stix.Redact{Hosts: true, Users: true, IPs: true}
	red, _ := exportJSON(t, operations(res), opts)
	validate(t, red)
	low := strings.ToLower(string(red))
	for _, leak := range []string{"erp01", "fs01", "dc01", "adm.wang", "10.10.20.11", "10.10.20.15"} {
		if strings.Contains(low, leak) {
			i := strings.Index(low, leak)
			t.Errorf("redacted export shows %q: …%s…", leak, red[max(0, i-80):min(len(red), i+40)])
		}
	}
	if !strings.Contains(string(red), stix.Pseudonym("host", "FS01")) {
		t.Errorf("redacted export lacks FS01's pseudonym %s", stix.Pseudonym("host", "FS01"))
	}
	if !strings.Contains(string(red), "198.51.100.23") {
		t.Error("redacting internal addresses removed the attacker's public one")
	}
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestExportEVTXAttackSamples(t *testing.T) {
	dir := shared.Path(t, "datasets", "evtx-attack-samples")
	if testing.Short() {
		t.Skip("hunts a few hundred EVTX files")
	}
	res := huntOf(t, dir)
	kb, err := attack.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tlp    string
		redact stix.Redact
	}{{"clear", stix.Redact{}}, {"amber+strict", stix.Redact{}}, {"red", stix.Redact{Hosts: true, Users: true, IPs: true}}} {
		tlp := tc.tlp
		data, b := exportJSON(t, operations(res), stix.Options{TLP: tlp, Redact: tc.redact, RuleYAML: builtinYAML(t), ATTACK: kb})
		validate(t, data)
		if tc.redact.Hosts {
			// No computer of an operation is named in the redacted bundle,
			// anywhere (names, descriptions, patterns, rules).
			hosts := map[string]bool{}
			for _, op := range operations(res) {
				for _, d := range op.Detections {
					if short, _, _ := strings.Cut(d.Computer, "."); len(short) >= 3 {
						hosts[short] = true
					}
				}
			}
			if len(hosts) == 0 {
				t.Fatal("no host in the operations: nothing to redact")
			}
			for h := range hosts {
				if regexp.MustCompile(`(?i)(^|[^\pL\pN_])` + regexp.QuoteMeta(h) + `($|[^\pL\pN_])`).Match(data) {
					loc := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(h)).FindIndex(data)
					t.Errorf("redacted export names host %s: …%s…", h, data[max(0, loc[0]-300):min(len(data), loc[1]+100)])
				}
			}
		}
		// Every operation's report holds an indicator (a Sigma rule that
		// fired in it, at least).
		for _, r := range byType(b, "report") {
			if !slices.ContainsFunc(r["object_refs"].([]string), func(id string) bool { return strings.HasPrefix(id, "indicator--") }) {
				t.Errorf("TLP %s: report %s holds no indicator", tlp, r["name"])
			}
		}
		if got := byType(b, "marking-definition")[0]["name"]; got != "TLP:"+strings.ToUpper(tlp) {
			t.Errorf("marking %v, want TLP:%s", got, strings.ToUpper(tlp))
		}
	}
}

// TestExportedPatternsMatch compiles every STIX-pattern indicator of the
// CuckooBees export and matches it over the detections it came from:
// each must find what it was made of, and a pattern of another value
// must not.
func TestExportedPatternsMatch(t *testing.T) {
	res := huntOf(t, filepath.Join("..", "..", "examples", "cuckoobees"))
	_, b := exportJSON(t, operations(res), stix.Options{})
	var recs []stix.Record
	for _, d := range res.Detections {
		recs = append(recs, stix.Record{Time: d.Time, Fields: d.Fields})
	}
	n := 0
	for _, ind := range byType(b, "indicator") {
		if ind["pattern_type"] != "stix" {
			continue
		}
		n++
		s := ind["pattern"].(string)
		p, err := stix.ParsePattern(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		m, err := stix.Compile(p)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if len(m.Match(recs)) == 0 {
			t.Errorf("%s matches none of the detections it was made of", s)
		}
		other, _ := stix.ParsePattern(strings.Replace(s, "= '", "= 'x", 1))
		if om, err := stix.Compile(other); err == nil && len(om.Match(recs)) > 0 {
			t.Errorf("%s matches", other.Text)
		}
	}
	if n < 10 {
		t.Errorf("%d STIX-pattern indicators, want at least 10", n)
	}
}

func TestMatchObservationOperators(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2022, 2, 14, 23, min, 0, 0, time.UTC) }
	recs := []stix.Record{
		{Time: at(0), Fields: []result.Field{{Name: "Image", Value: `C:\Windows\Temp\a.exe`}, {Name: "Hashes", Value: "MD5=79054025255FB1A26E4BC422AEF54EB4,SHA256=AA"},
			{Name: "CommandLine", Value: `"C:\Windows\Temp\a.exe" a -p x out.rar`}}},
		{Time: at(2), Fields: []result.Field{{Name: "TargetObject", Value: `HKLM\foo\bar`}, {Name: "Details", Value: "x"}}},
		{Time: at(10), Fields: []result.Field{{Name: "DestinationIp", Value: "198.51.100.7"}, {Name: "SourceIp", Value: "10.0.0.5"}, {Name: "DestinationPort", Value: "443"}}},
		{Time: at(11), Fields: []result.Field{{Name: "DestinationIp", Value: "198.51.100.7"}, {Name: "QueryName", Value: "cdn.evil.example"}}},
		// A process creation of the Security log (4688).
		{Time: at(20), Fields: []result.Field{{Name: "NewProcessName", Value: `C:\Users\Public\c.exe`}, {Name: "ParentProcessName", Value: `C:\Windows\System32\cmd.exe`}}},
	}
	for _, tc := range []struct {
		pattern string
		want    int // matches
	}{
		{`[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']`, 1},
		{`([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) WITHIN 300 SECONDS`, 1},
		{`([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) WITHIN 60 SECONDS`, 0},
		{`[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar'] FOLLOWEDBY [file:name = 'a.exe']`, 0},
		{`[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo' AND windows-registry-key:values[*].name = 'bar']`, 1},
		{`[ipv4-addr:value ISSUBSET '198.51.100.0/24']`, 2},
		{`[ipv4-addr:value = '198.51.100.7/32'] REPEATS 2 TIMES`, 1},
		{`[ipv4-addr:value = '198.51.100.7'] REPEATS 3 TIMES`, 0},
		{`[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]`, 1},
		{`[network-traffic:dst_port > 400 AND network-traffic:dst_port < 500]`, 1},
		{`[file:name LIKE '_.exe' AND file:parent_directory_ref.path MATCHES '(?i)\\\\temp$']`, 1},
		{`[file:name NOT LIKE '%.exe']`, 0},
		{`[file:name IN ('b.exe', 'a.exe')] AND [ipv4-addr:value = '10.0.0.5']`, 1},
		{`[file:name = 'a.exe'] START t'2022-02-14T23:00:00Z' STOP t'2022-02-14T23:00:00.001Z'`, 1},
		{`[file:name = 'a.exe'] START t'2022-02-14T23:01:00Z' STOP t'2022-02-15T00:00:00Z'`, 0},
		{`[EXISTS windows-registry-key:values[*].data]`, 1},
		{`[EXISTS windows-registry-key:values]`, 1},
		{`[EXISTS file:hashes]`, 1},
		{`[NOT EXISTS windows-registry-key:values]`, 1},
		{`[process:name = 'a.exe']`, 1},
		// Command lines: MATCHES searches (section 9.6.1), LIKE is whole.
		{`[process:command_line MATCHES 'a\\.exe" a -p']`, 1},
		{`[process:command_line LIKE '%-p x%' AND process:image_ref.name = 'a.exe']`, 1},
		{`[process:command_line LIKE '-p x%']`, 0},
		{`[file:name = 'nope.exe' OR file:name = 'a.exe']`, 1},
		{`[domain-name:value = 'cdn.evil.example'] FOLLOWEDBY [process:image_ref.name = 'c.exe']`, 1},
		{`[process:image_ref.name = 'c.exe'] FOLLOWEDBY [domain-name:value = 'cdn.evil.example']`, 0},
		{`[process:image_ref.name = 'c.exe' AND process:parent_ref.image_ref.name = 'cmd.exe' AND process:name = 'c.exe']`, 1},
	} {
		p, err := stix.ParsePattern(tc.pattern)
		if err != nil {
			t.Errorf("%s: %v", tc.pattern, err)
			continue
		}
		m, err := stix.Compile(p)
		if err != nil {
			t.Errorf("%s: %v", tc.pattern, err)
			continue
		}
		if got := len(m.Match(recs)); got != tc.want {
			t.Errorf("%s: got %d matches, want %d", tc.pattern, got, tc.want)
		}
	}
	p, _ := stix.ParsePattern(`[file:name = 'a' AND ipv4-addr:value = '1.2.3.4']`)
	if _, err := stix.Compile(p); err == nil || !strings.Contains(err.Error(), "one type") {
		t.Errorf("AND across object types: %v, want an error (section 9.5)", err)
	}
}

// TestValidationRejects breaks a valid export one way at a time: the
// schemas or Check (for what the schemas cannot say) must reject each.
func TestValidationRejects(t *testing.T) {
	at := time.Date(2022, 2, 14, 23, 10, 2, 0, time.UTC)
	op := &result.Operation{ID: "op-1", Severity: "high", Hosts: []string{"FS01"}, First: at, Last: at, Techniques: []string{"T1003"},
		Narrative: []string{"FS01: rar.exe ran"}}
	dets := []result.Detection{{Time: at, Computer: "FS01.corp.local", Rule: &result.Rule{ID: "r1", Title: "Rar", Level: "high", Tactics: []string{"collection"}, Techniques: []string{"T1003"}},
		Fields: []result.Field{{Name: "Image", Value: `C:\ProgramData\rar.exe`}, {Name: "Hashes", Value: "SHA256=" + strings.Repeat("AB", 32)}, {Name: "DestinationIp", Value: "198.51.100.23"}}}}
	ops := []stix.Operation{{Op: op, Detections: dets}}
	data, _ := exportJSON(t, ops, stix.Options{RuleYAML: func(string) []byte { return []byte("title: Rar\nid: r1\n") }})
	if p := problems(t, data); len(p) > 0 {
		t.Fatalf("the export to break is not valid: %v", p)
	}
	for _, tc := range []struct {
		name, want string
		edit       func(objs []map[string]any)
	}{
		{"created to the second", "check:", func(objs []map[string]any) { first(objs, "campaign")["created"] = "2022-02-14T23:10:02Z" }},
		{"created in another zone", "", func(objs []map[string]any) { first(objs, "campaign")["modified"] = "2022-02-14T23:10:02.000+01:00" }},
		{"modified before created", "check:", func(objs []map[string]any) { first(objs, "campaign")["modified"] = "2000-01-01T00:00:00.000Z" }},
		{"creator not an identity", "check:", func(objs []map[string]any) {
			first(objs, "report")["created_by_ref"] = first(objs, "indicator")["id"]
		}},
		{"dangling reference", "check:", func(objs []map[string]any) {
			r := first(objs, "report")
			r["object_refs"] = append(r["object_refs"].([]any), "indicator--6b7e2b8c-4b5f-4b8e-9f3e-2f1f3c5d7a9b")
		}},
		{"report without object_refs", "", func(objs []map[string]any) { delete(first(objs, "report"), "object_refs") }},
		{"identity without name", "schema:", func(objs []map[string]any) { delete(first(objs, "identity"), "name") }},
		{"bad pattern", "check:", func(objs []map[string]any) {
			for _, o := range objs {
				if o["type"] == "indicator" && o["pattern_type"] == "stix" {
					o["pattern"] = "[file:name = ]"
					return
				}
			}
		}},
		{"confidence of 150", "", func(objs []map[string]any) { first(objs, "relationship")["confidence"] = 150 }},
		{"two objects with one id", "check:", func(objs []map[string]any) {
			first(objs, "campaign")["id"] = first(objs, "report")["id"]
		}},
	} {
		var b struct {
			Type    string           `json:"type"`
			ID      string           `json:"id"`
			Objects []map[string]any `json:"objects"`
		}
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatal(err)
		}
		tc.edit(b.Objects)
		broken, _ := json.Marshal(b)
		p := problems(t, broken)
		if len(p) == 0 {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if !slices.ContainsFunc(p, func(s string) bool { return strings.HasPrefix(s, tc.want) }) {
			t.Errorf("%s: got %v, want a %q problem", tc.name, p, tc.want)
		}
	}
}

func first(objs []map[string]any, typ string) map[string]any {
	for _, o := range objs {
		if o["type"] == typ {
			return o
		}
	}
	panic("no " + typ)
}

// TestMatchBounded: a pattern built to make a retro-hunt combine records
// without end stops at MaxSteps.
func TestMatchBounded(t *testing.T) {
	recs := make([]stix.Record, 2000)
	for i := range recs {
		recs[i] = stix.Record{Time: time.Unix(int64(i), 0), Fields: []result.Field{{Name: "DestinationIp", Value: "198.51.100.7"}}}
	}
	p, err := stix.ParsePattern(`(([ipv4-addr:value = '198.51.100.7'] REPEATS 500 TIMES) AND ([ipv4-addr:value = '198.51.100.7'] REPEATS 500 TIMES)) REPEATS 500 TIMES`)
	if err != nil {
		t.Fatal(err)
	}
	m, err := stix.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	// Without the budget this runs for hours (the test's timeout).
	if n := len(m.Match(recs)); n > stix.MaxHits {
		t.Errorf("%d matches, more than MaxHits (%d)", n, stix.MaxHits)
	}
}

// TestSightingCountsEvents: an event two rules detected is one sighting
// of what it shows, not two (sighting count, observed-data
// number_observed); another event of the same value is a second.
func TestSightingCountsEvents(t *testing.T) {
	at := time.Date(2022, 2, 14, 23, 10, 2, 0, time.UTC)
	fields := []result.Field{{Name: "DestinationIp", Value: "198.51.100.23"}}
	det := func(rule string, locator int64) result.Detection {
		return result.Detection{Time: at, Computer: "FS01", Source: "fs01.evtx", Locator: locator, Fields: fields,
			Rule: &result.Rule{ID: rule, Title: rule, Level: "high"}}
	}
	op := &result.Operation{ID: "op-1", Severity: "high", Hosts: []string{"FS01"}, First: at, Last: at}
	// A public IPv6 address is an indicator as an IPv4 one is.
	v6 := det("r3", 9)
	v6.Fields = []result.Field{{Name: "DestinationIp", Value: "2001:db8::7"}, {Name: "SourceIp", Value: "fe80::1"}}
	_, b6 := exportJSON(t, []stix.Operation{{Op: op, Detections: []result.Detection{v6}}}, stix.Options{})
	var pats []string
	for _, o := range byType(b6, "indicator") {
		pats = append(pats, o["pattern"].(string))
	}
	if !slices.Contains(pats, `[ipv6-addr:value = '2001:db8::7']`) || len(byType(b6, "ipv6-addr")) != 1 {
		t.Errorf("IPv6: indicators %v, ipv6-addr objects %v: want the public address only", pats, byType(b6, "ipv6-addr"))
	}
	for _, tc := range []struct {
		dets []result.Detection
		want float64
	}{
		{[]result.Detection{det("r1", 7), det("r2", 7)}, 1},
		{[]result.Detection{det("r1", 7), det("r2", 7), det("r1", 8)}, 2},
	} {
		_, b := exportJSON(t, []stix.Operation{{Op: op, Detections: tc.dets}}, stix.Options{})
		var ind string
		for _, o := range byType(b, "indicator") {
			if o["pattern"] == `[ipv4-addr:value = '198.51.100.23']` {
				ind = o.ID()
			}
		}
		for _, s := range byType(b, "sighting") {
			if s["sighting_of_ref"] == ind && float64(s["count"].(int)) != tc.want {
				t.Errorf("%d detections: sighting count %v, want %v", len(tc.dets), s["count"], tc.want)
			}
		}
		for _, od := range byType(b, "observed-data") {
			if float64(od["number_observed"].(int)) != tc.want {
				t.Errorf("%d detections: number_observed %v, want %v", len(tc.dets), od["number_observed"], tc.want)
			}
		}
		if ind == "" {
			t.Fatalf("no indicator of the address: %v", byType(b, "indicator"))
		}
	}
}

// TestExportEachKind builds an operation whose detections show every kind
// of atomic indicator the issue names (a hash of an image in an unusual
// folder, a file dropped there, a public address, a domain outside the
// organisation's, a named pipe, a service, a scheduled task) and checks
// what the bundle says of each, of the Sigma rule that fired, of the
// technique and of the attribution, under every TLP 2.0 level; ids are
// version 5 UUIDs (but the standard TLP markings) and a second export is
// the same bundle.
func TestExportEachKind(t *testing.T) {
	at := time.Date(2022, 2, 14, 23, 10, 2, 0, time.UTC)
	rule := &result.Rule{ID: "r-1", Title: "Staging", Level: "high", Tactics: []string{"collection"}, Techniques: []string{"T1560.001"}}
	det := func(loc int64, fields ...string) result.Detection {
		d := result.Detection{Time: at.Add(time.Duration(loc) * time.Second), Computer: "FS01.corp.example", Source: "fs01.evtx", Locator: loc, Rule: rule}
		for i := 0; i+1 < len(fields); i += 2 {
			d.Fields = append(d.Fields, result.Field{Name: fields[i], Value: fields[i+1]})
		}
		return d
	}
	sha := strings.Repeat("ab", 32)
	dets := []result.Detection{
		det(1, "Image", `C:\ProgramData\DRM\rar.exe`, "Hashes", "MD5="+strings.Repeat("CD", 16)+",SHA256="+strings.ToUpper(sha)),
		det(2, "TargetFilename", `C:\Users\Public\out.rar`),
		det(3, "Image", `C:\Windows\System32\svchost.exe`, "DestinationIp", "198.51.100.23", "SourceIp", "10.0.0.5"),
		det(4, "QueryName", "cdn.evil.example.net"),
		det(5, "QueryName", "dc01.corp.example"),
		det(6, "PipeName", `\msagent_12`),
		det(7, "ServiceName", "WinRing0"),
		det(8, "TaskName", `\Microsoft\Windows\test`),
	}
	op := &result.Operation{ID: "op-1", Severity: "high", Hosts: []string{"FS01"}, First: at, Last: at.Add(8 * time.Second),
		Techniques: []string{"T1560.001"}, Narrative: []string{"FS01: rar.exe staged out.rar"},
		Attribution: &result.Attribution{UnknownActor: 0.4, Candidates: []result.Candidate{{Rank: 1, ID: "G0096", Name: "APT41", Score: 2.5, Confidence: 0.456}}}}
	yaml := "title: Staging\nid: r-1\nlogsource:\n  category: process_creation\n"
	opts := stix.Options{Identity: "Example CERT", RuleYAML: func(id string) []byte {
		if id == "r-1" {
			return []byte(yaml)
		}
		return nil
	}}
	ops := []stix.Operation{{Op: op, Detections: dets}}
	for _, tlp := range stix.TLPLevels {
		opts.TLP = tlp
		data, b := exportJSON(t, ops, opts)
		if p := problems(t, data); len(p) > 0 {
			t.Errorf("TLP %s: %v", tlp, p)
		}
		marking := byType(b, "marking-definition")
		if len(marking) != 1 || marking[0]["name"] != "TLP:"+strings.ToUpper(tlp) {
			t.Fatalf("TLP %s: markings %v", tlp, marking)
		}
		for _, o := range b.Objects {
			if o.Type() == "marking-definition" || strings.HasSuffix(o.Type(), "-addr") || o.Type() == "file" || o.Type() == "directory" ||
				o.Type() == "domain-name" || o.Type() == "windows-registry-key" {
				continue
			}
			if refs, _ := o["object_marking_refs"].([]string); len(refs) != 1 || refs[0] != marking[0].ID() {
				t.Errorf("TLP %s: %s marked %v", tlp, o.ID(), o["object_marking_refs"])
			}
		}
	}
	data, b := exportJSON(t, ops, opts)
	if again, _ := exportJSON(t, ops, opts); !bytes.Equal(data, again) {
		t.Error("a second export differs")
	}
	uuid5 := regexp.MustCompile(`--[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, o := range b.Objects {
		if o.Type() != "marking-definition" && !uuid5.MatchString(o.ID()) {
			t.Errorf("%s: not a UUIDv5 id", o.ID())
		}
	}
	// Cyber-observables' ids are section 2.9's: UUIDv5 in its namespace
	// over the ID contributing properties in RFC 8785 form; a file with
	// hashes takes one, MD5 before SHA-256 (section 6.7).
	for _, tc := range []struct{ typ, name string }{
		{"file", `{"hashes":{"MD5":"` + strings.Repeat("cd", 16) + `"},"name":"rar.exe"}`},
		{"ipv4-addr", `{"value":"198.51.100.23"}`},
		{"domain-name", `{"value":"cdn.evil.example.net"}`},
		{"directory", `{"path":"C:\\Users\\Public"}`},
	} {
		id := tc.typ + "--" + specUUID5("00abedb4-aa42-466c-9c01-fed23315a9b7", tc.name)
		if !slices.ContainsFunc(b.Objects, func(o stix.Object) bool { return o.ID() == id }) {
			t.Errorf("no %s with the id of %s (%s)", tc.typ, tc.name, id)
		}
	}
	ids := byType(b, "identity")
	if !slices.ContainsFunc(ids, func(o stix.Object) bool { return o["name"] == "Example CERT" && o["identity_class"] == "organization" }) {
		t.Errorf("no producer identity Example CERT: %v", ids)
	}
	indicators := map[string]stix.Object{}
	for _, o := range byType(b, "indicator") {
		indicators[o["pattern"].(string)] = o
	}
	for _, want := range []string{
		`[file:hashes.'SHA-256' = '` + sha + `']`,
		`[file:name = 'rar.exe' AND file:parent_directory_ref.path = 'C:\\ProgramData\\DRM']`,
		`[file:name = 'out.rar' AND file:parent_directory_ref.path = 'C:\\Users\\Public']`,
		`[ipv4-addr:value = '198.51.100.23']`,
		`[domain-name:value = 'cdn.evil.example.net']`,
		`[file:name = 'msagent_12' AND file:parent_directory_ref.path = '\\\\.\\pipe']`,
		`[process:extensions.'windows-service-ext'.service_name = 'WinRing0']`,
		`[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\TaskCache\\Tree\\Microsoft\\Windows\\test']`,
		yaml,
	} {
		ind := indicators[want]
		if ind == nil {
			t.Errorf("no indicator %s; have %v", want, slices.Sorted(maps.Keys(indicators)))
			continue
		}
		if ind["valid_from"] == nil || fmt.Sprint(ind["kill_chain_phases"]) != "[map[kill_chain_name:mitre-attack phase_name:collection]]" {
			t.Errorf("%s: valid_from %v, kill_chain_phases %v", want, ind["valid_from"], ind["kill_chain_phases"])
		}
		if p, _ := stix.ParsePattern(want); p != nil {
			if _, err := stix.Compile(p); err != nil {
				t.Errorf("%s does not compile: %v", want, err)
			}
		}
	}
	for _, not := range []string{`svchost.exe`, `dc01.corp.example`, `10.0.0.5`} {
		for p := range indicators {
			if strings.Contains(p, not) {
				t.Errorf("indicator of %s (an ordinary folder, the organisation's own): %s", not, p)
			}
		}
	}
	if ind := indicators[yaml]; ind != nil && (ind["pattern_type"] != "sigma" || ind["pattern_version"] != nil) {
		t.Errorf("Sigma indicator: %v", ind)
	}
	aps := byType(b, "attack-pattern")
	if len(aps) != 1 || fmt.Sprint(aps[0]["external_references"]) != "[map[external_id:T1560.001 source_name:mitre-attack url:https://attack.mitre.org/techniques/T1560/001/]]" {
		t.Errorf("attack patterns %v", aps)
	}
	var attributed []stix.Object
	for _, r := range byType(b, "relationship") {
		if r["relationship_type"] == "attributed-to" {
			attributed = append(attributed, r)
		}
	}
	if len(attributed) != 1 || attributed[0]["confidence"] != 46 || !strings.Contains(attributed[0]["description"].(string), "not an identification") ||
		!strings.HasPrefix(attributed[0]["target_ref"].(string), "intrusion-set--") {
		t.Errorf("attributed-to %v", attributed)
	}
	// Every indicator is sighted where it was seen, with what was observed.
	sighted := map[string]bool{}
	for _, s := range byType(b, "sighting") {
		sighted[s["sighting_of_ref"].(string)] = s["where_sighted_refs"] != nil
	}
	for p, ind := range indicators {
		if !sighted[ind.ID()] {
			t.Errorf("%s: no sighting with where it was seen", p)
		}
	}
	if n := len(byType(b, "report")); n != 1 {
		t.Errorf("%d reports, want 1", n)
	}
}

// specUUID5 is RFC 4122's name-based UUID (SHA-1) of name in namespace ns,
// written here apart from the package's.
func specUUID5(ns, name string) string {
	nsb, err := hex.DecodeString(strings.ReplaceAll(ns, "-", ""))
	if err != nil {
		panic(err)
	}
	sum := sha1.Sum(append(nsb, name...))
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
