package evtx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
)

// readAll decodes data and returns clones of its events and the skips.
// workers < 0 reads Helped, with -workers goroutines calling Help until
// the reader is read.
func readAll(tb testing.TB, data []byte, workers int) ([]*event.Event, []*event.SkipError) {
	tb.Helper()
	return readWith(tb, data, workers, Options{})
}

// readWith is readAll with options (Source, Workers and Helped are set
// from workers).
func readWith(tb testing.TB, data []byte, workers int, opts Options) ([]*event.Event, []*event.SkipError) {
	tb.Helper()
	opts.Source, opts.Workers, opts.Helped = "test.evtx", workers, workers < 0
	r, err := Open(bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	done := make(chan struct{})
	var helpers sync.WaitGroup
	for range -workers {
		helpers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if !r.Help() {
					runtime.Gosched()
				}
			}
		})
	}
	defer func() {
		close(done)
		helpers.Wait()
		r.Close()
	}()
	var evs []*event.Event
	var skips []*event.SkipError
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		var se *event.SkipError
		if errors.As(err, &se) {
			skips = append(skips, se)
			continue
		}
		if err != nil {
			tb.Fatalf("Next: %v", err)
		}
		evs = append(evs, ev.Clone())
	}
	return evs, skips
}

// render returns the fields of ev as name=kind:text lines.
func render(ev *event.Event) string {
	var b strings.Builder
	for _, f := range ev.Fields {
		fmt.Fprintf(&b, "%s=%s:%s\n", f.Name, f.Value.Kind(), f.Value.Text())
	}
	return b.String()
}

const systemRendered = `Provider_Name=string:Test-Provider
Provider_Guid=string:{5770385F-C22A-43E0-BF4C-06F5698FFBD9}
EventID=uint:4624
Level=uint:4
Keywords=string:0x8020000000000000
TimeCreated=time:2020-08-12T13:30:00Z
EventRecordID=uint:%d
ProcessID=uint:636
ThreadID=uint:4120
Channel=string:Security
Computer=string:HOST.example
UserID=string:S-1-5-18
`

func TestDecodeEventData(t *testing.T) {
	c := newChunkBuilder(100)
	var def int
	c.record(func() {
		c.fragment()
		def = c.systemTemplate(func() {
			c.open("EventData", false)
			c.closeStart()
			for i, name := range []string{"TargetUserName", "LogonType"} {
				c.open("Data", true)
				c.attr("Name")
				c.text(name)
				c.closeStart()
				c.sub(uint16(14+i), typeString, false)
				c.end()
			}
			c.open("Data", true) // empty optional: omitted
			c.attr("Name")
			c.text("Omitted")
			c.closeStart()
			c.sub(16, typeString, true)
			c.end()
			c.open("Data", true) // normal substitution of a Null: kept as Null
			c.attr("Name")
			c.text("Empty")
			c.closeStart()
			c.sub(16, typeString, false)
			c.end()
			c.open("Data", false)
			c.closeStart()
			c.sub(17, typeString, false)
			c.end()
			c.open("Data", false)
			c.closeStart()
			c.text("static")
			c.end()
			c.open("Binary", false)
			c.closeStart()
			c.sub(18, typeBinary, false)
			c.end()
			c.end()
		})
		c.values(systemValues(100,
			val{typeString, strv("alice  \x00")},
			val{typeUint32, u32v(3)},
			val{typeNull, nil},
			val{typeString, strv("first")},
			val{typeBinary, []byte{0xde, 0xad, 0x0b}},
		)...)
		c.eof()
	})
	c.record(func() {
		c.fragment()
		c.templateRef(def)
		c.values(systemValues(101,
			val{typeString, strv("bob")},
			val{typeUint32, u32v(10)},
			val{typeString, strv("x")},
			val{typeString, strv("second")},
			val{typeBinary, nil},
		)...)
		c.eof()
	})
	data := fileOf(c.bytes())
	for _, workers := range []int{1, 3} {
		evs, skips := readAll(t, data, workers)
		if len(skips) != 0 {
			t.Fatalf("workers %d: skips %v", workers, skips)
		}
		if len(evs) != 2 {
			t.Fatalf("workers %d: got %d events, want 2", workers, len(evs))
		}
		want0 := fmt.Sprintf(systemRendered, 100) + `TargetUserName=string:alice
LogonType=uint:3
Empty=null:
Data=list:first, static
Binary=string:DEAD0B
`
		if got := render(evs[0]); got != want0 {
			t.Errorf("workers %d: event 0:\ngot\n%s\nwant\n%s", workers, got, want0)
		}
		want1 := fmt.Sprintf(systemRendered, 101) + `TargetUserName=string:bob
LogonType=uint:10
Omitted=string:x
Empty=string:x
Data=list:second, static
Binary=string:
`
		if got := render(evs[1]); got != want1 {
			t.Errorf("workers %d: event 1:\ngot\n%s\nwant\n%s", workers, got, want1)
		}
		if evs[1].Source != "test.evtx" || evs[1].Locator != 101 {
			t.Errorf("got Source %q Locator %d, want test.evtx 101", evs[1].Source, evs[1].Locator)
		}
		if got := evs[0].Time(); !got.Equal(time.Date(2020, 8, 12, 13, 30, 0, 0, time.UTC)) {
			t.Errorf("got time %v", got)
		}
	}
}

