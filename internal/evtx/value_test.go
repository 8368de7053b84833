package evtx

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/spoor-hunt/spoor/internal/event"
)

func TestScalar(t *testing.T) {
	f32 := func(f float32) []byte { return u32v(math.Float32bits(f)) }
	f64 := func(f float64) []byte { return u64v(math.Float64bits(f)) }
	systime := func(y, mo, dow, d, h, mi, s, ms uint16) []byte {
		var b []byte
		for _, v := range []uint16{y, mo, dow, d, h, mi, s, ms} {
			b = binary.LittleEndian.AppendUint16(b, v)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		typ  byte
		data []byte
		kind event.Kind
		text string
	}{
		{"null", typeNull, nil, event.Null, ""},
		{"string", typeString, strv("héllo wörld ☺\x00"), event.String, "héllo wörld ☺"},
		{"string trailing space", typeString, strv("cmd.exe  "), event.String, "cmd.exe"},
		{"string surrogate pair", typeString, strv("a😀b"), event.String, "a😀b"},
		{"string unpaired surrogate", typeString, u16v(0xd800), event.String, "\ufffd"},
		{"string odd length", typeString, append(strv("ab"), 'c'), event.String, "ab"},
		{"ansi", typeAnsi, []byte("abc\xe9\x00"), event.String, "abcé"},
		{"int8", typeInt8, []byte{0xff}, event.Int, "-1"},
		{"uint8", typeUint8, []byte{0xff}, event.Uint, "255"},
		{"int16", typeInt16, u16v(0x8000), event.Int, "-32768"},
		{"uint16", typeUint16, u16v(4624), event.Uint, "4624"},
		{"int32", typeInt32, u32v(0xfffffffe), event.Int, "-2"},
		{"uint32", typeUint32, u32v(4294967295), event.Uint, "4294967295"},
		{"int64", typeInt64, u64v(1 << 63), event.Int, "-9223372036854775808"},
		{"uint64", typeUint64, u64v(1 << 63), event.Uint, "9223372036854775808"},
		{"short uint32", typeUint32, []byte{1}, event.Uint, "1"},
		{"float", typeReal32, f32(1.5), event.Float, "1.5"},
		{"double", typeReal64, f64(-0.25), event.Float, "-0.25"},
		{"bool true", typeBool, u32v(1), event.Bool, "true"},
		{"bool false", typeBool, u32v(0), event.Bool, "false"},
		{"binary", typeBinary, []byte{0x00, 0xab, 0x1f}, event.String, "00AB1F"},
		{"binary empty", typeBinary, nil, event.String, ""},
		{"guid", typeGUID, []byte{0x5f, 0x38, 0x70, 0x57, 0x2a, 0xc2, 0xe0, 0x43, 0xbf, 0x4c, 0x06, 0xf5, 0x69, 0x8f, 0xfb, 0xd9},
			event.String, "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"},
		{"size_t 64", typeSizeT, u64v(0x7ff6a0b0), event.String, "0x7ff6a0b0"},
		{"size_t 32", typeSizeT, u32v(0x10), event.String, "0x10"},
		{"filetime", typeFileTime, u64v(132417126000000000), event.Time, "2020-08-12T13:30:00Z"},
		{"filetime fraction", typeFileTime, u64v(132417126001234567), event.Time, "2020-08-12T13:30:00.1234567Z"},
		{"filetime epoch", typeFileTime, u64v(0), event.Time, "1601-01-01T00:00:00Z"},
		{"systemtime", typeSysTime, systime(2019, 3, 0, 17, 23, 59, 58, 123), event.Time, "2019-03-17T23:59:58.123Z"},
		{"sid system", typeSID, []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}, event.String, "S-1-5-18"},
		{"sid domain", typeSID, append([]byte{1, 5, 0, 0, 0, 0, 0, 5}, append(append(append(append(u32v(21), u32v(3463664321)...), u32v(2923530833)...), u32v(3546627382)...), u32v(1000)...)...),
			event.String, "S-1-5-21-3463664321-2923530833-3546627382-1000"},
		{"sid short", typeSID, []byte{1, 2, 0, 0}, event.String, "01020000"},
		{"hex32", typeHexInt32, u32v(0x3e7), event.String, "0x3e7"},
		{"hex64", typeHexInt64, u64v(0x8000000000000000), event.String, "0x8000000000000000"},
		{"unknown type", 0x1f, []byte{1, 2}, event.String, "0102"},
	} {
		var a arena
		v := scalar(&a, tc.typ, tc.data)
		if v.Kind() != tc.kind || v.Text() != tc.text {
			t.Errorf("%s: got %s %q, want %s %q", tc.name, v.Kind(), v.Text(), tc.kind, tc.text)
		}
	}
}

