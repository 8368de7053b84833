package event

import (
	"encoding/json"
	"math"
	"testing"
	"time"
	"unicode/utf8"
)

func TestValueText(t *testing.T) {
	ts := time.Date(2022, 3, 1, 14, 2, 3, 123456700, time.UTC)
	tests := []struct {
		name string
		v    Value
		text string
		json string
	}{
		{"null", Value{}, "", "null"},
		{"string", StringValue(`C:\a "b"`), `C:\a "b"`, `"C:\\a \"b\""`},
		{"int", IntValue(-42), "-42", "-42"},
		{"uint", UintValue(math.MaxUint64), "18446744073709551615", "18446744073709551615"},
		{"float", FloatValue(1.5), "1.5", "1.5"},
		{"nan", FloatValue(math.NaN()), "NaN", `"NaN"`},
		{"bool", BoolValue(true), "true", "true"},
		{"time", TimeValue(ts), "2022-03-01T14:02:03.1234567Z", `"2022-03-01T14:02:03.1234567Z"`},
		{"list", ListValue([]Value{StringValue("a"), UintValue(2)}), "a, 2", `["a",2]`},
		{"control", StringValue("a\x01\n\t"), "a\x01\n\t", `"a\u0001\n\t"`},
		{"invalid utf8", StringValue("a\xffb"), "a\xffb", "\"a\ufffdb\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.v.Text(); got != tt.text {
				t.Errorf("Text() = %q, want %q", got, tt.text)
			}
			got := string(tt.v.AppendJSON(nil))
			if got != tt.json {
				t.Errorf("AppendJSON() = %s, want %s", got, tt.json)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("AppendJSON() = %s is not valid JSON", got)
			}
		})
	}
}

func TestAppendJSONStringRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\"back\\slash", "\u2028line\u2029", "é漢字🙂", "\x00\x1f"} {
		var back string
		if err := json.Unmarshal(AppendJSONString(nil, s), &back); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if back != s {
			t.Errorf("round trip of %q gave %q", s, back)
		}
	}
}

