package cli

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/server"
	"github.com/spoor-hunt/spoor/internal/stix"
	"github.com/spoor-hunt/spoor/internal/store"
)

// TestConsoleIntelImport: a partner's bundle uploaded through the
// console's API (issue 16, "and in the console") is imported as spoor
// intel import does: the case's evidence is hunted again, every
// indicator of the CuckooBees export is seen, the answer lists them with
// what was hunted, its sightings bundle passes Check, and the case's
// audit log holds the sightings under the analyst's name.
func TestConsoleIntelImport(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	evidence, err := filepath.Abs(filepath.Join("..", "..", "examples", "cuckoobees"))
	if err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(dir, "partner.json")
	if code, _, errOut := run(t, ctx, "hunt", "-q", "--no-sigmahq", "--stix", shared, "--identity", "Victim One", evidence); code != ExitOK {
		t.Fatalf("hunt --stix: exit %d: %s", code, errOut)
	}
	st := filepath.Join(dir, "store")
	if code, _, errOut := run(t, ctx, "hunt", "-q", "--no-sigmahq", "--store", st, "--case", "intrusion", evidence); code != ExitOK {
		t.Fatalf("hunt --store: exit %d: %s", code, errOut)
	}
	s, err := store.Open(ctx, st, store.WithPasswordCost(1, 64, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const pw = "a long enough password"
	if _, err := s.AddUser(ctx, store.DefaultTenant, "ann", store.RoleAnalyst, pw, "test"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(s, server.Options{Intel: intelIntoCase(s, Env{Stdout: os.Stdout, Stderr: os.Stderr})}))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Post(srv.URL+"/api/login", "application/json", strings.NewReader(`{"user":"ann","password":"`+pw+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var me struct{ CSRF string }
	json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if resp.StatusCode != 200 || me.CSRF == "" {
		t.Fatalf("login: %d", resp.StatusCode)
	}

	data, err := os.ReadFile(shared)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "partner.json")
	fw.Write(data)
	mw.WriteField("tlp", "green")
	mw.Close()
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/cases/intrusion/intel", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set(server.CSRFHeader, me.CSRF)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep server.IntelReport
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || resp.StatusCode != 200 {
		t.Fatalf("import: %d %v", resp.StatusCode, err)
	}
	inds, _ := stix.Indicators(data)
	if len(rep.Indicators) != len(inds) || len(inds) < 20 {
		t.Fatalf("the report lists %d indicators, the bundle holds %d", len(rep.Indicators), len(inds))
	}
	if !strings.Contains(rep.Hunted, evidence) || rep.Source != "partner.json" {
		t.Errorf("report: source %q, hunted %q", rep.Source, rep.Hunted)
	}
	for _, ind := range rep.Indicators {
		if ind.Seen == 0 || ind.Skipped != "" || ind.First.IsZero() || len(ind.Hosts) == 0 {
			t.Errorf("%s indicator %s: seen %d, skipped %q, first %v, hosts %v", ind.PatternType, ind.ID, ind.Seen, ind.Skipped, ind.First, ind.Hosts)
		}
	}
	for _, err := range stix.Check(rep.Sightings) {
		t.Errorf("sightings bundle: %v", err)
	}
	if !bytes.Contains(rep.Sightings, []byte("TLP:GREEN")) {
		t.Error("sightings bundle not marked TLP:GREEN")
	}
	audit, err := s.Audit(ctx, store.DefaultTenant, "intrusion", 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range audit {
		if a.Action == "intel.sighting" && a.Actor == "ann" {
			n++
		}
	}
	if n != len(inds) {
		t.Errorf("%d intel.sighting entries by ann in the audit log, want %d", n, len(inds))
	}
}
