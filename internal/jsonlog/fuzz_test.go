package jsonlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
)

func FuzzRead(f *testing.F) {
	seeds := []string{
		"",
		"{\"a\":1}\n{\"a\":2}\n",
		"{\"a\":1}\r\n{\"a\":\n{\"a\":3}",
		"[{\"a\":1},5,{\"a\":[1,{\"b\":null}]}]",
		"{\n  \"a\": 1\n}\n{\n  \"a\": ,\n}\n{\"b\":true}",
		`{"s":"a\"b\\c\/\n\u00e9\ud83d\ude00\ud800x","n":-0.5e-3,"u":18446744073709551616}`,
		`{"Event":{"System":{"Provider":{"#attributes":{"Name":"P"}},"EventID":{"#attributes":{"Qualifiers":1},"#text":7},` +
			`"TimeCreated":{"#attributes":{"SystemTime":"2019-03-19T17:14:25.9Z"}},"Execution":{"#attributes":{"ProcessID":4}}},` +
			`"EventData":{"Data":[{"#attributes":{"Name":"X"},"#text":"1"},"u"],"ProcessID":5},"UserData":{"R":{"L":{"#text":"v"},"M":[1,2]}},` +
			`"RenderingInfo":{"#attributes":{"Culture":"en"},"Message":"m"}}}`,
		`{"winlog":{"channel":"Security","event_id":"4688","process":{"pid":4},"event_data":{"ProcessID":"1"},"user_data":{"xml_name":"x","A":{"B":"c"}}},"@timestamp":"2021-01-01T00:00:00Z","host":{"name":"h"},"event":{"code":"1"}}`,
		`{"log_name":"L","event_id":1,"event_data":{"Image":"x"},"user":{"identifier":"S-1-5-18"},"message":"m","record_number":"9"}`,
		`{"EventTime":"2020-09-22 04:11:16","Hostname":"H","Keywords":-9223372036854775808,"ExecutionProcessID":4,"ProcessID":"3","a":1,"a":2,"EventData_ProcessID":7}`,
		`{"TimeGenerated":"2022-05-13T08:54:05.21+01:00","EventSourceName":"S","Source":"T","EventLog":"C"}`,
		"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\xaaVJT\xb22\xac\xe5\x02\x04\x00\x00\xff\xff",
		"\xef\xbb\xbf[ ]",
		`{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	}
	seeds = append(seeds,
		"\x00\x00\x00\x00{\"a\":1}\n{\"a\":2}\n",
		"{\"a\":1}\n{\"a\":1.5,\"b\x00\x00\x00{\"a\":2}\n\x00\x00",
		"garbage\xff\xfe\nta\":\"x\"}\n{\"a\":1}\n",
		"junk\x00\x00[{\"a\":1},{\"a\" 1},tru,{\"a\":3}]",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n{\"a\":1}\n{\"a\":2}",
		"[{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}{\"a\":2}]",
	)
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// Bounded work per input: the input is capped, and what reading it
		// allocates is bounded by a multiple of the buffers a Reader owns
		// (its read buffer, at most maxLine plus a chunk) plus a per-byte
		// share for the events' arenas.
		if len(in) > 1<<16 {
			in = in[:1<<16]
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r := NewReader(bytes.NewReader(in), Options{Source: "fuzz"})
		r.maxLine = 1 << 12
		events, calls := 0, 0
		for {
			calls++
			// Each call consumes input; a gzip'd input may decode to
			// more bytes than it has, so count what was decoded.
			if decoded := max(int64(len(in)), r.base+int64(r.w)); int64(calls) > decoded+3 {
				t.Fatalf("%d calls to Next for %d bytes (%d decoded)", calls, len(in), decoded)
			}
			ev, err := r.Next()
			if err == io.EOF {
				break
			}
			if errors.Is(err, errInternal) {
				t.Fatal(err)
			}
			if _, ok := err.(*event.SkipError); ok {
				continue
			}
			if err != nil {
				break
			}
			events++
			if ev.Locator < 1 {
				t.Errorf("Locator %d", ev.Locator)
			}
			seen := make(map[string]bool, len(ev.Fields))
			for _, fl := range ev.Fields {
				if seen[fl.Name] {
					t.Fatalf("name %q twice in %s", fl.Name, ev.AppendJSON(nil))
				}
				seen[fl.Name] = true
			}
			c := ev.Clone()
			if !bytes.Equal(c.AppendJSON(nil), ev.AppendJSON(nil)) {
				t.Fatal("clone differs")
			}
		}
		r.Close()
		runtime.ReadMemStats(&after)
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(4*(initialBuf+1<<12+readChunk)+64*len(in)+1<<20); got > limit {
			t.Fatalf("allocated %d bytes for %d bytes of input, want at most %d", got, len(in), limit)
		}
		// A single valid JSON object on one line is one event.
		trimmed := bytes.Trim(in, " \t\r\n") // JSON whitespace only
		if len(trimmed) > 0 && trimmed[0] == '{' && len(trimmed) <= r.maxLine &&
			!bytes.ContainsAny(trimmed, "\n\r") && json.Valid(trimmed) && depth(trimmed) <= maxDepth {
			if events != 1 {
				t.Fatalf("got %d events for a valid object", events)
			}
		}
	})
}

// depth returns the nesting depth of a JSON text (ignoring strings).
func depth(b []byte) int {
	d, maxD, inStr, esc := 0, 0, false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			d++
			maxD = max(maxD, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return maxD
}
