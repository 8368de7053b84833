package server

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestExports: the timeline holds every detection once, in time order,
// across pages, with one CSV header; JSON lines agree; the report holds
// the case's operations.
func TestExports(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ada := f.login("ada")
	var list struct{ Detections []detectionJSON }
	decode(t, f.do(ada, "GET", "/api/cases/intrusion/detections?limit=10000", nil), &list)
	exportPage = 1 // a page a detection
	if len(list.Detections) <= 2*exportPage {
		t.Fatalf("%d detections: too few for pages", len(list.Detections))
	}
	t.Cleanup(func() { exportPage = 10000 })
	w := f.do(ada, "GET", "/api/cases/intrusion/export/timeline.csv", nil)
	rows, err := csv.NewReader(strings.NewReader(w.Body.String())).ReadAll()
	if err != nil || w.Code != 200 {
		t.Fatalf("%d %v", w.Code, err)
	}
	if len(rows) != len(list.Detections)+1 || rows[0][0] != "timestamp" {
		t.Fatalf("%d rows (header %q), want %d detections and one header", len(rows), rows[0], len(list.Detections))
	}
	for i := 2; i < len(rows); i++ {
		if rows[i][1] < rows[i-1][1] {
			t.Errorf("row %d at %s before row %d at %s", i, rows[i][1], i-1, rows[i-1][1])
		}
	}
	lines := strings.Split(strings.TrimSpace(f.do(ada, "GET", "/api/cases/intrusion/export/timeline.jsonl", nil).Body.String()), "\n")
	if len(lines) != len(list.Detections) {
		t.Errorf("%d JSON lines, want %d", len(lines), len(list.Detections))
	}
	for i, l := range lines {
		var row struct{ Datetime string }
		if err := json.Unmarshal([]byte(l), &row); err != nil || row.Datetime != rows[i+1][1] {
			t.Errorf("line %d: %v %q, want the CSV's %q", i, err, row.Datetime, rows[i+1][1])
		}
	}
	var ops struct{ Operations []operationJSON }
	decode(t, f.do(ada, "GET", "/api/cases/intrusion/operations", nil), &ops)
	report := f.do(ada, "GET", "/api/cases/intrusion/export/report.html", nil).Body.String()
	if !strings.Contains(report, "<html") || !strings.Contains(report, ops.Operations[0].ID) {
		t.Errorf("the report does not show operation %s", ops.Operations[0].ID)
	}
}

// TestExportSTIX: the STIX export is one bundle of the objects the case's
// export gives, for the caller's tenant only; another tenant's case is not
// found, and a server without the export answers none.
func TestExportSTIX(t *testing.T) {
	f := newFixture(t, t.TempDir())
	must(t, func() error {
		_, err := f.st.AddCase(context.Background(), "acme", "acme-only", "", "root")
		return err
	}())
	var asked []string
	f.srv.caseSTIX = func(_ context.Context, tenant, caseName string) ([]json.RawMessage, error) {
		asked = append(asked, tenant+"/"+caseName)
		return []json.RawMessage{json.RawMessage(`{"type":"report","id":"report--` + tenant + `"}`)}, nil
	}
	vic := f.login("vic") // a viewer may export
	w := f.do(vic, "GET", "/api/cases/intrusion/export/stix.json", nil)
	var b struct {
		Type, ID string
		Objects  []struct{ Type, ID string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || w.Code != 200 {
		t.Fatalf("%d %v: %s", w.Code, err, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/stix+json") {
		t.Errorf("Content-Type %q", ct)
	}
	if b.Type != "bundle" || !strings.HasPrefix(b.ID, "bundle--") || len(b.Objects) != 1 || b.Objects[0].ID != "report--acme" {
		t.Errorf("got %+v, want a bundle of acme's report", b)
	}
	again := f.do(vic, "GET", "/api/cases/intrusion/export/stix.json", nil).Body.String()
	if again != w.Body.String() {
		t.Errorf("the same export twice differs")
	}
	gus := f.login("gus")
	if w := f.do(gus, "GET", "/api/cases/acme-only/export/stix.json", nil); w.Code != 404 {
		t.Errorf("another tenant's case: %d, want 404", w.Code)
	}
	if !slices.Equal(asked, []string{"acme/intrusion", "acme/intrusion"}) {
		t.Errorf("exports asked for %q, want acme's intrusion twice", asked)
	}
	f.srv.caseSTIX = nil
	if w := f.do(vic, "GET", "/api/cases/intrusion/export/stix.json", nil); w.Code != 404 {
		t.Errorf("without an export: %d, want 404", w.Code)
	}
}