func TestArray(t *testing.T) {
	guid := []byte{0x5f, 0x38, 0x70, 0x57, 0x2a, 0xc2, 0xe0, 0x43, 0xbf, 0x4c, 0x06, 0xf5, 0x69, 0x8f, 0xfb, 0xd9}
	sid := []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}
	for _, tc := range []struct {
		name string
		typ  byte
		data []byte
		want []string
	}{
		{"strings", typeString, strv("one\x00two\x00\x00three"), []string{"one", "two", "", "three"}},
		{"ansi", typeAnsi, []byte("a\x00bc\x00"), []string{"a", "bc"}},
		{"int8", typeInt8, []byte{1, 0xff}, []string{"1", "-1"}},
		{"uint16", typeUint16, append(u16v(1), u16v(2)...), []string{"1", "2"}},
		{"uint32 ragged", typeUint32, append(u32v(7), 1), []string{"7"}},
		{"uint64", typeUint64, u64v(9), []string{"9"}},
		{"float", typeReal32, u32v(math.Float32bits(2)), []string{"2"}},
		{"bool", typeBool, append(u32v(1), u32v(0)...), []string{"true", "false"}},
		{"guid", typeGUID, append(guid, guid...), []string{"{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"}},
		{"size_t", typeSizeT, u64v(255), []string{"0xff"}},
		{"filetime", typeFileTime, u64v(132417126000000000), []string{"2020-08-12T13:30:00Z"}},
		{"sid", typeSID, append(sid, sid...), []string{"S-1-5-18", "S-1-5-18"}},
		{"hex32", typeHexInt32, append(u32v(1), u32v(0xff)...), []string{"0x1", "0xff"}},
		{"hex64", typeHexInt64, u64v(0xabc), []string{"0xabc"}},
		{"empty", typeUint32, nil, nil},
	} {
		var a arena
		var vals []event.Value
		v := array(&a, &vals, tc.typ|typeArrayFlag, tc.data)
		if tc.want == nil {
			if !v.IsNull() {
				t.Errorf("%s: got %s, want null", tc.name, v.Kind())
			}
			continue
		}
		var got []string
		for _, e := range v.List() {
			got = append(got, e.Text())
		}
		if v.Kind() != event.List || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: got %s %q, want list %q", tc.name, v.Kind(), got, tc.want)
		}
	}
}

func TestAppendUTF16(t *testing.T) {
	for _, s := range []string{
		"",
		"short",
		"exactly8",
		"sixteen chars!!!",
		"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
		"ascii then ünïcode after the first block",
		"12345678é12345678",
		"1234567é",
		"日本語のテキスト、それなりに長い",
		"mixed 😀 emoji in a longer ASCII run of text",
	} {
		var a arena
		if got := a.utf16(strv(s)); got != s {
			t.Errorf("got %q, want %q", got, s)
		}
		v := a.utf16Value(strv(s))
		ascii := utf8.ValidString(s) && len([]rune(s)) == len(s)
		if v.Str() != s || v.KnownASCII() != ascii {
			t.Errorf("utf16Value(%q) = %q, known ASCII %v; want %v", s, v.Str(), v.KnownASCII(), ascii)
		}
	}
	// An unpaired surrogate becomes U+FFFD: never ASCII.
	var a arena
	if v := a.utf16Value([]byte{'a', 0, 0x00, 0xd8, 'b', 0}); v.KnownASCII() || v.Str() != "a\uFFFDb" {
		t.Errorf("unpaired surrogate: %q, known ASCII %v", v.Str(), v.KnownASCII())
	}
}

func TestEntity(t *testing.T) {
	for name, want := range map[string]string{
		"amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u00a0", "foo": "&foo;",
	} {
		if got := entity(name); got != want {
			t.Errorf("entity(%q): got %q, want %q", name, got, want)
		}
	}
}

func TestFiletime(t *testing.T) {
	for _, tc := range []struct {
		ft   uint64
		want time.Time
	}{
		{116444736000000000, time.Unix(0, 0)},
		{116444736000000001, time.Unix(0, 100)},
		{132417126000000000, time.Date(2020, 8, 12, 13, 30, 0, 0, time.UTC)},
		{math.MaxUint64, time.Date(60056, 5, 28, 5, 36, 10, 955161500, time.UTC)},
	} {
		if got := filetimeValue(tc.ft).Time(); !got.Equal(tc.want) {
			t.Errorf("filetime %d: got %v, want %v", tc.ft, got, tc.want)
		}
	}
}
