package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// killChildEnv names the store a child process of TestKilledMidIngest
// hunts into until it is killed.
const killChildEnv = "SPOOR_TEST_KILLED_INGEST"

// TestKilledMidIngest: a process killed (SIGKILL) while it streams a
// hunt's detections leaves the store consistent: the hunt is reported
// incomplete once its lease runs out, it holds whole batches only, every
// detection it holds is indexed (text and tags) and none is shown among
// the complete hunts'.
func TestKilledMidIngest(t *testing.T) {
	if target := os.Getenv(killChildEnv); target != "" {
		killedChild(target)
		return
	}
	run := func(t *testing.T, target string) {
		setup(t, targetOpener(target)(t))
		cmd := exec.Command(os.Args[0], "-test.run=^TestKilledMidIngest$")
		cmd.Env = append(os.Environ(), killChildEnv+"="+target)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Killed once a few batches are in, while it writes the next.
		lines := bufio.NewScanner(out)
		batches := 0
		for batches < 3 && lines.Scan() {
			if strings.HasPrefix(lines.Text(), "batch ") {
				batches++
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		if batches < 3 {
			t.Fatalf("the child wrote %d batches before it ended, want 3", batches)
		}

		ctx := context.Background()
		later := func() time.Time { return time.Now().Add(DefaultLease + time.Minute) }
		s := targetOpener(target)(t, WithClock(later))
		hunts, err := s.Hunts(ctx, "acme", "intrusion")
		if err != nil {
			t.Fatal(err)
		}
		if len(hunts) != 1 || hunts[0].State != HuntIncomplete {
			t.Fatalf("got hunts %+v, want one incomplete", hunts)
		}
		h := hunts[0]
		n, _, err := s.CountDetections(ctx, "acme", "intrusion", Filter{Unfinished: true}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if n < 3*BatchSize || n%BatchSize != 0 || n != h.Detections {
			t.Errorf("the killed hunt holds %d detections and says %d: want the same, whole batches, at least 3", n, h.Detections)
		}
		if n, _, err := s.CountDetections(ctx, "acme", "intrusion", Filter{}, 0); err != nil || n != 0 {
			t.Errorf("complete hunts' detections: %d (%v), want none", n, err)
		}
		// Every stored detection is indexed, and no index row is left over.
		var text, orphanTags int64
		textQuery := `SELECT count(*) FROM detection_text`
		if s.dialect == postgresDialect {
			textQuery = `SELECT count(*) FROM detections WHERE search IS NOT NULL`
		}
		if err := s.db.QueryRow(textQuery).Scan(&text); err != nil || text != n {
			t.Errorf("text index: %d rows (%v), want %d", text, err, n)
		}
		err = s.db.QueryRow(`SELECT count(*) FROM detection_tags t WHERE NOT EXISTS (SELECT 1 FROM detections d WHERE d.id = t.detection_id)`).Scan(&orphanTags)
		if err != nil || orphanTags != 0 {
			t.Errorf("tags of no detection: %d (%v)", orphanTags, err)
		}
		if s.dialect == sqliteDialect {
			var ok string
			if err := s.db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
				t.Errorf("integrity check: %q (%v)", ok, err)
			}
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, t.TempDir()) })
	t.Run("postgres", func(t *testing.T) { run(t, postgresSchema(t)) })
}

// killedChild hunts into target, saying so after each batch, until it is
// killed (or, should nobody kill it, a few hundred batches later).
func killedChild(target string) {
	ctx := context.Background()
	s, err := Open(ctx, target)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	w, err := s.BeginHunt(ctx, "acme", "intrusion", HuntSpec{By: "child"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	g := newGen(7)
	for i := range 300 * BatchSize {
		d, _ := g.detection(i)
		if err := w.Write(ctx, d); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if (i+1)%BatchSize == 0 {
			fmt.Printf("batch %d\n", (i+1)/BatchSize)
		}
	}
	os.Exit(3)
}
