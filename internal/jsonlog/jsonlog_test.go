package jsonlog

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/spoor-hunt/spoor/internal/event"
)

// result is what a Reader gave for an input: each event as "line: JSON",
// each skip as "skip line N: reason".
type result struct {
	out   []string
	fatal error
}

func read(t *testing.T, r io.Reader, maxLine int) result {
	t.Helper()
	jr := NewReader(r, Options{Source: "test"})
	if maxLine > 0 {
		jr.maxLine = maxLine
	}
	defer jr.Close()
	var res result
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("no end")
		}
		ev, err := jr.Next()
		if err == io.EOF {
			return res
		}
		if se, ok := errors.AsType[*event.SkipError](err); ok {
			if se.Source != "test" {
				t.Errorf("SkipError.Source: got %q, want test", se.Source)
			}
			res.out = append(res.out, "skip "+se.Where)
			continue
		}
		if err != nil {
			res.fatal = err
			return res
		}
		if ev.Source != "test" {
			t.Errorf("Source: got %q, want test", ev.Source)
		}
		res.out = append(res.out, strconv.FormatInt(ev.Locator, 10)+": "+string(ev.AppendJSON(nil)))
	}
}

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func TestFraming(t *testing.T) {
	long := `{"a":"` + strings.Repeat("x", 300) + `"}`
	deep := `{"a":` + strings.Repeat("[", 100000) + "\n"
	deepObj := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	nuls := strings.Repeat("\x00", 10000)
	gzipped := gz("{\"a\":1}\n{\"a\":2}\n")
	tests := []struct {
		name    string
		in      []byte
		maxLine int
		want    []string
		fatal   bool
	}{
		{"empty", nil, 0, nil, false},
		{"blank", []byte(" \n\r\n\t"), 0, nil, false},
		{"ndjson", []byte("{\"a\":1}\n{\"a\":2}\n"), 0, []string{`1: {"a":1}`, `2: {"a":2}`}, false},
		{"ndjson crlf no final newline", []byte("{\"a\":1}\r\n{\"a\":2}"), 0, []string{`1: {"a":1}`, `2: {"a":2}`}, false},
		{"ndjson blank lines", []byte("\n{\"a\":1}\n\n \n{\"a\":2}\n\n"), 0, []string{`2: {"a":1}`, `5: {"a":2}`}, false},
		{"ndjson bad line", []byte("{\"a\":1}\n{\"a\":\n{\"a\":3}\n"), 0,
			[]string{`1: {"a":1}`, "skip line 2", `3: {"a":3}`}, false},
		{"ndjson bad first line", []byte("{\"a\":}\n{\"a\":2}\n{\"a\":3}\n"), 0,
			[]string{"skip line 1", `2: {"a":2}`, `3: {"a":3}`}, false},
		{"ndjson not objects", []byte("{\"a\":1}\n[1,2]\n\"x\"\n42\n{\"a\":2}\n"), 0,
			[]string{`1: {"a":1}`, "skip line 2", "skip line 3", "skip line 4", `5: {"a":2}`}, false},
		{"ndjson trailing data", []byte("{\"a\":0}\n{\"a\":1} x\n{\"a\":2}\n"), 0, []string{`1: {"a":0}`, "skip line 2", `3: {"a":2}`}, false},
		{"trailing data after the first object", []byte("{\"a\":1} x\n{\"a\":2}\n"), 0, []string{`1: {"a":1}`, "skip line 1", `2: {"a":2}`}, false},
		{"ndjson truncated at end", []byte("{\"a\":1}\n{\"a\":\"b"), 0, []string{`1: {"a":1}`, "skip line 2"}, false},
		{"array", []byte(`[{"a":1},{"a":2}]`), 0, []string{`1: {"a":1}`, `1: {"a":2}`}, false},
		{"array pretty", []byte("[\n  {\n    \"a\": 1\n  },\n  {\n    \"a\": 2\n  }\n]\n"), 0,
			[]string{`2: {"a":1}`, `5: {"a":2}`}, false},
		{"array empty", []byte("[ ]"), 0, nil, false},
		{"array non-object element", []byte(`[{"a":1}, 5, "x", {"a":2}]`), 0,
			[]string{`1: {"a":1}`, "skip line 1", "skip line 1", `1: {"a":2}`}, false},
		{"array then array", []byte("[{\"a\":1}]\n[{\"a\":2}]"), 0, []string{`1: {"a":1}`, `2: {"a":2}`}, false},
		{"array unterminated", []byte("[{\"a\":1},\n{\"a\":2}"), 0, []string{`1: {"a":1}`, `2: {"a":2}`, "skip line 2"}, false},
		{"array bad element", []byte("[\n{\"a\":1},\n{\"a\" 1},\n{\"a\":3}\n]"), 0,
			[]string{`2: {"a":1}`, "skip line 3", `4: {"a":3}`}, false},
		{"concatenated", []byte("{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}\n"), 0, []string{`1: {"a":1}`, `4: {"a":2}`}, false},
		{"concatenated on one line", []byte(`{"a":1}{"a":2} {"a":3}`), 0, []string{`1: {"a":1}`, `1: {"a":2}`, `1: {"a":3}`}, false},
		{"concatenated bad object", []byte("{\n  \"a\": 1\n}\n{\n  \"a\": ,\n}\n{\n  \"a\": 3\n}\n"), 0,
			[]string{`1: {"a":1}`, "skip line 4", `7: {"a":3}`}, false},
		{"bom", []byte("\xef\xbb\xbf{\"a\":1}\n"), 0, []string{`1: {"a":1}`}, false},
		{"not json", []byte("type=SYSCALL msg=audit(1604994496.155:92733)\n"), 0, nil, true},
		{"zeek tsv", []byte("#separator \\x09\n#fields\tts\n"), 0, nil, true},
		{"binary", []byte("\x00\x05\x16\x07"), 0, []string{"skip line 1 (offset 0)"}, true},
		{"deep array", []byte(deep + "{\"a\":2}\n"), 0, []string{"skip line 1", `2: {"a":2}`}, false},
		{"deep objects", []byte(deepObj + "\n{\"a\":2}\n"), 0, []string{"skip line 1", `2: {"a":2}`}, false},
		{"nul padding first", []byte(nuls + "{\"a\":1}\n{\"a\":2}\n"), 0,
			[]string{"skip line 1 (offset 0)", `1: {"a":1}`, `2: {"a":2}`}, false},
		{"nul padding between lines", []byte("{\"a\":1}\n" + nuls + "{\"a\":2}\n{\"a\":3}\n"), 0,
			[]string{`1: {"a":1}`, "skip line 2 (offset 8)", `2: {"a":2}`, `3: {"a":3}`}, false},
		{"nul padding after a cut line", []byte("{\"a\":1}\n{\"a\":1.5,\"b" + nuls + "{\"a\":2}\n"), 0,
			[]string{`1: {"a":1}`, "skip line 2", "skip line 2 (offset 19)", `2: {"a":2}`}, false},
		{"nul padding at the end", []byte("{\"a\":1}\n" + nuls), 0, []string{`1: {"a":1}`, "skip line 2 (offset 8)"}, false},
		{"nul padding in an array", []byte("[{\"a\":1},\n" + nuls + "{\"a\":2}]"), 0,
			[]string{`1: {"a":1}`, "skip line 2 (offset 10)", `2: {"a":2}`}, false},
		{"nul padding between objects", []byte("{\n\"a\":1\n}\n{\n\"a\":" + nuls + "{\n\"a\":2\n}\n"), 0,
			[]string{`1: {"a":1}`, "skip line 4", "skip line 5 (offset 16)", `5: {"a":2}`}, false},
		{"junk first", []byte("garbage\xff\xfe\nta\":\"x\"}\n{\"a\":1}\n{\"a\":2}\n"), 0,
			[]string{"skip line 1 (offset 0)", `3: {"a":1}`, `4: {"a":2}`}, false},
		{"junk then padding", []byte("garbage" + nuls + "{\"a\":1}\n"), 0,
			[]string{"skip line 1 (offset 0)", `1: {"a":1}`}, false},
		// Junk broken by NULs is one skipped part, not one per fragment.
		{"junk broken by padding", []byte(strings.Repeat("x\x00", 1000) + "\n{\"a\":1}\n"), 0,
			[]string{"skip line 1 (offset 0)", `2: {"a":1}`}, false},
		// Padding does not count against the bound on junk.
		{"long padding in junk", []byte("x" + strings.Repeat("\x00", maxJunk+10) + "y\n{\"a\":1}\n"), 0,
			[]string{"skip line 1 (offset 0)", `2: {"a":1}`}, false},
		{"junk too long", []byte(strings.Repeat("junk line\n", maxJunk/10+10) + "{\"a\":1}\n"), 0, nil, true},
		{"deep unclosed array first", []byte(strings.Repeat("[", 100000) + "\n{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n"), 0,
			[]string{"skip line 1", `2: {"a":1}`, `3: {"a":2}`, `4: {"a":3}`, "skip line 5"}, false},
		{"one-line array bad element", []byte(`[{"a":1},{"a" 1},{"a":3}]`), 0,
			[]string{`1: {"a":1}`, "skip line 1", `1: {"a":3}`}, false},
		{"one-line array bad scalar", []byte(`[{"a":1},tru,{"a":3}]`), 0,
			[]string{`1: {"a":1}`, "skip line 1", `1: {"a":3}`}, false},
		{"one-line array deep element", []byte(`[{"a":1},{"b":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `},{"a":3}]`), 0,
			[]string{`1: {"a":1}`, "skip line 1", `1: {"a":3}`}, false},
		{"long line", []byte("{\"a\":1}\n" + long + "\n{\"a\":3}\n"), 200,
			[]string{`1: {"a":1}`, "skip line 2", `3: {"a":3}`}, false},
		{"long object", []byte("{\n\"a\":1}\n" + long + "\n{\"a\":3}\n"), 200,
			[]string{`1: {"a":1}`, "skip line 3", `4: {"a":3}`}, false},
		{"gzip", gzipped, 0, []string{`1: {"a":1}`, `2: {"a":2}`}, false},
		{"gzip without trailer", gzipped[:len(gzipped)-8], 0, []string{`1: {"a":1}`, `2: {"a":2}`}, false},
		{"gzip cut short", gz("{\"a\":1}\n" + strings.Repeat(`{"b":"`+strings.Repeat("y", 50)+"\"}\n", 2000))[:200], 0, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, mode := range []string{"whole", "one byte"} {
				var r io.Reader = bytes.NewReader(tt.in)
				if mode == "one byte" {
					r = iotest.OneByteReader(r)
				}
				got := read(t, r, tt.maxLine)
				if (got.fatal != nil) != tt.fatal {
					t.Errorf("%s: got error %v, want error %v", mode, got.fatal, tt.fatal)
				}
				if tt.name == "gzip cut short" {
					if len(got.out) == 0 || got.out[0] != `1: {"a":1}` {
						t.Errorf("%s: got %q, want the first event first", mode, got.out)
					}
					continue
				}
				if strings.Join(got.out, "\n") != strings.Join(tt.want, "\n") {
					t.Errorf("%s:\ngot  %q\nwant %q", mode, got.out, tt.want)
				}
			}
		})
	}
}

