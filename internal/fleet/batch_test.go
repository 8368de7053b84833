package fleet

import (
	"context"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/eventtest"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/source"
)

func TestToken(t *testing.T) {
	for _, name := range []string{"", "DC01", "dc01.corp.example", "a b", "*", ">", "_", "_h", "x_2E", "é", "a\x00b", strings.Repeat("ab.", 10)} {
		tok := Token(name)
		if strings.ContainsAny(tok, ".*> \t\r\n") || tok == "" {
			t.Errorf("Token(%q) = %q: not a safe token", name, tok)
		}
		got, err := ParseToken(tok)
		if err != nil || got != name {
			t.Errorf("ParseToken(Token(%q) = %q) = %q, %v", name, tok, got, err)
		}
	}
	long := strings.Repeat("host.", 40)
	tok := Token(long)
	if len(tok) > maxToken || !strings.HasPrefix(tok, hashedPrefix) {
		t.Errorf("Token of %d bytes = %q: not hashed", len(long), tok)
	}
	if _, err := ParseToken(tok); !errors.Is(err, ErrToken) {
		t.Errorf("ParseToken(hashed) = %v, want ErrToken", err)
	}
	if Token(long) == Token(long+"x") {
		t.Error("two long names hash alike")
	}
	for _, bad := range []string{"a.b", "_2e", "_41", "_", "_G0", "a_2"} {
		if bad == "_" {
			continue // the empty name
		}
		if got, err := ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%q) = %q, want an error", bad, got)
		}
	}
}

func TestSubject(t *testing.T) {
	s := Subject("acme corp", "DC01.acme.local")
	tenant, p, host, err := ParseSubject(s)
	if err != nil {
		t.Fatal(err)
	}
	if tn, _ := ParseToken(tenant); tn != "acme corp" {
		t.Errorf("tenant %q from %q", tn, s)
	}
	if h, _ := ParseToken(host); h != "DC01.acme.local" {
		t.Errorf("host %q from %q", h, s)
	}
	if p != Partition("dc01.ACME.local") {
		t.Errorf("partition %d; the host's in other case %d", p, Partition("dc01.ACME.local"))
	}
	seen := map[int]bool{}
	for i := range 1000 {
		seen[Partition("host"+string(rune('a'+i%26))+strings.Repeat("x", i%7))] = true
	}
	if len(seen) < Partitions/2 {
		t.Errorf("hosts fall in %d partitions of %d", len(seen), Partitions)
	}
	for _, bad := range []string{"spoor.t.events.99.h", "spoor.t.events.1.h", "spoor.t.other.01.h", "x"} {
		if _, _, _, err := ParseSubject(bad); err == nil {
			t.Errorf("ParseSubject(%q): no error", bad)
		}
	}
}

// sampleEvents returns up to max events (cloned) of the shared EVTX and
// JSON samples, with every kind of value.
func sampleEvents(t testing.TB, max int) []*event.Event {
	paths := []string{
		shared.Path(t, "datasets", "evtx-attack-samples", "Lateral Movement"),
		shared.Path(t, "datasets", "security-datasets"),
	}
	var evs []*event.Event
	stop := errors.New("enough")
	for _, p := range paths {
		_, err := source.Run(context.Background(), []string{p}, source.Options{Workers: 1}, func(_ int, ev *event.Event) error {
			evs = append(evs, ev.Clone())
			if len(evs)%(max/2) == 0 {
				return stop
			}
			return nil
		})
		if err != nil && !errors.Is(err, stop) {
			t.Fatal(err)
		}
	}
	return evs
}

// synthetic has a value of every kind, nested lists and odd strings.
func synthetic() *event.Event {
	return &event.Event{
		Source: "x.evtx", Locator: -3, Carved: true,
		Fields: []event.Field{
			{Name: "S", Value: event.StringValue("é\x00\xff")},
			{Name: "A", Value: event.ASCIIStringValue("plain")},
			{Name: "I", Value: event.IntValue(math.MinInt64)},
			{Name: "U", Value: event.UintValue(math.MaxUint64)},
			{Name: "F", Value: event.FloatValue(math.Inf(-1))},
			{Name: "B", Value: event.BoolValue(true)},
			{Name: "T", Value: event.TimeValue(time.Date(1601, 1, 1, 0, 0, 0, 999999999, time.UTC))},
			{Name: "L", Value: event.ListValue([]event.Value{event.IntValue(1), event.ListValue([]event.Value{event.StringValue("in")}), {}})},
			{Name: "N", Value: event.Value{}},
		},
	}
}

