package detect

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// The cases follow the specification's text and examples
// (sigma-rules-specification.md, sigma-appendix-modifiers.md).

func TestWildcards(t *testing.T) {
	// "progA.exe or progB.exe or ..." will be "prog?.exe".
	checkRule(t, `
    sel:
        Image: 'prog?.exe'
    condition: sel
`, Options{},
		yes("Image", "progA.exe"),
		yes("Image", "PROGB.EXE"),
		yes("Image", "progé.exe"), // ? is one character, not one byte
		no("Image", "prog.exe"),
		no("Image", "progAB.exe"),
		no("Image", "xprogA.exe"),
	)
	checkRule(t, `
    sel:
        Image: 'antivirus_V*.exe'
    condition: sel
`, Options{},
		yes("Image", "antivirus_V1.exe"),
		yes("Image", "antivirus_V21.2.1.exe"),
		yes("Image", "antivirus_V.exe"),
		no("Image", "antivirus_V1.exe.bak"),
	)
	checkRule(t, `
    sel:
        Image: '*\sys?em32\\*.exe'
    condition: sel
`, Options{},
		yes("Image", `C:\Windows\System32\cmd.exe`),
		yes("Image", `\system32\.exe`),
		no("Image", `C:\Windows\System32\cmd.dll`),
		no("Image", `C:\Windows\Sys32\cmd.exe`),
	)
	checkRule(t, `
    sel:
        Image: 'a*b*c'
    condition: sel
`, Options{},
		yes("Image", "abc"),
		yes("Image", "axxbyyc"),
		yes("Image", "abcbc"),
		no("Image", "acb"),
		no("Image", "abcx"),
	)
}

