//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/internal/storetest"
)

// rdpLogon is a JSON line the test rule logon_rdp.yml detects.
func rdpLogon(n int) string {
	return fmt.Sprintf(`{"TimeCreated":"2024-03-04T11:%02d:%02dZ","Computer":"FS01","Channel":"Security","EventID":4624,"EventRecordID":%d,"LogonType":10,"TargetUserName":"adm","TargetDomainName":"CORP","TargetLogonId":"0x%x","IpAddress":"10.0.0.9"}`+"\n",
		n/60%60, n%60, n, 0x10000+n)
}

// whoami is a Sysmon process creation the test rule proc_whoami.yml
// detects (high).
const whoami = `{"TimeCreated":"2024-03-04T10:00:00Z","Computer":"FS01","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"EventRecordID":1,"Image":"C:\\Windows\\System32\\whoami.exe","ParentImage":"C:\\app\\java.exe","ProcessGuid":"{11111111-0000-0000-0000-000000000001}","ProcessId":4242,"User":"CORP\\svc"}` + "\n"

// TestHuntStoreKilled: `spoor hunt --store` killed (SIGKILL) while it
// streams detections into a case, after a batch is in, leaves the store
// consistent, on both backends: the hunt is reported incomplete once its
// lease runs out, it holds whole batches, its detections are not shown
// with the complete hunts', the case's operations are those of before, and
// the next hunt into the case completes.
func TestHuntStoreKilled(t *testing.T) {
	rules, err := filepath.Abs("../../internal/hunt/testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	storetest.Backends(t, func(t *testing.T, target string) {
		ctx := context.Background()
		dir := t.TempDir()
		spoor := func(args ...string) *exec.Cmd {
			cmd := exec.Command(os.Args[0], append([]string{"hunt", "--no-builtin", "--no-sigmahq", "--rules", rules,
				"--workers", "1", "--quiet", "--store", target, "--case", "intrusion"}, args...)...)
			cmd.Env = append(os.Environ(), "SPOOR_TEST_MAIN=1")
			return cmd
		}
		complete := func(name string, n int) {
			t.Helper()
			var b strings.Builder
			b.WriteString(whoami) // an operation of its own
			for i := range n {
				b.WriteString(rdpLogon(i))
			}
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := spoor(path).CombinedOutput(); err != nil {
				t.Fatalf("hunt %s: %v: %s", name, err, out)
			}
		}
		complete("first.jsonl", 10)
		st, err := store.Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		opsBefore, err := st.Operations(ctx, store.DefaultTenant, "intrusion")
		if err != nil || len(opsBefore) == 0 {
			t.Fatalf("operations after the first hunt: %d (%v), want some", len(opsBefore), err)
		}

		fifo := filepath.Join(dir, "endless.fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skip(err)
		}
		cmd := spoor(fifo)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		defer cmd.Process.Kill()
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // blocks until spoor reads it
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		go func() {
			for i := 0; ; i++ {
				if _, err := w.WriteString(rdpLogon(i)); err != nil {
					return // spoor is gone
				}
			}
		}()
		// Killed once a batch is stored, while it reads on.
		deadline := time.Now().Add(2 * time.Minute)
		for {
			hs, err := st.Hunts(ctx, store.DefaultTenant, "intrusion")
			if err != nil {
				t.Fatal(err)
			}
			if len(hs) == 2 && hs[1].Detections >= store.BatchSize {
				break
			}
			select {
			case err := <-exited:
				t.Fatalf("spoor ended before it was killed: %v (stderr %q)", err, stderr.String())
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("no batch stored within 2 minutes (stderr %q)", stderr.String())
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-exited

		later := func() time.Time { return time.Now().Add(store.DefaultLease + time.Minute) }
		after, err := store.Open(ctx, target, store.WithClock(later))
		if err != nil {
			t.Fatal(err)
		}
		defer after.Close()
		hs, err := after.Hunts(ctx, store.DefaultTenant, "intrusion")
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) != 2 || hs[0].State != store.HuntComplete || hs[1].State != store.HuntIncomplete {
			t.Fatalf("hunts %+v: want the first complete, the killed one incomplete", hs)
		}
		killed := hs[1].Detections
		if killed == 0 || killed%store.BatchSize != 0 {
			t.Errorf("the killed hunt holds %d detections: want whole batches", killed)
		}
		count := func(f store.Filter) int64 {
			n, _, err := after.CountDetections(ctx, store.DefaultTenant, "intrusion", f, 0)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(store.Filter{}); n != hs[0].Detections {
			t.Errorf("detections shown: %d, want the complete hunt's %d", n, hs[0].Detections)
		}
		if n := count(store.Filter{Unfinished: true}); n != hs[0].Detections+killed {
			t.Errorf("detections stored: %d, want %d + %d", n, hs[0].Detections, killed)
		}
		opsAfter, err := after.Operations(ctx, store.DefaultTenant, "intrusion")
		if err != nil {
			t.Fatal(err)
		}
		if len(opsAfter) != len(opsBefore) || string(opsAfter[0].JSON) != string(opsBefore[0].JSON) {
			t.Errorf("the killed hunt changed the case's operations")
		}

		// The store takes the next hunt, and the killed one's detections
		// stay out of the case's operations.
		complete("third.jsonl", 20)
		hs, err = after.Hunts(ctx, store.DefaultTenant, "intrusion")
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) != 3 || hs[2].State != store.HuntComplete || hs[2].Detections != 21 {
			t.Fatalf("hunts after the kill: %+v", hs)
		}
		if n := count(store.Filter{}); n != 32 {
			t.Errorf("detections shown after the next hunt: %d, want 32", n)
		}
		if err := after.Refs(ctx, store.DefaultTenant, "intrusion", func(id int64, _ []byte) error {
			d, err := after.GetDetection(ctx, store.DefaultTenant, "intrusion", id)
			if err == nil && d.Hunt == hs[1].ID {
				return errors.New("a ref of the killed hunt is read for operations")
			}
			return err
		}); err != nil {
			t.Error(err)
		}
	})
}