func sameEvent(a, b *event.Event) bool {
	if a.Source != b.Source || a.Locator != b.Locator || a.Carved != b.Carved || len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		x, y := a.Fields[i], b.Fields[i]
		if x.Name != y.Name || !x.Value.Equal(y.Value) || x.Value.KnownASCII() != y.Value.KnownASCII() {
			return false
		}
	}
	return true
}

// TestRoundTrip: real events (EVTX and JSON) and a synthetic one of every
// kind decode exactly as they were encoded: names, kinds, values, the
// ASCII mark, source, locator, carving and ordinals, and the header.
func TestRoundTrip(t *testing.T) {
	evs := append(sampleEvents(t, 400), synthetic())
	h := Header{Tenant: "acme", Case: "c1", Host: "DC01", Collector: "col-1", Input: Input{ID: "in-1", Path: "/var/log/x.evtx"}}
	enc := NewEncoder(h)
	for i, ev := range evs {
		enc.Add(int64(1000+2*i), ev)
	}
	msg, err := enc.Message()
	if err != nil {
		t.Fatal(err)
	}
	if len(msg) >= enc.Size() {
		t.Errorf("message of %d bytes for %d bytes of events: not compressed", len(msg), enc.Size())
	}
	b, err := Decode(msg, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Header != h {
		t.Errorf("header %+v, want %+v", b.Header, h)
	}
	if len(b.Records) != len(evs) {
		t.Fatalf("%d records, want %d", len(b.Records), len(evs))
	}
	for i := range evs {
		r := &b.Records[i]
		if r.Ordinal != int64(1000+2*i) {
			t.Errorf("record %d: ordinal %d, want %d", i, r.Ordinal, 1000+2*i)
		}
		if !sameEvent(&r.Event, evs[i]) {
			t.Fatalf("record %d: %s\nwant %s", i, r.Event.AppendJSON(nil), evs[i].AppendJSON(nil))
		}
	}
	// A Decoder reusing its memory: the second batch decoded is whole,
	// and the first decodes the same again after it.
	dec := NewDecoder(Limits{})
	enc2 := NewEncoder(Header{Tenant: "other", Host: "H2"})
	enc2.Add(1, synthetic())
	msg2, _ := enc2.Message()
	msg2 = append([]byte{}, msg2...)
	for _, m := range [][]byte{msg, msg2, msg} {
		b, err := dec.Decode(m)
		if err != nil {
			t.Fatal(err)
		}
		want := evs
		if b.Host == "H2" {
			want = []*event.Event{synthetic()}
		}
		if len(b.Records) != len(want) {
			t.Fatalf("Decoder: %d records, want %d", len(b.Records), len(want))
		}
		for i := range want {
			if !sameEvent(&b.Records[i].Event, want[i]) {
				t.Fatalf("Decoder: record %d of %s differs", i, b.Host)
			}
		}
	}
	// Reset: a second batch carries nothing of the first.
	enc.Reset(Header{Tenant: "acme", Host: "WS1"})
	enc.Add(7, evs[0])
	msg, _ = enc.Message()
	if b, err = Decode(msg, Limits{}); err != nil || len(b.Records) != 1 || b.Host != "WS1" || !sameEvent(&b.Records[0].Event, evs[0]) {
		t.Fatalf("second batch: %+v, %v", b, err)
	}
}

// TestDecodeBounds: a message past a limit is refused, saying which.
func TestDecodeBounds(t *testing.T) {
	enc := NewEncoder(Header{Tenant: "t"})
	ev := synthetic()
	for i := range 100 {
		enc.Add(int64(i), ev)
	}
	msg, _ := enc.Message()
	for _, c := range []struct {
		lim  Limits
		want string
	}{
		{Limits{Message: 10}, "message of"},
		{Limits{Payload: 100}, "payload past"},
		{Limits{Events: 99}, "100 events"},
		{Limits{Values: 500}, "more fields and list values"},
	} {
		_, err := Decode(msg, c.lim)
		if !errors.Is(err, ErrBatch) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Decode with %+v: %v, want ErrBatch saying %q", c.lim, err, c.want)
		}
	}
	for _, bad := range [][]byte{nil, []byte("SPB"), []byte("SPB\x02"), append([]byte("SPB\x01"), "junk"...), msg[:len(msg)/2]} {
		if _, err := Decode(bad, Limits{}); !errors.Is(err, ErrBatch) {
			t.Errorf("Decode(%q...): %v, want ErrBatch", bad[:min(len(bad), 8)], err)
		}
	}
}