func TestEscapes(t *testing.T) {
	tests := []struct {
		value string // as written in single quotes
		match []string
		not   []string
	}{
		// A plain backslash may be single or double.
		{`C:\Windows\`, []string{`c:\windows\`}, []string{`c:\windows\\`}},
		{`C:\\Windows`, []string{`C:\Windows`}, []string{`C:\\Windows`}},
		// An escaped wildcard is a plain character.
		{`a\*b`, []string{`a*b`}, []string{`axb`, `ab`}},
		{`a\?b`, []string{`a?b`}, []string{`axb`}},
		// An escaped backslash before a wildcard: backslash, then wildcard.
		{`a\\*`, []string{`a\`, `a\xyz`}, []string{`a`, `ax`}},
		// Three backslashes: a backslash and a plain star.
		{`a\\\*`, []string{`a\*`}, []string{`a\x`, `a\`}},
		// Four backslashes are two plain backslashes.
		{`a\\\\b`, []string{`a\\b`}, []string{`a\b`}},
	}
	for _, tc := range tests {
		var cases []matchCase
		for _, m := range tc.match {
			cases = append(cases, yes("F", m))
		}
		for _, m := range tc.not {
			cases = append(cases, no("F", m))
		}
		checkRule(t, "    sel:\n        F: '"+tc.value+"'\n    condition: sel\n", Options{}, cases...)
	}
}

func TestCaseInsensitiveAndCased(t *testing.T) {
	checkRule(t, `
    sel:
        F: 'PowerShell'
    condition: sel
`, Options{},
		yes("F", "powershell"), yes("F", "POWERSHELL"), yes("F", "PowerShell"),
		yes("F", "ÄPFEL"[:0]+"powershell"),
		no("F", "powershell.exe"),
	)
	checkRule(t, `
    sel:
        F: 'ÄPFEL'
    condition: sel
`, Options{}, yes("F", "äpfel"), no("F", "apfel"))
	checkRule(t, `
    sel:
        F|cased: 'PowerShell'
    condition: sel
`, Options{}, yes("F", "PowerShell"), no("F", "powershell"), no("F", "POWERSHELL"))
	checkRule(t, `
    sel:
        F|contains|cased: 'Shell'
    condition: sel
`, Options{}, yes("F", "PowerShell.exe"), no("F", "powershell.exe"))
}

func TestGenericModifiers(t *testing.T) {
	checkRule(t, `
    sel:
        F|startswith: 'adm'
    condition: sel
`, Options{}, yes("F", "admin"), yes("F", "ADM"), no("F", "xadmin"))
	checkRule(t, `
    sel:
        F|endswith: '\cmd.exe'
    condition: sel
`, Options{}, yes("F", `C:\x\CMD.exe`), no("F", `C:\x\cmd.exe.bak`), no("F", `xcmd.exe`))
	checkRule(t, `
    sel:
        F|contains: 'mimi'
    condition: sel
`, Options{}, yes("F", "xxMIMIxx"), yes("F", "mimi"), no("F", "mim"))
	// contains keeps wildcards inside the value.
	checkRule(t, `
    sel:
        F|contains: 'a?c'
    condition: sel
`, Options{}, yes("F", "xxabcxx"), no("F", "xxacxx"))
	// all: every value, in any order.
	checkRule(t, `
    sel:
        CommandLine|contains|all:
            - ' -nop '
            - ' -enc '
    condition: sel
`, Options{},
		yes("CommandLine", "powershell -enc AAAA -nop x"),
		no("CommandLine", "powershell -enc AAAA"),
	)
	// Value lists are ORed.
	checkRule(t, `
    sel:
        F:
            - a
            - b
    condition: sel
`, Options{}, yes("F", "a"), yes("F", "B"), no("F", "c"))
	// neq: different from all the values; an absent field is not different.
	checkRule(t, `
    sel:
        F|neq:
            - a
            - b
    condition: sel
`, Options{}, yes("F", "c"), no("F", "A"), no("F", "b"), no("G", "c"))
	checkRule(t, `
    sel:
        F|neq: 5
    condition: sel
`, Options{}, yes("F", 4), no("F", 5), no("F", "5"), yes("F", "x"))
}

func TestExistsNullEmpty(t *testing.T) {
	checkRule(t, `
    selection:
        EventID: 4738
        PasswordLastSet|exists: true
    condition: selection
`, Options{},
		yes("EventID", 4738, "PasswordLastSet", "x"),
		yes("EventID", 4738, "PasswordLastSet", ""),  // presence only
		yes("EventID", 4738, "PasswordLastSet", nil), // even Null
		no("EventID", 4738),
	)
	checkRule(t, `
    selection:
        F|exists: false
    condition: selection
`, Options{}, yes("G", "x"), no("F", ""))
	// The specification's example: not null is a negated selection.
	checkRule(t, `
    selection:
        EventID: 4738
    filter:
        PasswordLastSet: null
    condition: selection and not filter
`, Options{},
		yes("EventID", 4738, "PasswordLastSet", "2020-01-01"),
		no("EventID", 4738),
		no("EventID", 4738, "PasswordLastSet", nil),
		no("EventID", 4738, "PasswordLastSet", ""),
	)
	checkRule(t, `
    selection:
        F: null
    condition: selection
`, Options{}, yes("G", "x"), yes("F", nil), yes("F", ""), yes("F", []event.Value{}), no("F", "x"), no("F", 0))
	// The empty value matches a present, empty field only.
	checkRule(t, `
    selection:
        F: ''
    condition: selection
`, Options{}, yes("F", ""), yes("F", nil), no("G", ""), no("F", " "))
	// The specification's valid example: 1 of selection_empty*.
	checkRule(t, `
    selection_main:
        FieldA: 'something'
    selection_empty1:
        FieldB: ''
    selection_empty2:
        FieldB: null
    condition: selection_main and 1 of selection_empty*
`, Options{},
		yes("FieldA", "something", "FieldB", ""),
		yes("FieldA", "something"),
		no("FieldA", "something", "FieldB", "x"),
		no("FieldB", ""),
	)
}

func TestWindash(t *testing.T) {
	checkRule(t, `
    sel:
        CommandLine|windash|contains:
            - ' -s '
            - ' -exec '
    condition: sel
`, Options{},
		yes("CommandLine", "psexec -s cmd"),
		yes("CommandLine", "psexec /s cmd"),
		yes("CommandLine", "psexec \u2013s cmd"),
		yes("CommandLine", "psexec \u2014exec cmd"),
		yes("CommandLine", "psexec \u2015exec cmd"),
		no("CommandLine", "psexec +s cmd"),
		no("CommandLine", "psexec s cmd"),
	)
	// Only dashes that lead a flag vary; the order of modifiers does not
	// matter; every flag varies on its own.
	checkRule(t, `
    sel:
        CommandLine|contains|windash: 'x-y -a /b'
    condition: sel
`, Options{},
		yes("CommandLine", "x-y -a /b"),
		yes("CommandLine", "x-y /a -b"),
		yes("CommandLine", "x-y \u2013a \u2014b"),
		no("CommandLine", "x/y -a -b"),
	)
	got, err := windash(parseString("--foo -bar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 25 {
		t.Errorf("windash of --foo -bar: got %d values, want 25 (two flags)", len(got))
	}
}

func TestRe(t *testing.T) {
	checkRule(t, `
    sel:
        F|re: 'Power[sS]hell\.exe$'
    condition: sel
`, Options{},
		yes("F", `C:\PowerShell.exe`), yes("F", "Powershell.exe"),
		no("F", "powershell.exe"), // case-sensitive by default
		no("F", "PowerShell.exe.txt"),
	)
	checkRule(t, `
    sel:
        F|re|i: 'power[s]hell'
    condition: sel
`, Options{}, yes("F", "POWERSHELL"), no("F", "power shell"))
	checkRule(t, `
    sel:
        F|re: '^b$'
    condition: sel
`, Options{}, yes("F", "b"), no("F", "a\nb\nc"))
	checkRule(t, `
    sel:
        F|re|m: '^b$'
    condition: sel
`, Options{}, yes("F", "a\nb\nc"), no("F", "a\nbb\nc"))
	checkRule(t, `
    sel:
        F|re: 'a.c'
    condition: sel
`, Options{}, yes("F", "abc"), no("F", "a\nc"))
	checkRule(t, `
    sel:
        F|re|s: 'a.c'
    condition: sel
`, Options{}, yes("F", "a\nc"))
	checkRule(t, `
    sel:
        F|re|i|m|s: '^X.Y$'
    condition: sel
`, Options{}, yes("F", "q\nx\ny\nq"), no("F", "x\nzy"))
	// Quantifiers, classes, alternation and groups.
	checkRule(t, `
    sel:
        F|re: '(ab|cd){2,3}[^0-9]+x?$'
    condition: sel
`, Options{}, yes("F", "abcdZ"), yes("F", "--cdcdab-x"), no("F", "ab9"), no("F", "abZ"))
}

func TestRequiredLiteral(t *testing.T) {
	tests := []struct{ re, want string }{
		{`Power[sS]hell\.exe$`, `hell.exe`},
		{`(?i)mimikatz`, `mimikatz`},
		{`abc|def`, ``},
		{`a(bcd)+e`, `bcd`},
		{`x*`, ``},
		{`(foo)?bar`, `bar`},
	}
	for _, tc := range tests {
		re, err := compileRe(tc.re, false, false, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := requiredLiteral(re); got != tc.want {
			t.Errorf("requiredLiteral(%q): got %q, want %q", tc.re, got, tc.want)
		}
	}
}

func TestBase64(t *testing.T) {
	checkRule(t, `
    sel:
        F|base64: 'http://'
    condition: sel
`, Options{},
		yes("F", "aHR0cDovLw=="),
		no("F", "xaHR0cDovLw=="),
	)
	checkRule(t, `
    sel:
        F|base64|contains: 'http://'
    condition: sel
`, Options{}, yes("F", "xxaHR0cDovLw==xx"))
	// The three offsets of /bin/bash, as the Sigma documentation lists them.
	got := base64Offsets("/bin/bash")
	want := []string{"L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"}
	if len(got) != len(want) {
		t.Fatalf("base64Offsets: got %d values, want %d", len(got), len(want))
	}
	for k := range want {
		if got[k].plain() != want[k] {
			t.Errorf("base64Offsets(/bin/bash)[%d]: got %q, want %q", k, got[k].plain(), want[k])
		}
	}
	var cases []matchCase
	for _, prefix := range []string{"", "a", "ab", "abc"} {
		enc := base64.StdEncoding.EncodeToString([]byte(prefix + "/bin/bash -c id"))
		cases = append(cases, yes("F", enc))
	}
	cases = append(cases, no("F", base64.StdEncoding.EncodeToString([]byte("/bin/sh -c id"))))
	checkRule(t, `
    sel:
        F|base64offset|contains: '/bin/bash'
    condition: sel
`, Options{}, cases...)
}

func TestUTF16(t *testing.T) {
	enc := func(s string, le bool, bom bool) string {
		var b []byte
		if bom {
			b = append(b, 0xff, 0xfe)
		}
		for _, r := range s {
			if le {
				b = append(b, byte(r), 0)
			} else {
				b = append(b, 0, byte(r))
			}
		}
		return string(b)
	}
	// The appendix's examples: cmd as 63 00 6d 00 64 00, 00 63 00 6d 00 64,
	// FF FE 63 00 6d 00 64 00.
	for _, tc := range []struct {
		mod, want string
	}{
		{"utf16le", "c\x00m\x00d\x00"},
		{"wide", "c\x00m\x00d\x00"},
		{"utf16be", "\x00c\x00m\x00d"},
		{"utf16", "\xff\xfec\x00m\x00d\x00"},
	} {
		got, err := encodeUTF16(parseString("cmd"), sigma.Modifier(tc.mod))
		if err != nil || len(got) != 1 || got[0].plain() != tc.want {
			t.Errorf("%s of cmd: got %q, %v; want %q", tc.mod, got, err, tc.want)
		}
		checkRule(t, "    sel:\n        F|"+tc.mod+"|base64: 'cmd'\n    condition: sel\n", Options{},
			yes("F", base64.StdEncoding.EncodeToString([]byte(tc.want))), no("F", "Y21k"))
	}
	// Chained before base64offset, as PowerShell -EncodedCommand is found.
	var cases []matchCase
	for _, prefix := range []string{"", "x", "xy"} {
		cases = append(cases, yes("CommandLine", "powershell -enc "+
			base64.StdEncoding.EncodeToString([]byte(enc(prefix+"IEX (New-Object Net.WebClient)", true, false)))))
	}
	cases = append(cases, no("CommandLine", "powershell -enc "+
		base64.StdEncoding.EncodeToString([]byte("IEX (New-Object Net.WebClient)"))))
	checkRule(t, `
    sel:
        CommandLine|utf16le|base64offset|contains: 'New-Object Net.WebClient'
    condition: sel
`, Options{}, cases...)
	checkRule(t, `
    sel:
        CommandLine|wide|base64|contains: 'IEX'
    condition: sel
`, Options{}, yes("CommandLine", "-e "+base64.StdEncoding.EncodeToString([]byte(enc("IEX", true, false)))))
}

func TestNumeric(t *testing.T) {
	for _, tc := range []struct {
		mod     string
		yes, no []any
	}{
		{"lt", []any{4, "4", 4.5, "0x4"}, []any{5, 6, "x", nil, ""}},
		{"lte", []any{5, "5", uint64(0)}, []any{6, 5.01}},
		{"gt", []any{6, "6", 1e9}, []any{5, -1, "five"}},
		{"gte", []any{5, "0x5"}, []any{4}},
	} {
		var cases []matchCase
		for _, v := range tc.yes {
			cases = append(cases, yes("F", v))
		}
		for _, v := range tc.no {
			cases = append(cases, no("F", v))
		}
		checkRule(t, "    sel:\n        F|"+tc.mod+": 5\n    condition: sel\n", Options{}, cases...)
	}
	// A number equals by value and by text.
	checkRule(t, `
    sel:
        EventID: 4688
    condition: sel
`, Options{},
		yes("EventID", uint64(4688)), yes("EventID", 4688), yes("EventID", "4688"), yes("EventID", 4688.0),
		no("EventID", "04688"), no("EventID", 4689), no("EventID", "4688 "),
	)
	// A quoted number is a string: compared by text.
	checkRule(t, `
    sel:
        EventID: '4688'
    condition: sel
`, Options{}, yes("EventID", uint64(4688)), yes("EventID", "4688"), no("EventID", 46880))
	checkRule(t, `
    sel:
        Enabled: true
    condition: sel
`, Options{}, yes("Enabled", true), yes("Enabled", "True"), no("Enabled", false))
}

func TestTimeModifiers(t *testing.T) {
	ts := time.Date(2024, 3, 7, 22, 45, 10, 0, time.UTC) // a Thursday in ISO week 10
	for _, tc := range []struct {
		mod  string
		want int
	}{
		{"minute", 45}, {"hour", 22}, {"day", 7}, {"week", 10}, {"month", 3}, {"year", 2024},
	} {
		checkRule(t, "    sel:\n        T|"+tc.mod+": "+itoa(tc.want)+"\n    condition: sel\n", Options{},
			yes("T", ts),
			yes("T", "2024-03-07T22:45:10.123Z"),
			yes("T", "2024-03-07 22:45:10.123"),
			no("T", ts.AddDate(-1, -1, -1).Add(-61*time.Minute)),
			no("T", "not a date"),
			no("U", ts),
		)
	}
	// Chained with a comparison: out of office hours.
	checkRule(t, `
    sel:
        T|hour|gte: 20
    condition: sel
`, Options{}, yes("T", ts), no("T", ts.Add(-3*time.Hour)))
	checkRule(t, `
    sel:
        T|year|neq: 2024
    condition: sel
`, Options{}, yes("T", "2023-01-01"), no("T", ts))
}

func itoa(n int) string {
	return string(appendInt(nil, n))
}

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

func TestCIDR(t *testing.T) {
	checkRule(t, `
    sel:
        DestinationIp|cidr:
            - 10.0.0.0/8
            - 192.168.1.0/24
            - fe80::/10
            - 127.0.0.1/32
    condition: sel
`, Options{},
		yes("DestinationIp", "10.1.2.3"),
		yes("DestinationIp", "192.168.1.255"),
		yes("DestinationIp", "FE80::1"),
		yes("DestinationIp", "fe80::1%eth0"),
		yes("DestinationIp", "::ffff:10.0.0.1"),
		yes("DestinationIp", "127.0.0.1"),
		no("DestinationIp", "11.0.0.1"),
		no("DestinationIp", "192.168.2.1"),
		no("DestinationIp", "2001:db8::1"),
		no("DestinationIp", "127.0.0.2"),
		no("DestinationIp", "not an ip"),
		no("DestinationIp", ""),
	)
}

func TestExpand(t *testing.T) {
	opts := Options{Placeholders: map[string][]string{
		"Administrators": {"adm_*", "root"},
		"Servers":        {"srv*"},
	}}
	checkRule(t, `
    sel:
        User|expand: '%Administrators%'
    condition: sel
`, opts, yes("User", "adm_bob"), yes("User", "ROOT"), no("User", "bob"))
	checkRule(t, `
    sel:
        Computer|expand: 'corp\\%Servers%.example'
    condition: sel
`, opts, yes("Computer", `corp\srv01.example`), no("Computer", `corp\ws01.example`))
	// \% is a plain percent; without expand a placeholder is literal.
	checkRule(t, `
    sel:
        F|expand: '\%plain%Servers%'
    condition: sel
`, opts, yes("F", "%plainsrv1"), no("F", "%plain%Servers%"))
	checkRule(t, `
    sel:
        F: '%Servers%'
    condition: sel
`, opts, yes("F", "%servers%"), no("F", "srv1"))
	// Under all, each value's expansions are ORed.
	checkRule(t, `
    sel:
        F|expand|contains|all:
            - '%Administrators%'
            - 'x'
    condition: sel
`, opts, yes("F", "root x"), yes("F", "adm_1x"), no("F", "root"), no("F", "x"))
}

func TestFieldref(t *testing.T) {
	checkRule(t, `
    sel:
        TargetUserName|fieldref: SubjectUserName
    condition: sel
`, Options{},
		yes("TargetUserName", "Bob", "SubjectUserName", "bob"),
		no("TargetUserName", "Bob", "SubjectUserName", "alice"),
		no("TargetUserName", "Bob"),
	)
	checkRule(t, `
    sel:
        TargetUserName|fieldref|cased: SubjectUserName
    condition: sel
`, Options{}, yes("TargetUserName", "Bob", "SubjectUserName", "Bob"), no("TargetUserName", "Bob", "SubjectUserName", "bob"))
	checkRule(t, `
    sel:
        Image|fieldref|startswith: ParentImage
    condition: sel
`, Options{}, yes("Image", `C:\a\b.exe`, "ParentImage", `C:\A`), no("Image", `C:\a\b.exe`, "ParentImage", `D:\`))
	checkRule(t, `
    sel:
        Image|fieldref|endswith: Name
    condition: sel
`, Options{}, yes("Image", `C:\a\b.exe`, "Name", `B.exe`), no("Image", `C:\a\b.exe`, "Name", `c.exe`))
	checkRule(t, `
    sel:
        CommandLine|fieldref|contains: Image
    condition: sel
`, Options{}, yes("CommandLine", `"c:\x.exe" -a`, "Image", `C:\x.exe`), no("CommandLine", `y.exe`, "Image", `C:\x.exe`))
	checkRule(t, `
    sel:
        TargetUserName|fieldref|neq: SubjectUserName
    condition: sel
`, Options{},
		yes("TargetUserName", "bob", "SubjectUserName", "alice"),
		no("TargetUserName", "bob", "SubjectUserName", "BOB"),
		no("TargetUserName", "bob"),
	)
}

func TestListValues(t *testing.T) {
	list := []event.Value{event.StringValue("first"), event.StringValue("second.exe"), event.UintValue(7)}
	checkRule(t, `
    sel:
        Data|endswith: '.exe'
    condition: sel
`, Options{}, yes("Data", list), no("Data", list[:1]))
	checkRule(t, `
    sel:
        Data: 7
    condition: sel
`, Options{}, yes("Data", list), no("Data", list[:2]))
	checkRule(t, `
    sel:
        Data|neq: first
    condition: sel
`, Options{}, no("Data", list), yes("Data", list[1:]))
	checkRule(t, `
    keywords:
        - 'second'
    condition: keywords
`, Options{}, yes("Data", list), no("Data", list[:1]))
}

func TestKeywords(t *testing.T) {
	// Plain keywords are ORed and match inside any field's text.
	checkRule(t, `
    mimikatz_keywords:
        - 'event::clear'
        - 'event::drop'
    condition: mimikatz_keywords
`, Options{},
		yes("CommandLine", "mimikatz.exe EVENT::Clear exit"),
		yes("A", "x", "B", "privilege::debug event::drop"),
		no("CommandLine", "event::"),
	)
	// '|all' makes them ANDed, each in any field.
	checkRule(t, `
    keywords_cmdlet:
        '|all':
            - 'OabVirtualDirectory'
            - ' -ExternalUrl '
    condition: keywords_cmdlet
`, Options{},
		yes("Payload", "Set-OabVirtualDirectory -ExternalUrl 'http://x'"),
		yes("A", "Set-OabVirtualDirectory", "B", "x -ExternalUrl y"),
		no("Payload", "Set-OabVirtualDirectory -InternalUrl 'http://x'"),
	)
	// Wildcards inside keywords; numbers are text; field names are not
	// searched.
	checkRule(t, `
    keywords:
        - 'evil*.exe'
        - 4711
    condition: keywords
`, Options{},
		yes("F", "run EVIL123.exe now"),
		yes("F", uint64(47110)),
		no("evil.exe", "x"),
	)
}
