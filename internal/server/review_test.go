package server

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/spoor-hunt/spoor/internal/store"
)

// TestTriageIDIsCanonical: a detection's triage set through another
// spelling of its id ("007", "+7") is the triage of that detection, not a
// second record the detection's own pages never show.
func TestTriageIDIsCanonical(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ann := f.login("ann")
	d := strconv.FormatInt(f.det, 10)
	for _, alias := range []string{"0" + d, "+" + d} {
		w := f.do(ann, "PUT", "/api/cases/intrusion/triage/detection/"+alias, map[string]string{"state": "malicious"})
		if w.Code != http.StatusOK && w.Code != http.StatusNotFound {
			t.Fatalf("PUT triage %s: %d %s", alias, w.Code, w.Body)
		}
		if w.Code == http.StatusNotFound {
			continue
		}
		var got detectionJSON
		decode(t, f.do(ann, "GET", "/api/cases/intrusion/detections/"+d, nil), &got)
		if got.Triage == nil || got.Triage.State != store.TriageMalicious {
			t.Errorf("triage set as %q: detection %s shows %+v, want malicious", alias, d, got.Triage)
		}
		must(t, f.st.SetTriage(context.Background(), "acme", "intrusion", store.Triage{Kind: store.KindDetection, ID: d, State: store.TriageNew}, "ann"))
	}
}