func TestMsgID(t *testing.T) {
	h := Header{Host: "a.b", Input: Input{ID: "in"}}
	if a, b := h.MsgID(1, 0, 10), h.MsgID(1, 0, 11); a == b {
		t.Errorf("batches of different ends share id %q", a)
	}
	if a, b := h.MsgID(1, 0, 10), h.MsgID(2, 0, 10); a == b {
		t.Errorf("batches of different passes share id %q", a)
	}
	if got, want := h.MsgID(3, 5, 10), "in:3:5-10:a_2Eb"; got != want {
		t.Errorf("MsgID = %q, want %q", got, want)
	}
}

// FuzzDecode: any bytes decode to a batch or an ErrBatch, never a panic;
// within the limits given, and what decodes encodes back to the same
// events.
func FuzzDecode(f *testing.F) {
	enc := NewEncoder(Header{Tenant: "t", Case: "c", Host: "h", Input: Input{ID: "i", Path: "p"}})
	enc.Add(1, synthetic())
	enc.Add(2, synthetic())
	msg, _ := enc.Message()
	f.Add(append([]byte{}, msg...))
	f.Add([]byte("SPB\x01"))
	lim := Limits{Message: 1 << 16, Payload: 1 << 20, Events: 1000, Values: 1 << 14}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Bounded memory: the payload (at most lim.Payload, read through
		// io.ReadAll's doublings), its copy as a string, and 64 bytes per
		// field or list value, whatever the message claims.
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		bt, err := Decode(b, lim)
		runtime.ReadMemStats(&after)
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(4*lim.Payload+96*lim.Values+1<<20); got > limit {
			t.Fatalf("Decode of %d bytes allocated %d bytes, want at most %d", len(b), got, limit)
		}
		if err != nil {
			if !errors.Is(err, ErrBatch) {
				t.Fatalf("error not ErrBatch: %v", err)
			}
			return
		}
		if len(bt.Records) > lim.Events {
			t.Fatalf("%d events past the limit", len(bt.Records))
		}
		e := NewEncoder(bt.Header)
		for i := range bt.Records {
			e.Add(bt.Records[i].Ordinal, &bt.Records[i].Event)
		}
		again, err := e.Message()
		if err != nil {
			t.Fatal(err)
		}
		bt2, err := Decode(again, Limits{})
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		for i := range bt.Records {
			if !sameEvent(&bt.Records[i].Event, &bt2.Records[i].Event) {
				t.Fatalf("event %d changed on the way back", i)
			}
		}
	})
}

// TestEncoderKeepsNoView: an Encoder keeps nothing of an event past Add.
// Its table of field names kept the reader's views: once the reader had
// rewritten its buffer, a name could read as another and give it its
// number, and the worker matched the event with fields misnamed (six
// Sysmon detections of Security-Datasets lost in some runs).
func TestEncoderKeepsNoView(t *testing.T) {
	evs := sampleEvents(t, 50)
	var buf eventtest.Buffer
	enc := NewEncoder(Header{Tenant: "acme", Host: "DC01"})
	for i, ev := range evs {
		enc.Add(int64(i), buf.Borrow(ev.Clone()))
	}
	buf.Overwrite()
	for name := range enc.names {
		if strings.Contains(name, "\xdb") {
			t.Fatalf("the name table keeps a view of the reader's buffer: %q", name)
		}
	}
	msg, err := enc.Message()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(msg, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if !sameEvent(&b.Records[i].Event, evs[i]) {
			t.Fatalf("record %d: %s\nwant %s", i, b.Records[i].Event.AppendJSON(nil), evs[i].AppendJSON(nil))
		}
	}
}
