package source

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/evtx"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// TestStdin checks that "-" reads the standard input as a stream, named
// "stdin": JSON lines, and EVTX (which needs random access: spooled).
func TestStdin(t *testing.T) {
	evtxPath := filepath.Join(shared.Dir(t), "datasets", "deepbluecli", "evtx", "smb-password-guessing-security.evtx")
	evtxData, err := os.ReadFile(evtxPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		data   []byte
		events int
	}{
		{"json lines", jsonLines(`{"EventID":1}`, `{"EventID":2}`), 2},
		{"evtx", evtxData, 0}, // 0: as many as the file read directly
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sources []string
			sum, err := Run(t.Context(), []string{Stdin}, Options{Stdin: bytes.NewReader(tc.data)}, func(_ int, ev *event.Event) error {
				sources = append(sources, ev.Source)
				return nil
			})
			if err != nil || len(sum.Failed) > 0 {
				t.Fatalf("Run: %v, failed %v", err, sum.Failed)
			}
			want := tc.events
			if want == 0 {
				r, err := evtx.Open(bytes.NewReader(tc.data), int64(len(tc.data)), evtx.Options{Workers: 1})
				if err != nil {
					t.Fatal(err)
				}
				for _, err := r.Next(); err == nil; _, err = r.Next() {
					want++
				}
			}
			if len(sources) != want || want == 0 || sources[0] != "stdin" {
				t.Errorf("got %d events (first from %q), want %d from stdin", len(sources), strings.Join(sources[:min(1, len(sources))], ""), want)
			}
			if sum.Bytes != int64(len(tc.data)) {
				t.Errorf("bytes: got %d, want %d", sum.Bytes, len(tc.data))
			}
		})
	}
}
