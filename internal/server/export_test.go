package server

import (
	"encoding/csv"
	"encoding/json"
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
