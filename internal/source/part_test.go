package source

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// TestReadPart: a part of a log is read as Run reads the file, damage
// counted and skipped: EVTX chunk slots (one of them damaged), JSON lines
// numbered from the line the part starts at (one of them bad).
func TestReadPart(t *testing.T) {
	data, err := os.ReadFile(shared.Path(t, "datasets", "deepbluecli", "evtx", "password-spray.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	// Records 1-104, 105-210, 211-295 in chunks 0-2; a byte of chunk 2's
	// records changed.
	data[4096+2*65536+1000] ^= 0xff
	var ids []int64
	sum, err := ReadPart(context.Background(), Part{Name: "x.evtx", Type: EVTX, R: bytes.NewReader(data), Size: int64(len(data)), FirstChunk: 1},
		Options{}, func(_ int, ev *event.Event) error {
			ids = append(ids, ev.Locator)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) < 106 || ids[0] != 105 || len(sum.Damaged) != 1 || sum.Events != int64(len(ids)) {
		t.Errorf("EVTX from chunk 1: %d events from %v, damaged %+v", len(ids), ids[:min(len(ids), 1)], sum.Damaged)
	}

	ids = nil
	lines := "{\"a\":1}\nnot json\n{\"a\":2}\n"
	sum, err = ReadPart(context.Background(), Part{Name: "x.json", Type: JSON, Lines: strings.NewReader(lines), Line: 10},
		Options{}, func(_ int, ev *event.Event) error {
			ids = append(ids, ev.Locator)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != 11 || ids[1] != 13 || len(sum.Damaged) != 1 || sum.Damaged[0].First[0].Where != "line 12" {
		t.Errorf("JSON lines from line 11: events at %v, damaged %+v", ids, sum.Damaged)
	}

	sum, err = ReadPart(context.Background(), Part{Name: "x.zip", Type: Zip}, Options{}, nil)
	if err != nil || len(sum.Failed) != 1 {
		t.Errorf("a part of a zip: %v, failed %+v", err, sum.Failed)
	}
}
