package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// startServer starts an embedded server for one test.
func startServer(t *testing.T) *Server {
	t.Helper()
	s, err := StartServer(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// TestStreamDeduplicates: a batch published twice with its message id is
// stored once in its tenant's stream, on its host's subject, and decodes
// to what was sent.
func TestStreamDeduplicates(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, js, err := Connect(s.URL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := EnsureStream(ctx, js, "acme corp", StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	h := Header{Tenant: "acme corp", Case: "c", Host: "DC01.acme", Input: Input{ID: "in", Path: "x.evtx"}}
	enc := NewEncoder(h)
	enc.Add(0, synthetic())
	msg, err := enc.Message()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := js.Publish(ctx, Subject(h.Tenant, h.Host), msg, jetstream.WithMsgID(h.MsgID(1, 0, 1))); err != nil {
			t.Fatal(err)
		}
	}
	st, err := js.Stream(ctx, StreamName("acme corp"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("%d messages stored, want 1", info.State.Msgs)
	}
	raw, err := st.GetLastMsgForSubject(ctx, PartitionSubjects(h.Tenant, Partition(h.Host)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(raw.Data, Limits{})
	if err != nil || b.Host != h.Host || len(b.Records) != 1 {
		t.Fatalf("stored batch: %+v, %v", b, err)
	}
}
