package stix_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/stix"
)

// refsOf returns the objects an object's object_refs name.
func refsOf(b *stix.Bundle, o stix.Object) []stix.Object {
	byID := map[string]stix.Object{}
	for _, x := range b.Objects {
		byID[x.ID()] = x
	}
	var out []stix.Object
	for _, id := range o["object_refs"].([]string) {
		out = append(out, byID[id])
	}
	return out
}

// exposureObserved returns the files (directory\name → size, -1 when
// unknown), URLs and domains of the exposure observed-data labelled kind.
func exposureObserved(b *stix.Bundle, kind string) (files map[string]int64, urls, domains []string, confidence []int) {
	files = map[string]int64{}
	dirs := map[string]string{}
	for _, d := range byType(b, "directory") {
		dirs[d.ID()] = d["path"].(string)
	}
	for _, od := range byType(b, "observed-data") {
		labels, _ := od["labels"].([]string)
		if !slices.Contains(labels, "exposure") || !slices.Contains(labels, kind) {
			continue
		}
		if c, ok := od["confidence"].(int); ok {
			confidence = append(confidence, c)
		}
		for _, o := range refsOf(b, od) {
			switch o.Type() {
			case "file":
				size := int64(-1)
				if s, ok := o["size"].(int64); ok {
					size = s
				}
				files[dirs[o["parent_directory_ref"].(string)]+`\`+o["name"].(string)] = size
			case "url":
				urls = append(urls, o["value"].(string))
			case "domain-name":
				domains = append(domains, o["value"].(string))
			}
		}
	}
	return files, urls, domains, confidence
}

func phasesOf(o stix.Object) []string {
	var out []string
	ps, _ := o["kill_chain_phases"].([]map[string]string)
	for _, p := range ps {
		out = append(out, p["phase_name"])
	}
	return out
}

// TestExportExposureCuckooBees: the CuckooBees export shares what was
// taken: the password-protected RAR's three volumes staged in the recycle
// bin, the two whole volumes copied to ERP01 with their size, the upload
// URL and OneDrive's storage host; the archive and the host as indicators
// in the collection and exfiltration phases; the report's description
// with the summary, strengths and size bounds. Redacted, no host of the exposure is left.
func TestExportExposureCuckooBees(t *testing.T) {
	res := huntOf(t, filepath.Join("..", "..", "examples", "cuckoobees"))
	if len(res.Operations) != 1 || res.Operations[0].Exposure == nil {
		t.Fatalf("%d operations, want one with an exposure", len(res.Operations))
	}
	data, b := exportJSON(t, operations(res), stix.Options{})
	validate(t, data)

	staged, _, _, conf := exposureObserved(b, "staged")
	for _, want := range []string{`C:\$Recycle.Bin\d1.part1.rar`, `C:\$Recycle.Bin\d1.part2.rar`, `C:\$Recycle.Bin\d1.part3.rar`, `C:\ProgramData\b7.cab`} {
		if _, ok := staged[want]; !ok {
			t.Errorf("staged observed-data lacks %s; has %v", want, staged)
		}
	}
	if !slices.Contains(conf, 85) {
		t.Errorf("staged confidences %v: the strong rar item should be 85", conf)
	}
	collected, _, _, _ := exposureObserved(b, "collected")
	for p, want := range map[string]int64{`C:\Windows\Temp\d1.part1.rar`: 200 << 20, `C:\Windows\Temp\d1.part2.rar`: 200 << 20, `C:\Windows\Temp\d1.part3.rar`: -1} {
		if got, ok := collected[p]; !ok || got != want {
			t.Errorf("collected %s: size %d (present %v), want %d", p, got, ok, want)
		}
	}
	sent, urls, domains, _ := exposureObserved(b, "exfiltrated")
	if _, ok := sent[`C:\Windows\Temp\d1.part2.rar`]; !ok {
		t.Errorf("exfiltrated observed-data lacks the volumes sent: %v", sent)
	}
	if !slices.Contains(urls, "https://bn1304.storage.live.com/users/0x5e0f1a2b/LiveFolders/q/") || !slices.Contains(domains, "bn1304.storage.live.com") {
		t.Errorf("exfiltrated observed-data: urls %v, domains %v", urls, domains)
	}

	phases := map[string][]string{}
	for _, ind := range byType(b, "indicator") {
		phases[ind["pattern"].(string)] = phasesOf(ind)
	}
	for pattern, want := range map[string]string{
		`[domain-name:value = 'bn1304.storage.live.com']`:                                      "exfiltration",
		`[file:name = 'd1.part1.rar' AND file:parent_directory_ref.path = 'C:\\$Recycle.Bin']`: "collection",
	} {
		if got, ok := phases[pattern]; !ok || !slices.Contains(got, want) {
			t.Errorf("indicator %s: phases %v (present %v), want %s", pattern, got, ok, want)
		}
	}

	rep := byType(b, "report")[0]
	content := rep["description"].(string)
	for _, want := range []string{"Exposure. ", res.Operations[0].Exposure.Summary, "bn1304.storage.live.com", "Bytes sent: at least 419430401, at most 629145600",
		"strong: the command names its sources and archive", `C:\$Recycle.Bin\d1.rar`, "password; file names encrypted"} {
		if !strings.Contains(content, want) {
			t.Errorf("report description lacks %q:\n%s", want, content)
		}
	}
	if n := len(byType(b, "note")); n != 0 {
		t.Errorf("%d notes: the OASIS bundle schema admits none", n)
	}

	red, rb := exportJSON(t, operations(res), stix.Options{Redact: stix.Redact{Hosts: true, Users: true, IPs: true}})
	validate(t, red)
	leaks := map[string]bool{}
	for _, it := range res.Operations[0].Exposure.Items {
		leaks[strings.ToLower(it.Host)] = true
	}
	leaks["10.10.20.5"], leaks["10.10.20.15"] = true, true // the UNC hosts of the copies
	low := strings.ToLower(string(red))
	for leak := range leaks {
		if i := strings.Index(low, leak); i >= 0 {
			t.Errorf("redacted export shows %q: …%s…", leak, red[max(0, i-80):min(len(red), i+40)])
		}
	}
	_, _, domains, _ = exposureObserved(rb, "exfiltrated")
	if !slices.Contains(domains, "bn1304.storage.live.com") {
		t.Error("redaction removed the exfiltration destination")
	}
	if !strings.Contains(byType(rb, "report")[0]["description"].(string), "on "+stix.Pseudonym("host", "FS01")+" by rar") {
		t.Error("redacted report lacks FS01's pseudonym in its exposure")
	}
}

// TestExportExposureRedactsUNCHosts: a file server and an internal
// address that only the exposure names (no detection's computer) are
// replaced too, and an internal destination becomes no observable.
func TestExportExposureRedactsUNCHosts(t *testing.T) {
	at := time.Date(2022, 3, 1, 2, 0, 0, 0, time.UTC)
	op := &result.Operation{ID: "op-1", Severity: "high", Hosts: []string{"WS07"}, First: at, Last: at,
		Narrative: []string{"WS07: robocopy ran"},
		Exposure: &result.Exposure{Summary: `1 collected from \\FS03\Engineering; sent to 10.9.8.7`, Destinations: []string{"10.9.8.7"},
			CrownJewels: []string{`\\FS03\Engineering`},
			Items: []result.ExposureItem{
				{Kind: "collected", Tool: "robocopy", Time: at, Host: "WS07", Account: `CORP\jdoe`,
					CommandLine: `robocopy \\FS03\Engineering\CAD C:\Users\jdoe\s /E`, Sources: []string{`\\FS03\Engineering\CAD`},
					Destination: `C:\Users\jdoe\s`, Strength: "medium", Why: "copies a share's tree"},
				{Kind: "exfiltrated", Tool: "curl", Time: at.Add(time.Minute), Host: "WS07", Sources: []string{`C:\Users\jdoe\s\a.dwg`},
					Destination: "10.9.8.7:8443", SizeMin: 1000, SizeMax: 1000, Strength: "weak", Why: "an upload"},
				{Kind: "exfiltrated", Tool: "Invoke-WebRequest", Time: at.Add(2 * time.Minute), Host: "WS07", Sources: []string{`C:\Users\jdoe\s\`},
					Destination: "http://backup01/in", Strength: "weak", Why: "an upload"},
			}}}
	dets := []result.Detection{{Time: at, Computer: "WS07.corp.local", Rule: &result.Rule{ID: "r1", Title: "Robocopy", Level: "low"},
		Fields: []result.Field{{Name: "CommandLine", Value: `robocopy \\FS03\Engineering\CAD C:\Users\jdoe\s /E`}, {Name: "User", Value: `CORP\jdoe`}}}}
	data, b := exportJSON(t, []stix.Operation{{Op: op, Detections: dets}}, stix.Options{Redact: stix.Redact{Hosts: true, Users: true, IPs: true}})
	validate(t, data)
	low := strings.ToLower(string(data))
	for _, leak := range []string{"fs03", "ws07", "jdoe", "10.9.8.7", "backup01"} {
		if i := strings.Index(low, leak); i >= 0 {
			t.Errorf("redacted export shows %q: …%s…", leak, data[max(0, i-80):min(len(data), i+40)])
		}
	}
	if n := len(byType(b, "ipv4-addr")); n != 0 {
		t.Errorf("%d ipv4-addr objects: an internal destination is no intelligence", n)
	}
	sent, _, _, conf := exposureObserved(b, "exfiltrated")
	if len(sent) != 1 || !slices.Equal(conf, []int{15, 15}) {
		t.Errorf("exfiltrated: files %v, confidence %v; want the one file sent, 15 (weak)", sent, conf)
	}
	for _, size := range sent {
		if size != 1000 {
			t.Errorf("the file sent has size %d, want 1000", size)
		}
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
}
