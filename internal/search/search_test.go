package search

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/event"
)

func TestParseIOCs(t *testing.T) {
	in := "\ufeff# from the report\n\n" +
		"D41D8CD98F00B204E9800998ECF8427E\n" + // md5
		"da39a3ee5e6b4b0d3255bfef95601890afd80709\n" + // sha1
		"10.1.2[.]3\n" +
		"fe80::1\n" +
		"evil[.]example.com\n" +
		"update.com\n" +
		"file:update.com\n" +
		"mimikatz.exe\n" +
		`C:\Windows\Temp\x.bin` + "\n" +
		"  IP: 8.8.8.8  \n"
	got, err := ParseIOCs(strings.NewReader(in), "iocs.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []IOC{
		{Hash, "D41D8CD98F00B204E9800998ECF8427E", 3},
		{Hash, "da39a3ee5e6b4b0d3255bfef95601890afd80709", 4},
		{IP, "10.1.2.3", 5},
		{IP, "fe80::1", 6},
		{Domain, "evil.example.com", 7},
		{Domain, "update.com", 8},
		{FileName, "update.com", 9},
		{FileName, "mimikatz.exe", 10},
		{FileName, `C:\Windows\Temp\x.bin`, 11},
		{IP, "8.8.8.8", 12},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d indicators %v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("indicator %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseIOCsErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1.2.3.4\nhello world\n", "iocs.txt:2: bad indicator"},
		{"ip: 300.1.1.1\n", "iocs.txt:1: bad indicator"},
		{"hash: xyz\n", "hexadecimal"},
		{"domain:\n", "empty"},
		{"# only comments\n\n", "no indicators"},
		{strings.Repeat("a", maxIOCLine+10) + "\n", "iocs.txt:1: line longer"},
		{strings.Repeat("1.2.3.4\n", MaxIOCs+1), "more than"},
	} {
		_, err := ParseIOCs(strings.NewReader(tc.in), "iocs.txt")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: got error %v, want one containing %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParseIOCs(f *testing.F) {
	for _, s := range []string{"1.2.3.4\n", "file:a.com\nevil[.]com\n# x\n", "d41d8cd98f00b204e9800998ecf8427e", "ip:", `\\srv\share\a.exe`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		iocs, err := ParseIOCs(strings.NewReader(in), "f")
		if err != nil {
			return
		}
		// Every indicator read compiles into a query.
		if _, err := Compile(Query{IOCs: iocs[:min(len(iocs), 8)]}); err != nil {
			t.Fatalf("indicators %v: %v", iocs, err)
		}
	})
}

// ev builds an event of string fields.
func ev(kv ...string) *event.Event {
	e := &event.Event{}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Add(kv[i], event.StringValue(kv[i+1]))
	}
	return e
}