func TestValueAccessors(t *testing.T) {
	ts := time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := TimeValue(ts).Time(); !got.Equal(ts) {
		t.Errorf("TimeValue(1601).Time() = %v, want %v", got, ts)
	}
	if sec, ns := UnixValue(5, 7).Unix(); sec != 5 || ns != 7 {
		t.Errorf("UnixValue(5, 7).Unix() = %d, %d, want 5, 7", sec, ns)
	}
	if TimeValue(ts).Equal(TimeValue(ts.Add(1))) {
		t.Error("times 1ns apart compare equal")
	}
	if got := IntValue(-5).Int(); got != -5 {
		t.Errorf("Int() = %d, want -5", got)
	}
	if got := StringValue("x").Int(); got != 0 {
		t.Errorf("String.Int() = %d, want 0", got)
	}
	if !BoolValue(true).Bool() || BoolValue(false).Bool() {
		t.Error("Bool() does not round-trip")
	}
	for _, tt := range []struct {
		v    Value
		want float64
		ok   bool
	}{
		{StringValue("0x10"), 16, true},
		{StringValue("12.5"), 12.5, true},
		{StringValue("abc"), 0, false},
		{UintValue(7), 7, true},
		{BoolValue(true), 0, false},
	} {
		got, ok := tt.v.Number()
		if got != tt.want || ok != tt.ok {
			t.Errorf("%v.Number() = %v, %v, want %v, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCloneSharesNothing(t *testing.T) {
	buf := []byte("reused")
	s := string(buf) // stands in for a string over a reader buffer
	e := &Event{Source: "f.evtx", Locator: 3}
	e.Add("A", StringValue(s))
	e.Add("L", ListValue([]Value{StringValue(s)}))
	c := e.Clone()
	e.Reset()
	if len(e.Fields) != 0 || e.Source != "" {
		t.Fatalf("Reset left %d fields, source %q", len(e.Fields), e.Source)
	}
	if got := c.Lookup("A").Str(); got != "reused" {
		t.Errorf("clone A = %q, want reused", got)
	}
	if got := c.Lookup("L").List()[0].Str(); got != "reused" {
		t.Errorf("clone L[0] = %q, want reused", got)
	}
	if c.Source != "f.evtx" || c.Locator != 3 {
		t.Errorf("clone source %q locator %d, want f.evtx 3", c.Source, c.Locator)
	}
}

func TestKnownASCII(t *testing.T) {
	a := ASCIIStringValue("cmd.exe")
	if !a.KnownASCII() || a.Kind() != String || a.Str() != "cmd.exe" || a.Text() != "cmd.exe" {
		t.Fatalf("ASCIIStringValue: known %v kind %v text %q", a.KnownASCII(), a.Kind(), a.Text())
	}
	if !a.Clone().KnownASCII() {
		t.Error("Clone dropped the ASCII mark")
	}
	for _, v := range []Value{StringValue("cmd.exe"), TimeValue(time.Unix(1, 1)), UintValue(1), {}} {
		if v.KnownASCII() {
			t.Errorf("%v (%v) claims to be known ASCII", v.Text(), v.Kind())
		}
	}
}

func TestEventJSONAndSet(t *testing.T) {
	e := &Event{}
	e.Add(FieldEventID, UintValue(4688))
	e.Add(FieldChannel, StringValue("Security"))
	e.Set(FieldChannel, StringValue("System"))
	e.Set("NewField", BoolValue(false))
	got := string(e.AppendJSON(nil))
	want := `{"EventID":4688,"Channel":"System","NewField":false}`
	if got != want {
		t.Errorf("AppendJSON() = %s, want %s", got, want)
	}
	if _, ok := e.Get("Missing"); ok {
		t.Error("Get(Missing) reported present")
	}
	if !e.Lookup("Missing").IsNull() {
		t.Error("Lookup(Missing) is not Null")
	}
	if !e.Time().IsZero() {
		t.Error("Time() without TimeCreated is not zero")
	}
}

func TestEqual(t *testing.T) {
	a := ListValue([]Value{StringValue("x"), IntValue(1)})
	b := ListValue([]Value{StringValue("x"), IntValue(1)})
	c := ListValue([]Value{StringValue("x"), UintValue(1)})
	if !a.Equal(b) {
		t.Error("equal lists compare unequal")
	}
	if a.Equal(c) {
		t.Error("lists with different kinds compare equal")
	}
}

func BenchmarkEventAppendJSON(b *testing.B) {
	e := &Event{}
	e.Add(FieldEventID, UintValue(1))
	e.Add(FieldTimeCreated, TimeValue(time.Now()))
	e.Add("CommandLine", StringValue(`"C:\Windows\system32\cmd.exe" /c whoami /all`))
	e.Add("Image", StringValue(`C:\Windows\System32\cmd.exe`))
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

func TestPlain8(t *testing.T) {
	// Every byte value in every position: plainWord may only say true when all
	// eight bytes are printable ASCII other than '"' and '\\'.
	base := []byte("abcdefgh")
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			w := append([]byte(nil), base...)
			w[pos] = byte(c)
			want := c >= 0x20 && c < 0x80 && c != '"' && c != '\\'
			if got := plainWord(loadWord(string(w))); got && !want {
				t.Fatalf("plainWord(%q) = true, want false", w)
			}
			if got := plainWord(loadWord(string(w))); !got && want {
				t.Errorf("plainWord(%q) = false for a plain word", w)
			}
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain text longer than eight", "tab\there \"q\" \\ end", "\u2028\u2029", "a\xffb", "é漢字🙂 mixed ascii words"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendJSONString(nil, s)
		if !json.Valid(out) {
			t.Fatalf("AppendJSONString(%q) = %s is not valid JSON", s, out)
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip of %q gave %q", s, back)
		}
	})
}

// TestValueInteger: integers as they are, numbers read from text (decimal,
// hex, a float truncated), anything else 0.
func TestValueInteger(t *testing.T) {
	for _, tt := range []struct {
		v    Value
		want int64
	}{
		{IntValue(-5), -5},
		{UintValue(4624), 4624},
		{StringValue("4688"), 4688},
		{StringValue("0x10"), 16},
		{StringValue("2.9"), 2},
		{StringValue("E0824"), 0},
		{BoolValue(true), 0},
		{Value{}, 0},
	} {
		if got := tt.v.Integer(); got != tt.want {
			t.Errorf("%v.Integer() = %d, want %d", tt.v, got, tt.want)
		}
	}
}
