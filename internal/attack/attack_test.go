package attack

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spoor-hunt/spoor/internal/shared"
)

// bundlePath is the ATT&CK bundle the embedded data is generated from.
var bundlePath = []string{"datasets", "attack", "enterprise-attack-18.1-without-campaigns.json"}

var (
	bundleOnce sync.Once
	bundleKB   *KB
	bundleErr  error
)

// fromBundle returns the knowledge base generated from the shared bundle,
// converted once per test binary.
func fromBundle(t testing.TB) *KB {
	t.Helper()
	path := shared.Path(t, bundlePath...)
	bundleOnce.Do(func() {
		f, err := os.Open(path)
		if err != nil {
			bundleErr = err
			return
		}
		defer f.Close()
		bundleKB, bundleErr = LoadBundle(f)
	})
	if bundleErr != nil {
		t.Fatal(bundleErr)
	}
	return bundleKB
}

func embeddedKB(t testing.TB) *KB {
	t.Helper()
	kb, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return kb
}

// TestBundleCounts compares the generated knowledge base with counts made
// by a plain pass over the bundle.
func TestBundleCounts(t *testing.T) {
	kb := fromBundle(t)
	b, err := os.ReadFile(shared.Path(t, bundlePath...))
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	type count struct{ active, sub, deprecated, revoked int }
	counts := map[string]*count{}
	for _, o := range bundle.Objects {
		typ := o["type"].(string)
		if typ == "malware" || typ == "tool" {
			typ = "software"
		}
		c := counts[typ]
		if c == nil {
			c = new(count)
			counts[typ] = c
		}
		switch {
		case o["revoked"] == true:
			c.revoked++
		case o["x_mitre_deprecated"] == true:
			c.deprecated++
		default:
			c.active++
			if o["x_mitre_is_subtechnique"] == true {
				c.sub++
			}
		}
	}
	var sub, techDep, groupDep, softDep int
	for _, t := range kb.Techniques {
		if t.Deprecated {
			techDep++
		} else if t.IsSub() {
			sub++
		}
	}
	for _, g := range kb.Groups {
		if g.Deprecated {
			groupDep++
		}
	}
	for _, s := range kb.Software {
		if s.Deprecated {
			softDep++
		}
	}
	tests := []struct {
		what      string
		got, want int
	}{
		{"tactics", len(kb.Tactics), counts["x-mitre-tactic"].active},
		{"active techniques", len(kb.Techniques) - techDep, counts["attack-pattern"].active},
		{"active sub-techniques", sub, counts["attack-pattern"].sub},
		{"deprecated techniques", techDep, counts["attack-pattern"].deprecated},
		{"active groups", len(kb.Groups) - groupDep, counts["intrusion-set"].active},
		{"deprecated groups", groupDep, counts["intrusion-set"].deprecated},
		{"active software", len(kb.Software) - softDep, counts["software"].active},
		{"deprecated software", softDep, counts["software"].deprecated},
		{"revoked", len(kb.Revoked), counts["attack-pattern"].revoked + counts["intrusion-set"].revoked + counts["software"].revoked},
		{"campaigns", len(kb.Campaigns), 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.what, tt.got, tt.want)
		}
	}
	// The ATT&CK v18.1 figures, as a guard against a miscount above.
	if len(kb.Tactics) != 14 || counts["attack-pattern"].active != 691 || counts["intrusion-set"].active != 172 {
		t.Errorf("got %d tactics, %d techniques, %d groups, want 14, 691, 172 for v18.1",
			len(kb.Tactics), counts["attack-pattern"].active, counts["intrusion-set"].active)
	}
}

func TestTacticOrder(t *testing.T) {
	kb := fromBundle(t)
	want := []string{"reconnaissance", "resource-development", "initial-access", "execution", "persistence",
		"privilege-escalation", "defense-evasion", "credential-access", "discovery", "lateral-movement",
		"collection", "command-and-control", "exfiltration", "impact"}
	var got []string
	for _, t := range kb.Tactics {
		got = append(got, t.ShortName)
	}
	if !slices.Equal(got, want) {
		t.Errorf("tactics: got %v, want %v", got, want)
	}
	if ta, err := kb.Tactic("ta0006"); err != nil || ta.ShortName != "credential-access" {
		t.Errorf("Tactic(ta0006): got %v, %v, want credential-access", ta, err)
	}
}

