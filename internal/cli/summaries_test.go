package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/store"
)

// TestHuntStoresSummaries: `spoor hunt --store` keeps the hunt's metrics,
// logons and gaps with it, and they are what `spoor metrics`, `spoor
// logons` and `spoor gaps` print for the same real files (a password
// spray, and a log cleared and its service disabled).
func TestHuntStoresSummaries(t *testing.T) {
	ctx := t.Context()
	paths := []string{
		shared.Path(t, "datasets", "deepbluecli", "evtx", "password-spray.evtx"),
		shared.Path(t, "datasets", "deepbluecli", "evtx", "disablestop-eventlog.evtx"),
	}
	dir := filepath.Join(t.TempDir(), "store")
	args := append([]string{"hunt", "--no-sigmahq", "--quiet", "--workers", "2", "--store", dir, "--case", "spray"}, paths...)
	if code, _, errOut := run(t, ctx, args...); code != ExitOK {
		t.Fatalf("hunt --store: exit %d: %s", code, errOut)
	}
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored := map[string]json.RawMessage{}
	for _, kind := range store.SummaryKinds {
		sums, err := st.Summaries(ctx, store.DefaultTenant, "spray", kind)
		if err != nil || len(sums) != 1 {
			t.Fatalf("%s: %d summaries, %v; want the hunt's one", kind, len(sums), err)
		}
		stored[kind] = sums[0].Body
	}
	cliLines := func(cmd string) []map[string]any {
		t.Helper()
		code, out, errOut := run(t, ctx, append([]string{cmd, "--json", "--quiet"}, paths...)...)
		if code != ExitOK {
			t.Fatalf("%s: exit %d: %s", cmd, code, errOut)
		}
		var lines []map[string]any
		sc := bufio.NewScanner(strings.NewReader(out))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("%s: line %q: %v", cmd, sc.Text(), err)
			}
			lines = append(lines, m)
		}
		return lines
	}

	// Metrics: the events in all, by channel and by event ID, and what
	// is missing.
	var m struct {
		Events   float64
		Channels []struct {
			Channel string
			Events  float64
		}
		EventIDs []struct {
			Channel string
			EventID float64 `json:"event_id"`
			Events  float64
		} `json:"event_ids"`
		Missing []struct{ What string }
	}
	if err := json.Unmarshal(stored["metrics"], &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	var wantMissing []string
	for _, l := range cliLines("metrics") {
		switch l["kind"] {
		case "summary":
			want["events"] = l["events"].(float64)
		case "channel":
			want["channel "+l["channel"].(string)] = l["events"].(float64)
		case "event_id":
			want[fmt.Sprintf("event %s/%v", l["channel"], l["event_id"])] += l["events"].(float64)
		case "missing":
			wantMissing = append(wantMissing, l["what"].(string))
		}
	}
	got := map[string]float64{"events": m.Events}
	for _, c := range m.Channels {
		got["channel "+c.Channel] = c.Events
	}
	for _, e := range m.EventIDs {
		got[fmt.Sprintf("event %s/%v", e.Channel, e.EventID)] += e.Events
	}
	var gotMissing []string
	for _, x := range m.Missing {
		gotMissing = append(gotMissing, x.What)
	}
	if want["channel Security"] == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("stored metrics %v,\nspoor metrics %v", got, want)
	}
	slices.Sort(gotMissing)
	slices.Sort(wantMissing)
	if len(wantMissing) == 0 || !slices.Equal(gotMissing, wantMissing) {
		t.Errorf("stored missing %q, spoor metrics %q", gotMissing, wantMissing)
	}

	// Logons: every row of each table, as spoor logons prints them.
	var rep map[string][]map[string]any
	if err := json.Unmarshal(stored["logons"], &rep); err != nil {
		t.Fatal(err)
	}
	wantRows := map[string][]map[string]any{}
	for _, l := range cliLines("logons") {
		wantRows[l["type"].(string)] = append(wantRows[l["type"].(string)], l)
	}
	for table, typ := range map[string]string{"logons": "logon", "explicit": "explicit", "rdp": "rdp", "flags": "flag"} {
		if len(rep[table]) != len(wantRows[typ]) || (len(rep[table]) > 0 && !reflect.DeepEqual(rep[table], wantRows[typ])) {
			t.Errorf("stored %s: %v,\nspoor logons: %v", table, rep[table], wantRows[typ])
		}
	}
	if len(wantRows["explicit"]) == 0 {
		t.Error("spoor logons found no explicit-credential logon in a password spray")
	}

	// Gaps: every finding.
	var found []map[string]any
	if err := json.Unmarshal(stored["gaps"], &found); err != nil {
		t.Fatal(err)
	}
	wantFound := cliLines("gaps")
	if len(wantFound) == 0 || !reflect.DeepEqual(found, wantFound) {
		t.Errorf("stored gaps %v,\nspoor gaps %v", found, wantFound)
	}
}
