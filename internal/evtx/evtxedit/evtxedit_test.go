package evtxedit

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/evtx"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// readIDs reads every record of an EVTX file with spoor's reader and
// returns their identifiers; any skipped part fails the test.
func readIDs(t *testing.T, data []byte) []int64 {
	t.Helper()
	r, err := evtx.Open(bytes.NewReader(data), int64(len(data)), evtx.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ids []int64
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return ids
		}
		var skip *event.SkipError
		if errors.As(err, &skip) {
			t.Fatalf("reader skipped part of the edited file: %v", skip)
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.Locator)
	}
}

func TestRemove(t *testing.T) {
	data, err := os.ReadFile(shared.Path(t, "datasets", "deepbluecli", "evtx", "password-spray.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	orig := readIDs(t, data)
	for _, tc := range []struct {
		first, last uint64
		tail        bool
	}{
		{50, 52, false}, // inside chunk 0 (1-104)
		{100, 104, true},
		{106, 106, false}, // the second record of chunk 1
		{295, 295, true},  // the file's last record
	} {
		edited, rm, err := Remove(data, tc.first, tc.last)
		if err != nil {
			t.Fatalf("Remove(%d, %d): %v", tc.first, tc.last, err)
		}
		if rm.Tail != tc.tail {
			t.Errorf("Remove(%d, %d): tail %v, want %v", tc.first, tc.last, rm.Tail, tc.tail)
		}
		var want []int64
		for _, id := range orig {
			if id < int64(tc.first) || id > int64(tc.last) {
				want = append(want, id)
			}
		}
		got := readIDs(t, edited)
		if len(got) != len(want) {
			t.Fatalf("Remove(%d, %d): %d records, want %d", tc.first, tc.last, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("Remove(%d, %d): record %d is %d, want %d", tc.first, tc.last, i, got[i], want[i])
			}
		}
	}
	for _, bad := range [][2]uint64{{1, 1}, {105, 105}, {100, 106}, {9000, 9001}} {
		if _, _, err := Remove(data, bad[0], bad[1]); !errors.Is(err, ErrNotRemovable) {
			t.Errorf("Remove(%d, %d): %v, want ErrNotRemovable", bad[0], bad[1], err)
		}
	}
}