// TestEmbeddedIsGenerated checks that the committed data file is what the
// generator makes of the shared bundle (run go generate when it fails).
func TestEmbeddedIsGenerated(t *testing.T) {
	// The knowledge bases and their texts, each as JSON: the embedded one
	// must be what the generator makes of the bundle.
	asJSON := func(kb *KB) []byte {
		t.Helper()
		txt, err := kb.texts()
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(kb)
		if err == nil {
			var tb []byte
			tb, err = json.Marshal(txt)
			b = append(b, tb...)
		}
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	want, got := asJSON(fromBundle(t)), asJSON(embeddedKB(t))
	if !bytes.Equal(got, want) {
		t.Errorf("embedded data: got %d bytes of JSON, want the %d bytes generated from the shared bundle (run go generate ./internal/attack)", len(got), len(want))
	}
	var buf bytes.Buffer
	if err := fromBundle(t).Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), embedded) {
		t.Logf("embedded data: the bytes differ from a fresh encoding (%d, want %d); gob's type numbering may differ between processes", len(embedded), buf.Len())
	}
	if len(embedded) > 2<<20 {
		t.Errorf("embedded data: got %d bytes, want at most 2 MiB", len(embedded))
	}
	lic, err := os.ReadFile(filepath.Join("data", "LICENSE.txt"))
	if err != nil || !strings.Contains(string(lic), "The MITRE Corporation") {
		t.Errorf("data/LICENSE.txt: got %v, want MITRE's licence beside the data", err)
	}
}

func TestTechnique(t *testing.T) {
	kb := embeddedKB(t)
	tech, res, err := kb.Technique("t1059.003")
	if err != nil {
		t.Fatal(err)
	}
	if tech.Name != "Windows Command Shell" || !tech.IsSub() || tech.Parent() != "T1059" || res.Revoked != nil {
		t.Errorf("T1059.003: got %q sub=%v parent=%q revoked=%v, want Windows Command Shell, a sub-technique of T1059",
			tech.Name, tech.IsSub(), tech.Parent(), res.Revoked)
	}
	if !slices.Equal(tech.Tactics, []string{"execution"}) || !slices.Contains(tech.Platforms, "Windows") {
		t.Errorf("T1059.003: got tactics %v platforms %v, want execution on Windows", tech.Tactics, tech.Platforms)
	}
	if ds := kb.Detections(tech.ID); len(ds) == 0 || !strings.HasPrefix(ds[0].ID, "DET") || len(ds[0].LogSources) == 0 {
		t.Errorf("T1059.003: got detections %v, want a DET strategy with log sources", ds)
	}
	if d := kb.Description("T1059.003"); !strings.Contains(d, "cmd") || strings.Contains(d, "(Citation:") || strings.Contains(d, "](http") {
		t.Errorf("T1059.003 description: got %q, want plain text about cmd", d)
	}
	if subs := kb.SubTechniques("T1059"); !slices.Contains(subs, "T1059.003") {
		t.Errorf("sub-techniques of T1059: got %v, want T1059.003 among them", subs)
	}
}

func TestRevoked(t *testing.T) {
	kb := embeddedKB(t)
	tests := []struct{ id, want string }{
		{"T1073", "T1574.001"},     // DLL Side-Loading → revoked T1574.002 → DLL (a chain)
		{"T1150", "T1647"},         // Plist Modification → T1547.011 (revoked) → Plist File Modification
		{"T1031", "T1543.003"},     // Modify Existing Service → Windows Service
		{"G0057", "G0049"},         // APT34 → OilRig
		{"g0118", "G0016"},         // UNC2452 → APT29
		{"S0209", "S0012"},         // Darkmoon → PoisonIvy
		{"T1003.002", "T1003.002"}, // active: itself
	}
	for _, tt := range tests {
		res, err := kb.Resolve(tt.id)
		if err != nil {
			t.Errorf("Resolve(%s): got %v, want %s", tt.id, err, tt.want)
			continue
		}
		if res.ID != tt.want {
			t.Errorf("Resolve(%s): got %s, want %s", tt.id, res.ID, tt.want)
		}
		if (res.Revoked != nil) != (tt.id != tt.want) {
			t.Errorf("Resolve(%s): revoked note %q, want one only for a revoked ID", tt.id, res.Note())
		}
	}
	for _, r := range kb.Revoked {
		if res, err := kb.Resolve(r.By); err != nil || res.Revoked != nil {
			t.Errorf("revoked %s: replacement %s is not active (%v)", r.ID, r.By, err)
		}
	}
	for _, id := range []string{"T9999", "G9999", "S9999", "X1", ""} {
		if _, err := kb.Resolve(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Resolve(%q): got %v, want ErrNotFound", id, err)
		}
	}
}

