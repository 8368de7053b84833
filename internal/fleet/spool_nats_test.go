package fleet_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/fleet"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// TestShipSpoolsWhileNATSIsDown: a collector whose NATS server is down
// spools its batches (a publication fails at once, without waiting for
// its timeout) and, once the server is back on the same address and
// store, publishes them: the stream holds every batch once and the spool
// is empty.
func TestShipSpoolsWhileNATSIsDown(t *testing.T) {
	ctx := context.Background()
	dir := shared.Path(t, "datasets", "evtx-attack-samples", "Lateral Movement")
	store := t.TempDir()
	srv, err := fleet.StartServer(store, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.URL()[len("nats://"):]
	nc, js, err := fleet.Connect(srv.URL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := fleet.EnsureStream(ctx, js, "acme", fleet.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	start := time.Now()
	pub := fleet.JetStreamPublisher{JS: js}
	for !errors.Is(pub.Publish(ctx, fleet.Subject("acme", "h"), []byte("x"), "x"), fleet.ErrDisconnected) {
		time.Sleep(10 * time.Millisecond) // until the client sees the server gone
		if time.Since(start) > time.Minute {
			t.Fatal("the client never saw the server gone")
		}
	}

	state := t.TempDir()
	stats := new(fleet.ShipStats)
	done := make(chan error, 1)
	go func() {
		done <- fleet.Ship(ctx, pub, []string{dir}, fleet.ShipOptions{Tenant: "acme", Case: "c", Collector: "col",
			State: state, Window: 100, Buffer: 1 << 30, Stats: stats})
	}()
	// Batches spooled, the server still down.
	deadline := time.Now().Add(time.Minute)
	for stats.Retries.Load() < 2 || stats.Spooled.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("nothing spooled within a minute: %d retries", stats.Retries.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv, err = fleet.StartServer(store, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := stats.Spooled.Load(); n != 0 {
		t.Errorf("%d batches left in the spool", n)
	}
	ents, _ := os.ReadDir(filepath.Join(state, "spool"))
	if len(ents) != 0 {
		t.Errorf("%d files left in the spool", len(ents))
	}
	st, err := js.Stream(ctx, fleet.StreamName("acme"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := int64(info.State.Msgs), stats.Batches.Load(); got != want || got == 0 {
		t.Errorf("the stream holds %d messages, %d batches acknowledged", got, want)
	}
}
