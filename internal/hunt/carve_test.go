package hunt

import (
	"testing"

	"github.com/spoor-hunt/spoor/internal/shared"
)

// TestCarve hunts a real file whose chunks hold stale records in their
// free space: with Options.Carve the attacks those records show (UACME
// runs) are detected too, marked Carved; the detections of the live
// records do not change.
func TestCarve(t *testing.T) {
	p := shared.Path(t, "datasets", "evtx-attack-samples", "Privilege Escalation", "Sysmon_uacme_58.evtx")
	count := func(carve bool) (live, carved int) {
		t.Helper()
		res, err := Run(t.Context(), []string{p}, Options{Workers: 1, Carve: carve, NoAttribution: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range res.Detections {
			if d.Carved {
				carved++
			} else {
				live++
			}
		}
		return live, carved
	}
	live, carved := count(false)
	if carved != 0 {
		t.Fatalf("without carving: got %d carved detections, want none", carved)
	}
	if live2, carved2 := count(true); live2 != live || carved2 == 0 {
		t.Errorf("carving: got %d detections, %d carved; want %d and some carved", live2, carved2, live)
	}
}