func TestDecodeTokens(t *testing.T) {
	c := newChunkBuilder(1)
	c.record(func() {
		c.fragment()
		c.systemTemplate(func() {
			c.open("EventData", false)
			c.closeStart()
			c.open("Data", true)
			c.attr("Name")
			c.text("Text")
			c.closeStart()
			c.text("a")
			c.entityRef("amp")
			c.entityRef("lt")
			c.entityRef("gt")
			c.entityRef("quot")
			c.entityRef("apos")
			c.charRef(0x263A)
			c.cdata("<cdata>")
			c.pi("target", "ignored")
			c.text("z")
			c.end()
			c.open("Data", true)
			c.attr("Name")
			c.text("Mixed")
			c.closeStart()
			c.text("pid=")
			c.sub(14, typeUint32, false)
			c.text(";")
			c.end()
			c.open("Data", true)
			c.attr("Name")
			c.sub(15, typeString, false)
			c.closeStart()
			c.sub(16, typeInt32, false)
			c.end()
			c.open("Data", true)
			c.attr("Name")
			c.text("Strings")
			c.closeStart()
			c.sub(17, typeString|typeArrayFlag, false)
			c.end()
			c.open("Data", true)
			c.attr("Name")
			c.text("Numbers")
			c.closeStart()
			c.sub(18, typeUint16|typeArrayFlag, false)
			c.end()
			c.open("Data", true)
			c.attr("Name")
			c.text("Text")
			c.closeStart()
			c.text("again")
			c.end()
			c.end()
			c.open("UserData", false)
			c.closeStart()
			c.sub(19, typeBinXML, false)
			c.end()
		})
		// The UserData value: a fragment with its own template.
		vals := systemValues(1,
			val{typeUint32, u32v(42)},
			val{typeString, strv("Dynamic")},
			val{typeInt32, u32v(uint32(0xffffffff))},
			val{typeString | typeArrayFlag, strv("one\x00two\x00")},
			val{typeUint16 | typeArrayFlag, append(u16v(7), u16v(8)...)},
		)
		c.valuesBinXML(vals, func() {
			c.fragment()
			c.templateDef(func() {
				c.open("LogFileCleared", true)
				c.attr("xmlns")
				c.text("http://manifests.microsoft.com/win/2004/08/windows/eventlog")
				c.closeStart()
				c.open("SubjectUserName", false)
				c.closeStart()
				c.sub(0, typeString, false)
				c.end()
				c.open("Channel", false)
				c.closeStart()
				c.sub(1, typeString, false)
				c.end()
				c.open("Item", false)
				c.closeStart()
				c.sub(2, typeUint8, false)
				c.end()
				c.open("Item", false)
				c.closeStart()
				c.sub(3, typeUint8, false)
				c.end()
				c.end()
			})
			c.values(val{typeString, strv("admin")}, val{typeString, strv("Security")},
				val{typeUint8, []byte{1}}, val{typeUint8, []byte{2}})
			c.eof()
		})
		c.eof()
	})
	evs, skips := readAll(t, fileOf(c.bytes()), 1)
	if len(skips) != 0 || len(evs) != 1 {
		t.Fatalf("got %d events, skips %v; want 1 event", len(evs), skips)
	}
	want := fmt.Sprintf(systemRendered, 1) + `Text=list:a&<>"'☺<cdata>z, again
Mixed=string:pid=42;
Dynamic=int:-1
Strings=list:one, two
Numbers=list:7, 8
SubjectUserName=string:admin
UserData_Channel=string:Security
Item=list:1, 2
`
	if got := render(evs[0]); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		head string
		want bool
	}{
		{"ElfFile\x00\x00\x00", true},
		{"ElfChnk\x00", true},
		{"ElfFile", false},
		{"{\"Event\":1}", false},
		{"", false},
	} {
		if got := Sniff([]byte(tc.head)); got != tc.want {
			t.Errorf("Sniff(%q): got %v, want %v", tc.head, got, tc.want)
		}
	}
}