// TestSkipError checks what a skip says.
func TestSkipError(t *testing.T) {
	r := NewReader(strings.NewReader("{\"a\":1}\n{\"a\":x}\n"), Options{Source: "f.json"})
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err := r.Next()
	se, ok := errors.AsType[*event.SkipError](err)
	if !ok {
		t.Fatalf("got %v, want a *event.SkipError", err)
	}
	if se.Source != "f.json" || se.Where != "line 2" || se.Records != 1 || se.Err == nil {
		t.Errorf("got %+v, want f.json, line 2, 1 record, a reason", se)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("got %v, want io.EOF", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := r.Next(); err == nil || err == io.EOF {
		t.Errorf("Next after Close: got %v, want an error", err)
	}
}

// TestReadError checks that a failing reader ends the iteration with its
// error.
func TestReadError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader("{\"a\":1}\n{\"a\""), iotest.ErrReader(boom)), Options{})
	var err error
	for range 5 {
		if _, err = r.Next(); err != nil {
			break
		}
	}
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want %v", err, boom)
	}
}

func TestValues(t *testing.T) {
	in := `{"i":42,"n":-7,"min":-9223372036854775808,"u":18446744073709551615,"big":123456789012345678901234,` +
		`"f":1.5,"e":1e3,"s":"a\"b\\c\/\n\u00e9\ud83d\ude00\ud800x","t":true,"fa":false,"z":null,` +
		`"l":[1,"x",{"k":[1]},[]],"o":{"p":{"q":1}},"":"empty key"}`
	r := NewReader(strings.NewReader(in), Options{})
	ev, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		kind event.Kind
		text string
	}{
		{"i", event.Int, "42"},
		{"n", event.Int, "-7"},
		{"min", event.Int, "-9223372036854775808"},
		{"u", event.Uint, "18446744073709551615"},
		{"big", event.Float, "1.2345678901234569e+23"},
		{"f", event.Float, "1.5"},
		{"e", event.Float, "1000"},
		{"s", event.String, "a\"b\\c/\né😀\ufffdx"},
		{"t", event.Bool, "true"},
		{"fa", event.Bool, "false"},
		{"z", event.Null, ""},
		{"l", event.List, `1, x, {"k":[1]}, `},
		{"o.p.q", event.Int, "1"},
		{"", event.String, "empty key"},
	}
	if len(ev.Fields) != len(tests) {
		t.Errorf("got %d fields, want %d: %s", len(ev.Fields), len(tests), ev.AppendJSON(nil))
	}
	for _, tt := range tests {
		v, ok := ev.Get(tt.name)
		if !ok {
			t.Errorf("%s: missing", tt.name)
			continue
		}
		if v.Kind() != tt.kind || v.Text() != tt.text {
			t.Errorf("%s: got %v %q, want %v %q", tt.name, v.Kind(), v.Text(), tt.kind, tt.text)
		}
	}
}

