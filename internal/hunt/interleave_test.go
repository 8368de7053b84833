package hunt

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/source"
)

// TestInterleavedChannels hunts real events written as one JSON lines file
// whose consecutive events come from different channels, and the same events
// written one file per channel. The detections must be the same, whatever
// the matcher carries from one event's routing to the next. It guards the
// routing end to end; it cannot reproduce the stale-channel aliasing itself
// (no two channels of these datasets have the same length, and where the
// JSON reader's buffer puts a line is not under the test's control): that
// is detect's TestMatcherReusedBuffer, and the spoorscribble build catches
// kept strings in general.
func TestInterleavedChannels(t *testing.T) {
	evidence := []string{
		shared.Path(t, "datasets", "evtx-attack-samples"),
		shared.Path(t, "datasets", "deepbluecli"),
	}
	sigmaRules := shared.Path(t, "datasets", "sigma", "rules", "windows")

	byChannel := map[string][][]byte{}
	var channels []string
	_, err := source.Run(t.Context(), evidence, source.Options{Workers: 1}, func(_ int, ev *event.Event) error {
		ch := ""
		if v, ok := ev.Get("Channel"); ok {
			ch = strings.Clone(v.String()) // a map key outlives the event
		}
		if _, ok := byChannel[ch]; !ok {
			channels = append(channels, ch)
		}
		byChannel[ch] = append(byChannel[ch], ev.AppendJSON(nil))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(channels) < 5 {
		t.Fatalf("got %d channels in the evidence, want several", len(channels))
	}

	dir := t.TempDir()
	mixed := filepath.Join(dir, "mixed", "all.jsonl")
	perChannel := filepath.Join(dir, "split")
	for _, d := range []string{filepath.Dir(mixed), perChannel} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Round robin over the channels: each event follows one of another
	// channel while several remain.
	var all [][]byte
	for i := 0; ; i++ {
		n := 0
		for _, ch := range channels {
			if evs := byChannel[ch]; i < len(evs) {
				all = append(all, evs[i])
				n++
			}
		}
		if n == 0 {
			break
		}
	}
	t.Logf("%d events, %d channels", len(all), len(channels))
	writeLines(t, mixed, all)
	for i, ch := range channels {
		writeLines(t, filepath.Join(perChannel, fmt.Sprintf("%03d.jsonl", i)), byChannel[ch])
	}

	hunt := func(path string) []string {
		res, err := Run(t.Context(), []string{path}, Options{
			Rules: []string{sigmaRules}, Workers: 1, NoOperations: true, NoAttribution: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range res.Detections {
			if d.Kind == "" {
				out = append(out, fmt.Sprintf("%s %d %s %s", d.Channel, d.RecordID, d.Computer, d.Rule.ID))
			}
		}
		slices.Sort(out)
		return out
	}
	got, want := hunt(filepath.Dir(mixed)), hunt(perChannel)
	t.Logf("%d detections per channel, %d interleaved", len(want), len(got))
	if len(want) < 1000 {
		t.Fatalf("per channel: got %d detections, want a real number (more than 1,000)", len(want))
	}
	if !slices.Equal(got, want) {
		missing, extra := diff(want, got), diff(got, want)
		t.Errorf("interleaved: got %d detections, want %d as hunted per channel; missing %d (first %v), extra %d (first %v)",
			len(got), len(want), len(missing), first(missing), len(extra), first(extra))
	}
}

func writeLines(t *testing.T, name string, lines [][]byte) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		w.Write(l)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// diff returns the elements of a (sorted) not in b (sorted), with multiplicity.
func diff(a, b []string) []string {
	var out []string
	j := 0
	for _, s := range a {
		for j < len(b) && b[j] < s {
			j++
		}
		if j < len(b) && b[j] == s {
			j++
			continue
		}
		out = append(out, s)
	}
	return out
}

func first(s []string) string {
	return strings.Join(s[:min(3, len(s))], "; ")
}