func TestMatch(t *testing.T) {
	sysmon := ev("Channel", "Microsoft-Windows-Sysmon/Operational", "Image", `C:\Tools\Mimi*Katz.exe`,
		"CommandLine", `vssadmin delete shadows /all`, "DestinationIp", "10.1.2.3",
		"Hashes", "SHA1=AAAA,MD5=D41D8CD98F00B204E9800998ECF8427E", "QueryName", "a.b.evil.com")
	sysmon.Add("EventID", event.IntValue(1))
	for _, tc := range []struct {
		name string
		q    Query
		want bool
		iocs []string
	}{
		{"keyword, case ignored", Query{Keywords: []string{"VSSADMIN"}}, true, nil},
		{"keyword literal star", Query{Keywords: []string{"mimi*katz"}}, true, nil},
		{"star is no wildcard", Query{Keywords: []string{"c:*katz"}}, false, nil},
		{"cased", Query{Keywords: []string{"VSSADMIN"}, Cased: true}, false, nil},
		{"any", Query{Keywords: []string{"nothere", "shadows"}}, true, nil},
		{"all", Query{Keywords: []string{"nothere", "shadows"}, All: true}, false, nil},
		{"field names are no values", Query{Keywords: []string{"CommandLine"}}, false, nil},
		{"regex", Query{Regexes: []string{`delete\s+shadows`}}, true, nil},
		{"regex is cased", Query{Regexes: []string{`DELETE`}}, false, nil},
		{"field term", Query{Fields: []string{"CommandLine|contains=shadows", "EventID=1"}}, true, nil},
		{"field term wildcard", Query{Fields: []string{"Image=*katz.exe"}}, true, nil},
		{"field term fails", Query{Fields: []string{"CommandLine|startswith=delete"}}, false, nil},
		{"cidr", Query{Fields: []string{"DestinationIp|cidr=10.0.0.0/8"}}, true, nil},
		{"iocs", Query{IOCs: []IOC{{Hash, "d41d8cd98f00b204e9800998ecf8427e", 1}, {IP, "10.9.9.9", 2}, {Domain, "evil.com", 3}, {FileName, "mimi*katz.exe", 4}}},
			true, []string{"d41d8cd98f00b204e9800998ecf8427e", "evil.com", "mimi*katz.exe"}},
		{"ioc domain is no suffix of a word", Query{IOCs: []IOC{{Domain, "vil.com", 1}}}, false, nil},
		{"ioc file at the end of a path only", Query{IOCs: []IOC{{FileName, "katz.exe", 1}}}, false, nil},
		{"iocs and a keyword", Query{Keywords: []string{"nothere"}, IOCs: []IOC{{IP, "10.1.2.3", 1}}}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Compile(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			ok, iocs := s.NewMatcher().Match(sysmon)
			if ok != tc.want {
				t.Errorf("match: got %v, want %v", ok, tc.want)
			}
			var vals []string
			for _, c := range iocs {
				vals = append(vals, c.Value)
			}
			if strings.Join(vals, ",") != strings.Join(tc.iocs, ",") {
				t.Errorf("indicators: got %v, want %v", vals, tc.iocs)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		q    Query
		want string
	}{
		{Query{}, "nothing to search for"},
		{Query{Regexes: []string{"(x"}}, "--regex"},
		{Query{Fields: []string{"A|nope=1"}}, `unknown modifier "nope"`},
		{Query{Fields: []string{"A|gt=x"}}, "expects a number"},
		{Query{Fields: []string{"=x"}}, "NAME=VALUE"},
		{Query{Fields: []string{"|contains=x"}}, "NAME=VALUE"},
	} {
		_, err := Compile(tc.q)
		if !errors.Is(err, ErrQuery) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want ErrQuery saying %q", tc.q, err, tc.want)
		}
	}
}

// TestAttribute: a hit names the indicators it holds, by the forms the
// rules match, and no other of the same kind.
func TestAttribute(t *testing.T) {
	iocs := []IOC{
		{Hash, "AAAA1111AAAA1111AAAA1111AAAA1111", 1},
		{Hash, "bbbb2222bbbb2222bbbb2222bbbb2222", 2}, // not in the event
		{IP, "10.0.2.17", 3},
		{IP, "10.0.2.1", 4}, // a prefix of the one held: not held
		{Domain, "Evil.COM.", 5},
		{FileName, `c:\tools\x.exe`, 6},
		{FileName, "y.dll", 7},
		{FileName, "y.dll", 8}, // listed twice: both named
	}
	e := ev("Hashes", "SHA1=0000,MD5=aaaa1111aaaa1111aaaa1111aaaa1111,IMPHASH=1111",
		"IpAddress", "::ffff:10.0.2.17", "QueryName", "cdn.evil.com", "Image", `C:\Tools\X.exe`,
		"ImageLoaded", `C:\Windows\Y.DLL`)
	s, err := Compile(Query{IOCs: iocs})
	if err != nil {
		t.Fatal(err)
	}
	ok, got := s.NewMatcher().Match(e)
	var lines []int
	for _, c := range got {
		lines = append(lines, c.Line)
	}
	if want := []int{1, 3, 5, 6, 7, 8}; !ok || fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("got %v %v, want true %v", ok, lines, want)
	}
	if ok, _ := s.NewMatcher().Match(ev("IpAddress", "10.0.2.170", "QueryName", "notevil.com")); ok {
		t.Errorf("10.0.2.170 and notevil.com: got a hit, want none")
	}
}