func TestTimes(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when not a time
	}{
		{"2019-05-18T20:37:10.409Z", "2019-05-18T20:37:10.409Z"},
		{"2021-08-02T13:11:39.7724491Z", "2021-08-02T13:11:39.7724491Z"},
		{"2025-10-24T23:34:34.640670123Z", "2025-10-24T23:34:34.640670123Z"},
		{"2020-09-22 04:11:16", "2020-09-22T04:11:16Z"},
		{"2025-10-24 23:34:34.640", "2025-10-24T23:34:34.64Z"},
		{"2022-05-11T18:10:20+02:00", "2022-05-11T16:10:20Z"},
		{"2022-05-11T18:10:20-0130", "2022-05-11T19:40:20Z"},
		{"2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"},
		{"2023-02-29T00:00:00Z", ""},
		{"2023-13-01T00:00:00Z", ""},
		{"2023-01-01T24:00:00Z", ""},
		{"2023-01-01T00:00:00.Z", ""},
		{"2023-01-01T00:00:00Zjunk", ""},
		{"yesterday", ""},
	}
	for _, tt := range tests {
		r := NewReader(strings.NewReader(`{"TimeCreated":"`+tt.in+`"}`), Options{})
		ev, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		v := ev.Lookup("TimeCreated")
		if tt.want == "" {
			if v.Kind() != event.String || v.Str() != tt.in {
				t.Errorf("%s: got %v %s, want the string kept", tt.in, v.Kind(), v.Text())
			}
			continue
		}
		if v.Kind() != event.Time || v.Text() != tt.want {
			t.Errorf("%s: got %v %s, want time %s", tt.in, v.Kind(), v.Text(), tt.want)
		}
	}
}