func TestBareChunk(t *testing.T) {
	c := newChunkBuilder(5)
	c.record(func() {
		c.fragment()
		c.systemTemplate(func() {})
		c.values(systemValues(5)...)
		c.eof()
	})
	evs, skips := readAll(t, c.bytes(), 1)
	if len(evs) != 1 || len(skips) != 0 {
		t.Fatalf("got %d events, %d skips; want 1, 0", len(evs), len(skips))
	}
	if got, want := render(evs[0]), fmt.Sprintf(systemRendered, 5); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestReuse checks the reuse contract: an event stays intact until the
// next call to Next, across chunk boundaries, with parallel workers.
func TestReuse(t *testing.T) {
	data := synthFile(6)
	id := uint64(6*3 + 1) // the next record id after the last
	r, err := Open(bytes.NewReader(data), int64(len(data)), Options{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := uint64(1)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.Lookup(event.FieldEventRecordID).Uint(); got != want {
			t.Fatalf("got EventRecordID %d, want %d", got, want)
		}
		if got := ev.Lookup(event.FieldComputer).Str(); got != "HOST.example" {
			t.Fatalf("got Computer %q", got)
		}
		want++
	}
	if want != id {
		t.Errorf("got %d records, want %d", want-1, id-1)
	}
	st := r.Stats()
	if st.Chunks != 6 || st.Records != 18 || st.ChunksSkipped != 0 {
		t.Errorf("got stats %+v, want 6 chunks, 18 records", st)
	}
}

// TestCloseEarly checks that Close stops the workers mid-file.
func TestCloseEarly(t *testing.T) {
	r := readOneClose(t, smallChunks(20), Options{Workers: 2})
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after Close: got %v, want io.EOF", err)
	}
}

// TestNestedElement decodes BinXml values that hold a plain element (not a
// template instance), with and without the dependency identifier.
func TestNestedElement(t *testing.T) {
	for _, dep := range []bool{true, false} {
		c := newChunkBuilder(1)
		c.record(func() {
			c.fragment()
			c.userDataTemplate()
			c.valuesBinXML(systemValues(1), func() {
				open := func(name string) {
					c.u8(tokOpenStart)
					if dep {
						c.u16(0xffff)
					}
					c.u32(0)
					c.name(name)
					c.closeStart()
				}
				open("RuleAndFileData")
				open("PolicyName")
				c.text("EXE")
				c.end()
				c.end()
				c.eof()
			})
			c.eof()
		})
		evs, skips := readAll(t, fileOf(c.bytes()), 1)
		if len(evs) != 1 || len(skips) != 0 {
			t.Fatalf("dep %v: got %d events, skips %v; want 1 event", dep, len(evs), skips)
		}
		if got := evs[0].Lookup("PolicyName"); got.Kind() != event.String || got.Str() != "EXE" {
			t.Errorf("dep %v: got PolicyName %v (%s), want string EXE", dep, got, got.Kind())
		}
	}
}

// TestTemplateCachedInOtherContext uses a template (of a GUID) in a chunk
// after one where it was compiled: first in the same context (its program
// comes from the cross-chunk cache, the definition is not parsed), then in
// another (the definition must be parsed then; it was compiled as nil, a
// recovered panic that lost the record).
func TestTemplateCachedInOtherContext(t *testing.T) {
	guid := []byte("0123456789abcdef")
	chunk := func(first uint64, again bool) []byte {
		c := newChunkBuilder(first)
		var def int
		c.record(func() {
			c.fragment()
			def = c.templateDef(func() {
				c.open("Event", false)
				c.closeStart()
				c.open("EventData", false)
				c.closeStart()
				c.open("Data", true)
				c.attr("Name")
				c.text("Inner")
				c.closeStart()
				c.sub(0, typeString, false)
				c.end()
				c.end()
				c.end()
			})
			copy(c.b[def+4:], guid)
			c.values(val{typeString, strv("root")})
			c.eof()
		})
		if again {
			c.record(func() {
				c.fragment()
				c.userDataTemplate()
				c.valuesBinXML(systemValues(first+1), func() {
					c.fragment()
					c.templateRef(def)
					c.values(val{typeString, strv("nested")})
					c.eof()
				})
				c.eof()
			})
		}
		return c.bytes()
	}
	evs, skips := readAll(t, fileOf(chunk(1, false), chunk(2, true)), 1)
	if len(skips) != 0 || len(evs) != 3 {
		t.Fatalf("got %d events, skips %v; want 3 events", len(evs), skips)
	}
	if got := evs[2].Lookup("Inner"); got.Str() != "nested" {
		t.Errorf("got Inner %q in the nested use, want \"nested\"", got.Str())
	}
}