func TestFindGroups(t *testing.T) {
	kb := embeddedKB(t)
	tests := []struct {
		query, want, by string
	}{
		{"BARIUM", "G0096", "alias"},
		{"barium", "G0096", "alias"},
		{"Wicked Panda", "G0096", "alias"},
		{"APT41", "G0096", "name"},
		{"g0096", "G0096", "id"},
		{"Winnti", "G0044", "partial name"},
		{"Blackfly", "G0044", "alias"},
		{"winnti group", "G0044", "name"},
		{"APT34", "G0049", "alias"}, // an alias of OilRig, and a revoked group
		{"G0057", "G0049", "revoked id"},
	}
	for _, tt := range tests {
		ms := kb.FindGroups(tt.query)
		if len(ms) != 1 {
			var ids []string
			for _, m := range ms {
				ids = append(ids, m.Group.ID)
			}
			t.Errorf("FindGroups(%q): got %v, want just %s", tt.query, ids, tt.want)
			continue
		}
		if ms[0].Group.ID != tt.want || ms[0].By != tt.by {
			t.Errorf("FindGroups(%q): got %s by %s, want %s by %s", tt.query, ms[0].Group.ID, ms[0].By, tt.want, tt.by)
		}
	}
	if ms := kb.FindGroups("no such group"); len(ms) != 0 {
		t.Errorf("FindGroups(no such group): got %d matches, want none", len(ms))
	}
	// Winnti Group is kept apart from APT41, which mentions it.
	winnti := kb.FindGroups("Winnti")[0].Group
	var rel []string
	for _, r := range kb.RelatedGroups(winnti) {
		rel = append(rel, r.Group.ID+" "+r.Direction)
	}
	if !slices.Contains(rel, "G0096 mentioned by") {
		t.Errorf("related to Winnti Group: got %v, want APT41 (G0096) among those mentioning it", rel)
	}
}

func TestSearch(t *testing.T) {
	kb := embeddedKB(t)
	hits := kb.Search("windows command shell", 5)
	if len(hits) == 0 || hits[0].ID != "T1059.003" || hits[0].Field != "name" {
		t.Errorf("search windows command shell: got %+v, want T1059.003 by name first", hits)
	}
	hits = kb.Search("BARIUM", 5)
	if len(hits) == 0 || hits[0].ID != "G0096" || hits[0].Field != "alias" {
		t.Errorf("search BARIUM: got %+v, want G0096 by alias first", hits)
	}
	hits = kb.Search("lsass minidump", 0)
	if len(hits) == 0 {
		t.Fatalf("search lsass minidump: got no hits, want some descriptions")
	}
	for _, h := range hits {
		if h.Field == "description" && h.Snippet == "" {
			t.Errorf("search lsass minidump: %s has no snippet", h.ID)
		}
	}
}

func TestCacheOverride(t *testing.T) {
	dir := t.TempDir()
	kb, src, err := LoadDefault(dir)
	if err != nil || src != SourceEmbedded {
		t.Fatalf("empty cache: got %q, %v, want the embedded data", src, err)
	}
	// Install a modified copy; it must win.
	mod := *embeddedKB(t)
	mod.Modified = "2099-01-01T00:00:00.000Z"
	mod.Groups = mod.Groups[:3]
	path, err := Install(&mod, dir)
	if err != nil {
		t.Fatal(err)
	}
	kb, src, err = LoadDefault(dir)
	if err != nil || string(src) != path || kb.Modified != mod.Modified || len(kb.Groups) != 3 {
		t.Fatalf("installed: got source %q modified %q %d groups (%v), want %s, 2099, 3 groups", src, kb.Modified, len(kb.Groups), err, path)
	}
	// The file gets the permissions os.Create gives (it had 0600), and no
	// temporary file is left beside it.
	if runtime.GOOS != "windows" {
		ref, err := os.Create(filepath.Join(t.TempDir(), "ref"))
		if err != nil {
			t.Fatal(err)
		}
		ref.Close()
		want, _ := os.Stat(ref.Name())
		if got, err := os.Stat(path); err != nil || got.Mode() != want.Mode() {
			t.Errorf("installed file mode: got %v (%v), want %v as os.Create gives", got.Mode(), err, want.Mode())
		}
	}
	if des, _ := os.ReadDir(dir); len(des) != 1 {
		t.Errorf("cache folder: got %d entries, want only %s", len(des), CacheFile)
	}
	// A damaged install is an error, not a silent fallback.
	if err := os.WriteFile(path, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadDefault(dir); !errors.Is(err, ErrFormat) {
		t.Errorf("damaged install: got %v, want ErrFormat", err)
	}
	t.Setenv("SPOOR_CACHE_DIR", "/override")
	if d, err := CacheDir(); err != nil || d != filepath.FromSlash("/override/attack") {
		t.Errorf("CacheDir with SPOOR_CACHE_DIR: got %q, %v, want /override/attack", d, err)
	}
	t.Setenv("SPOOR_CACHE_DIR", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if d, err := CacheDir(); err != nil || d != filepath.FromSlash("/xdg/spoor/attack") {
		t.Errorf("CacheDir with XDG_CACHE_HOME: got %q, %v, want /xdg/spoor/attack", d, err)
	}
}

func TestLoadBundleErrors(t *testing.T) {
	for _, in := range []string{"", "{", `{"type":"x"}`, `{"type":"bundle","objects":[]}`} {
		if _, err := LoadBundle(strings.NewReader(in)); !errors.Is(err, ErrBundle) {
			t.Errorf("LoadBundle(%q): got %v, want ErrBundle", in, err)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(embedded)))
	for b.Loop() {
		if _, err := Load(); err != nil {
			b.Fatal(err)
		}
	}
}