func TestShapes(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			"winlogbeat 7",
			`{"@timestamp":"2021-01-01T00:00:00.000Z","winlog":{"channel":"Security","event_id":4688,"computer_name":"PC",` +
				`"provider_name":"Microsoft-Windows-Security-Auditing","provider_guid":"{54849625-5478-4994-a5ba-3e3b0328c30d}",` +
				`"record_id":"55","process":{"pid":4,"thread":{"id":8}},"user":{"identifier":"S-1-5-18","name":"SYSTEM"},` +
				`"opcode":"Info","keywords":["Audit Success"],"api":"wineventlog",` +
				`"event_data":{"NewProcessName":"C:\\x.exe","ProcessID":"0x1"}},"message":"A new process","host":{"name":"collector"},` +
				`"event":{"code":"4688"}}`,
			`{"Provider_Name":"Microsoft-Windows-Security-Auditing","Provider_Guid":"{54849625-5478-4994-a5ba-3e3b0328c30d}",` +
				`"EventID":4688,"Opcode":"Info","Keywords":["Audit Success"],"TimeCreated":"2021-01-01T00:00:00Z","EventRecordID":55,` +
				`"ProcessID":4,"ThreadID":8,"Channel":"Security","Computer":"PC","UserID":"S-1-5-18",` +
				`"winlog.user.name":"SYSTEM","winlog.api":"wineventlog","NewProcessName":"C:\\x.exe","EventData_ProcessID":"0x1",` +
				`"Message":"A new process","host.name":"collector","event.code":"4688"}`,
		},
		{
			"winlogbeat 7 fallbacks",
			`{"event":{"code":"4624"},"host":{"name":"H"},"winlog":{"channel":"Security","user_data":{"xml_name":"R","A":"1","B":{"C":"2"}}}}`,
			`{"EventID":4624,"Channel":"Security","Computer":"H","A":"1","C":"2"}`,
		},
		{
			"winlogbeat 6",
			`{"@timestamp":"2019-05-18T20:37:12.451Z","message":"m","user_data":{"ListenerName":"RDP-Tcp","xml_name":"EventXML"},` +
				`"log_name":"L","event_id":20523,"thread_id":7808,"process_id":7248,"source_name":"P","record_number":"1",` +
				`"user":{"identifier":"S-1-5-20","name":"NETWORK SERVICE"},"level":"Information","computer_name":"HR001",` +
				`"event_data":{"ProcessID":"3720"},"beat":{"name":"WEC"},"host":{"name":"WEC"}}`,
			`{"Provider_Name":"P","EventID":20523,"Level":"Information","TimeCreated":"2019-05-18T20:37:12.451Z","EventRecordID":1,` +
				`"ProcessID":7248,"ThreadID":7808,"Channel":"L","Computer":"HR001","UserID":"S-1-5-20","Message":"m",` +
				`"ListenerName":"RDP-Tcp","user.name":"NETWORK SERVICE","EventData_ProcessID":"3720","beat.name":"WEC","host.name":"WEC"}`,
		},
		{
			"lower-case keys of other JSON are not Winlogbeat's",
			`{"version":"TLSv12","level":"x","message":"m","event_id":3}`,
			`{"version":"TLSv12","level":"x","message":"m","event_id":3}`,
		},
		{
			"nxlog",
			`{"EventTime":"2020-09-22 04:11:16","Hostname":"WS5","Keywords":-9223372036854775808,"EventID":5156,` +
				`"SourceName":"Microsoft-Windows-Security-Auditing","ProviderGuid":"{5484}","ProcessID":"3720","Task":"12810",` +
				`"ExecutionProcessID":4,"ThreadID":4048,"RecordNumber":3361979,"@timestamp":"2020-09-22T08:11:18.316Z",` +
				`"tags":["mordorDataset"]}`,
			`{"EventTime":"2020-09-22 04:11:16","Computer":"WS5","Keywords":"0x8000000000000000","EventID":5156,` +
				`"Provider_Name":"Microsoft-Windows-Security-Auditing","Provider_Guid":"{5484}","EventData_ProcessID":"3720","Task":12810,` +
				`"ProcessID":4,"ThreadID":4048,"EventRecordID":3361979,"TimeCreated":"2020-09-22T08:11:18.316Z","tags":["mordorDataset"]}`,
		},
		{
			"nxlog time with a zone",
			`{"EventTime":"2020-09-22T04:11:16-04:00","@timestamp":"2020-09-22T08:11:18.316Z"}`,
			`{"TimeCreated":"2020-09-22T08:11:16Z","@timestamp":"2020-09-22T08:11:18.316Z"}`,
		},
		{
			"sentinel",
			`{"TimeGenerated":"2022-05-13T08:54:05.21Z","Computer":"WS5","EventSourceName":"Microsoft-Windows-Security-Auditing",` +
				`"Channel":"Security","Level":"0","EventID":5156,"TimeCreated":"not a time"}`,
			`{"TimeCreated":"2022-05-13T08:54:05.21Z","Computer":"WS5","Provider_Name":"Microsoft-Windows-Security-Auditing",` +
				`"Channel":"Security","Level":0,"EventID":5156,"EventData_TimeCreated":"not a time"}`,
		},
		{
			"sentinel event table",
			`{"TimeGenerated":"2021-08-02T13:05:32.77Z","Source":"Microsoft-Windows-Sysmon","EventLog":"Microsoft-Windows-Sysmon/Operational","EventID":18}`,
			`{"TimeCreated":"2021-08-02T13:05:32.77Z","Provider_Name":"Microsoft-Windows-Sysmon","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":18}`,
		},
		{
			"zeek",
			`{"@stream":"conn","ts":1588205199.82437,"id_orig_p":54243,"proto":"udp","missed_bytes":0}`,
			`{"@stream":"conn","ts":1.58820519982437e+09,"id_orig_p":54243,"proto":"udp","missed_bytes":0}`,
		},
		{
			"repeated keys",
			`{"a":1,"b":2,"a":"x","a":[3]}`,
			`{"a":[1,"x",[3]],"b":2}`,
		},
		{
			"evtx_dump",
			`{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{` +
				`"Provider":{"#attributes":{"Name":"Service Control Manager","Guid":"{555908d1-a6d7-4695-8e1e-26931d2012f4}","EventSourceName":"Service Control Manager"}},` +
				`"EventID":{"#attributes":{"Qualifiers":16384},"#text":7036},"Version":0,"Level":4,"Task":0,"Opcode":0,` +
				`"Keywords":"0x8080000000000000","TimeCreated":{"#attributes":{"SystemTime":"2019-03-19T17:14:25.901234Z"}},` +
				`"EventRecordID":2,"Correlation":{"#attributes":{"ActivityID":"{A}","RelatedActivityID":"{B}"}},` +
				`"Execution":{"#attributes":{"ProcessID":620,"ThreadID":700}},"Channel":"System","Computer":"PC",` +
				`"Security":null},"EventData":{"param1":"Windows Update","param2":"running","Binary":"7700750061007500"},` +
				`"RenderingInfo":{"#attributes":{"Culture":"en-US"},"Message":"m","Keywords":{"Keyword":["Classic","X"]}}}}`,
			`{"Provider_Name":"Service Control Manager","Provider_Guid":"{555908d1-a6d7-4695-8e1e-26931d2012f4}",` +
				`"EventSourceName":"Service Control Manager","Qualifiers":16384,"EventID":7036,"Version":0,"Level":4,"Task":0,"Opcode":0,` +
				`"Keywords":"0x8080000000000000","TimeCreated":"2019-03-19T17:14:25.901234Z","EventRecordID":2,"ActivityID":"{A}",` +
				`"RelatedActivityID":"{B}","ProcessID":620,"ThreadID":700,"Channel":"System","Computer":"PC",` +
				`"param1":"Windows Update","param2":"running","Binary":"7700750061007500",` +
				`"RenderingInfo_Culture":"en-US","RenderingInfo_Message":"m","RenderingInfo_Keyword":["Classic","X"]}`,
		},
		{
			"evtx_dump unnamed data",
			`{"Event":{"System":{"EventID":1},"EventData":{"Data":{"#text":["a","b"]}}}}`,
			`{"EventID":1,"Data":["a","b"]}`,
		},
		{
			"evtx_dump one unnamed data",
			`{"Event":{"System":{"EventID":1},"EventData":{"Data":"a"}}}`,
			`{"EventID":1,"Data":"a"}`,
		},
		{
			"evtx_dump data elements",
			`{"Event":{"System":{"EventID":1},"EventData":{"Data":[{"#attributes":{"Name":"X"},"#text":"1"},{"#text":"u1"},"u2",{"#attributes":{"Name":"Y"}}]}}}`,
			`{"EventID":1,"X":"1","Y":null,"Data":["u1","u2"]}`,
		},
		{
			"evtx_dump user data",
			`{"Event":{"System":{"EventID":104,"Channel":"System"},"UserData":{"LogFileCleared":{"#attributes":{"xmlns":"x"},` +
				`"SubjectUserName":"bob","Channel":"Security","Empty":null,"Attr":{"#attributes":{"Kind":"k"}},"Rep":["1","2"]}}}}`,
			`{"EventID":104,"Channel":"System","SubjectUserName":"bob","UserData_Channel":"Security","Empty":null,"Kind":"k","Attr":null,"Rep":["1","2"]}`,
		},
		{
			"evtx_dump null event data",
			`{"Event":{"System":{"EventID":1,"Correlation":null},"EventData":null}}`,
			`{"EventID":1}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in), Options{})
			ev, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if got := string(ev.AppendJSON(nil)); got != tt.want {
				t.Errorf("\ngot  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		head string
		want bool
	}{
		{`{"a":1}`, true},
		{"  \n{\n  \"Event\"", true},
		{"\xef\xbb\xbf{\"a\"", true},
		{`{}`, true},
		{`{`, true},
		{`[{"a":1}]`, true},
		{"[\n  {", true},
		{`[]`, true},
		{string(gz(`{"a":1}` + "\n")), true},
		{string(gz(`{"a":1}` + "\n"))[:20], true},
		{string(gz("type=SYSCALL")), false},
		{"", false},
		{"   ", false},
		{`[1,2]`, false},
		{`{a}`, false},
		{`"x"`, false},
		{"type=SYSCALL msg=audit", false},
		{"#separator \\x09", false},
		{"ElfFile\x00", false},
		{"\x1f\x8b", false},
		{"\x00\x00\x00\x00{\"a\":1}\n", true},
		{"\x00\x00\x00\x00", false},
		{"ta\":\"x\"}\n{\"a\":1}\n", true},
		{"\xff\xfe\x01garbage\x00\x00{\"a\":1}", true},
		{strings.Repeat("[", 3000) + "\n{\"a\":1}\n", true},
		{strings.Repeat("[", 3000) + "\n{\"a\":", false},
		{"ta\":\"x\"}\n{}\n", false},
		{"Dec  6 sshd[1]: ok\nDec  6 app: started\n{\"a\":1}\n", false},
		{"\x7fELF\x02\x01{\"a\":1}", false},
	}
	for _, tt := range tests {
		if got := Sniff([]byte(tt.head)); got != tt.want {
			t.Errorf("Sniff(%q): got %v, want %v", tt.head, got, tt.want)
		}
	}
}

// TestReuse checks the reuse contract from the other side: a Clone stays
// intact while the reader goes on.
func TestReuse(t *testing.T) {
	in := "{\"a\":\"x\\u0041\",\"b\":[1,2],\"c\":\"plain\"}\n{\"a\":\"y\\u0042\",\"b\":[3],\"c\":\"other\"}\n"
	r := NewReader(strings.NewReader(in), Options{})
	ev, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	kept := ev.Clone()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if got, want := string(kept.AppendJSON(nil)), `{"a":"xA","b":[1,2],"c":"plain"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestAllocs checks that reading allocates next to nothing per event.
func TestAllocs(t *testing.T) {
	line := `{"EventTime":"2020-09-22 04:11:16","Hostname":"WS5","Keywords":-9223372036854775808,"EventID":1,` +
		`"SourceName":"Microsoft-Windows-Sysmon","Message":"a\r\nb \u00e9","CommandLine":"\"C:\\x.exe\" -a",` +
		`"ExecutionProcessID":4,"@timestamp":"2020-09-22T08:11:18.316Z","tags":["mordorDataset"],"o":{"p":1}}` + "\n"
	in := strings.Repeat(line, 2000)
	var events int
	allocs := testing.AllocsPerRun(5, func() {
		r := NewReader(strings.NewReader(in), Options{})
		for {
			if _, err := r.Next(); err != nil {
				break
			}
			events++
		}
	})
	if per := allocs / 2000; per > 0.05 {
		t.Errorf("got %.3f allocations per event (%.0f per run), want next to none", per, allocs)
	}
}

// TestScribble checks, in builds with the spoorscribble tag, that the
// strings of an event are overwritten once the reader reuses their bytes:
// an escaped string (in the arena) at the next event, a plain one (in the
// read buffer) when the buffer is refilled.
func TestScribble(t *testing.T) {
	if !event.Scribbling {
		t.Skip("needs -tags spoorscribble")
	}
	first := `{"plain":"hello","escaped":"x\u0041"}` + "\n"
	in := first + strings.Repeat(`{"n":"`+strings.Repeat("y", 100)+`"}`+"\n", 2*initialBuf/100)
	r := NewReader(strings.NewReader(in), Options{})
	ev, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	plain, escaped := ev.Lookup("plain").Str(), ev.Lookup("escaped").Str()
	if plain != "hello" || escaped != "xA" {
		t.Fatalf("got %q %q, want hello xA", plain, escaped)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if escaped == "xA" {
		t.Errorf("escaped string: got %q after the next event, want it scribbled", escaped)
	}
	for {
		if _, err := r.Next(); err != nil {
			break
		}
	}
	if plain == "hello" {
		t.Errorf("plain string: got %q after the buffer was refilled, want it scribbled", plain)
	}
}

func TestIsLines(t *testing.T) {
	for _, c := range []struct {
		head string
		want bool
	}{
		{"{\"a\":1}\n{\"a\":2}", true},
		{"\xef\xbb\xbf  {\"a\":1} \r\n", true},
		{"\x00\x00{\"a\":1}\n", true},
		{"{\"a\":1}", false},             // no newline yet: not known
		{"{\"a\":\n1}\n", false},         // spans lines
		{"[{\"a\":1}]\n", false},         // an array
		{"{\"a\":1} {\"a\":2}\n", false}, // objects one after another
		{"\x1f\x8b\x08", false},
		{"junk\n{\"a\":1}\n", false},
		{"", false},
	} {
		if got := IsLines([]byte(c.head)); got != c.want {
			t.Errorf("IsLines(%q): got %v, want %v", c.head, got, c.want)
		}
	}
}

// TestLineOption: a part of a file read from a line's start numbers its
// lines from Options.Line+1.
func TestLineOption(t *testing.T) {
	r := NewReader(strings.NewReader("{\"a\":1}\nbad\n{\"a\":2}\n"), Options{Source: "x", Line: 41})
	var got []string
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			got = append(got, err.(*event.SkipError).Where)
			continue
		}
		got = append(got, fmt.Sprint(ev.Locator))
	}
	if want := "[42 line 43 44]"; fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
}
