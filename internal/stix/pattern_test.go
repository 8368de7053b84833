package stix

import (
	"encoding/json"
	"html"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/shared"
)

// specPatterns returns the pattern examples of the STIX 2.1
// specification's text: the fenced blocks of section 9 that are patterns,
// the examples of its tables (the definitions of 9.1, the qualifiers of
// 9.5.1, the operators of 9.6.1; a comparison expression is put in an
// observation's brackets), the quoted expressions of 9.6.4, and the
// "pattern" properties of the JSON examples throughout.
func specPatterns(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(shared.Path(t, "docs", "stix", "stix-v2.1.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "# 9. STIX Patterning")
	end := strings.Index(text, "# 10. STIX Vocabularies")
	if start < 0 || end < start {
		t.Fatal("section 9 not found in the specification")
	}
	sec := text[start:end]
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if p = strings.TrimSpace(p); p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	blocks := strings.Split(sec, "```")
	for i := 1; i < len(blocks); i += 2 {
		b := strings.TrimSpace(blocks[i])
		switch {
		case strings.HasPrefix(b, "[") || strings.HasPrefix(b, "("):
			add(b)
		case strings.HasPrefix(b, `"`):
			// 9.6.4: expressions quoted as JSON strings.
			for _, m := range quotedExprRE.FindAllStringSubmatch(b, -1) {
				add("[" + m[1] + "]")
			}
		}
	}
	for _, m := range codeRE.FindAllStringSubmatch(sec, -1) {
		c := html.UnescapeString(m[1])
		switch {
		case strings.HasPrefix(c, "[") || strings.HasPrefix(c, "("):
			add(c)
		case comparisonRE.MatchString(c):
			add("[" + c + "]")
		}
	}
	for _, m := range regexp.MustCompile(`"pattern": ("(?:[^"\\]|\\.)*")`).FindAllStringSubmatch(text, -1) {
		var s string
		if err := json.Unmarshal([]byte(m[1]), &s); err != nil {
			t.Fatalf("pattern %s: %v", m[1], err)
		}
		add(s)
	}
	return out
}

var (
	codeRE       = regexp.MustCompile(`(?s)<code>(.*?)</code>`)
	quotedExprRE = regexp.MustCompile(`"([a-z0-9-]+:[^"]+)"`)
	// comparisonRE is a comparison expression (section 9.6): an object
	// path, an operator, or EXISTS and a path. A path alone (9.7's
	// examples) or a constant (9.2's) is not one.
	comparisonRE = regexp.MustCompile(`^(EXISTS [a-z0-9-]+:\S+|[a-z0-9-]+:\S+ (NOT )?(=|!=|<|>|<=|>=|IN|LIKE|MATCHES|ISSUBSET|ISSUPERSET) )`)
)

// schematic are the examples that illustrate an operator with
// placeholders (a, b, type-a:property-j) rather than object paths: they
// are not patterns, and must not parse.
var schematic = []string{"[ a ] AND [ b ]", "[ a = 'b' ]", "[type-a:property-j", "[ b ] FOLLOWEDBY [ c ]"}

func TestSpecPatterns(t *testing.T) {
	pats := specPatterns(t)
	if len(pats) < 20 {
		t.Fatalf("got %d pattern examples from the specification, want at least 20", len(pats))
	}
	var compiled, rejected int
	for _, s := range pats {
		p, err := ParsePattern(s)
		isSchematic := false
		for _, x := range schematic {
			isSchematic = isSchematic || strings.HasPrefix(strings.TrimLeft(s, "(["), strings.TrimLeft(x, "(["))
		}
		if isSchematic {
			if err == nil {
				t.Errorf("schematic example parsed: %s", s)
			}
			t.Logf("schematic: %s: %v", s, err)
			continue
		}
		if err != nil {
			t.Errorf("ParsePattern(%s): %v", s, err)
			continue
		}
		if _, err := Compile(p); err != nil {
			rejected++
			t.Logf("rejected: %v", err)
			if !strings.Contains(err.Error(), "spoor's Windows events") {
				t.Errorf("Compile(%s): %v: want a message saying what Windows events do not hold", s, err)
			}
			continue
		}
		compiled++
	}
	// The examples about files, hashes, registry keys, addresses and
	// domains apply to Windows events; those about e-mail, certificates,
	// artifacts, URLs, sizes and PE sections do not.
	for _, s := range []string{
		`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']`,
		`[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\Windows\\System32']`,
		`([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) WITHIN 300 SECONDS`,
		`[windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\CryptoLocker\\Files' OR windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\Microsoft\\CurrentVersion\\Run\\CryptoLocker_0388']`,
		`[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 1800 SECONDS`,
		// The tables' examples (sections 9.1, 9.5.1, 9.6.1).
		`[file:name = 'foo.dll'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'`,
		`([ipv4-addr:value = '198.51.100.5' ] AND [ipv4-addr:value = '198.51.100.10']) WITHIN 300 SECONDS`,
		`([file:hashes.'SHA-256' = '13987239847...'] AND [windows-registry-key:key = 'hkey']) WITHIN 120 SECONDS`,
		`[process:name IN ('proccy', 'proximus', 'badproc')]`,
		`[directory:path LIKE 'C:\\Windows\\%\\foo']`,
		`[directory:path MATCHES '^C:\\\\Windows\\w+$']`,
		`[ipv4-addr:value ISSUBSET '198.51.100.0/24']`,
		`[ipv4-addr:value ISSUPERSET '198.51.100.0/24']`,
		`[EXISTS windows-registry-key:values]`,
	} {
		if !slices.Contains(pats, s) {
			t.Errorf("%s is not among the examples read from the specification", s)
		}
		p, err := ParsePattern(s)
		if err == nil {
			_, err = Compile(p)
		}
		if err != nil {
			t.Errorf("%s: %v, want it compiled", s, err)
		}
	}
	for s, why := range map[string]string{
		`[email-message:sender_ref.value = 'jdoe@example.com' AND email-message:subject = 'Conference Info']`:                             "no email-message objects",
		`[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']`: "no x509-certificate objects",
		`[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]`:                                                              "give no extensions.windows-pebinary-ext.sections[*].entropy of a file",
		`[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']`:                                                  "no url objects",
		`[file:size != 4112]`:                                      "give no size of a file",
		`[user-account:value = 'Peter']`:                           "give no value of a user-account",
		`[artifact:payload_bin = h'7468697320697320612074657374']`: "no artifact objects",
	} {
		if !slices.Contains(pats, s) {
			t.Errorf("%s is not among the examples read from the specification", s)
		}
		p, err := ParsePattern(s)
		if err != nil {
			t.Errorf("ParsePattern(%s): %v", s, err)
			continue
		}
		if _, err := Compile(p); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("Compile(%s): %v, want an error saying %q", s, err, why)
		}
	}
	t.Logf("%d examples: %d compiled for Windows events, %d rejected", len(pats), compiled, rejected)
}

func TestParsePatternErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "want an observation expression"},
		{"[file:name = 'a'", `want "]"`},
		{"[file:name = 'a\\x']", "backslash escapes only"},
		{"[file:name = 'a]", "string not closed"},
		{"[file:name 'a']", "want a comparison operator"},
		{"[file:name = 'a'] WITHIN 0 SECONDS", "positive"},
		{"[file:name = 'a'] REPEATS 2 TIMES REPEATS 3 TIMES", "second REPEATS"},
		{"[file:name = 'a'] START t'2020-01-01T00:00:00Z' STOP t'2019-01-01T00:00:00Z'", "not after START"},
		{"[file:hashes.SHA-256 = 'a']", "quote it"},
		{"[file:size IN (1, 'a')]", "one type"},
		{"[file:magic_number_hex = h'abc']", "even number"},
		{"[file:name LIKE 5]", "string constant"},
		{strings.Repeat("(", 100) + "[file:name = 'a']" + strings.Repeat(")", 100), "nested more than"},
		{"[file:name = 'a'] junk", "unexpected"},
		{"[NOT file:name = 'a']", "want EXISTS after a NOT"},
	} {
		_, err := ParsePattern(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePattern(%q): %v, want an error with %q", tc.in, err, tc.want)
		}
	}
}

func TestPatternPrecedence(t *testing.T) {
	p, err := ParsePattern("[a:x = 1] AND [a:y = 2] OR [a:z = 3] FOLLOWEDBY [a:w = 4] REPEATS 2 TIMES")
	if err != nil {
		t.Fatal(err)
	}
	fb, ok := p.Root.(*ObsOp)
	if !ok || fb.Op != "FOLLOWEDBY" {
		t.Fatalf("root %#v, want FOLLOWEDBY (lowest precedence)", p.Root)
	}
	or, ok := fb.L.(*ObsOp)
	if !ok || or.Op != "OR" {
		t.Fatalf("left of FOLLOWEDBY %#v, want OR", fb.L)
	}
	if and, ok := or.L.(*ObsOp); !ok || and.Op != "AND" {
		t.Fatalf("left of OR %#v, want AND (binds tighter)", or.L)
	}
	if q, ok := fb.R.(*Qualified); !ok || q.Repeats != 2 {
		t.Fatalf("right of FOLLOWEDBY %#v, want the REPEATS (qualifiers are not greedy)", fb.R)
	}
	p, err = ParsePattern(`[file:name = 'it\'s' AND file:parent_directory_ref.path = 'C:\\x']`)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Root.(*Observation).Expr.(*BoolOp)
	if got := c.L.(*Comparison).Value.Str; got != "it's" {
		t.Errorf("got %q, want it's", got)
	}
	if got := c.R.(*Comparison).Value.Str; got != `C:\x` {
		t.Errorf(`got %q, want C:\x`, got)
	}
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{
		`[file:hashes.'SHA-256' = 'aec0'] AND [ipv4-addr:value ISSUBSET '10.0.0.0/8']`,
		`([file:name LIKE '%.dll' OR process:command_line MATCHES '(?i)mimikatz'] FOLLOWEDBY [domain-name:value = 'x.com']) WITHIN 60 SECONDS`,
		`[windows-registry-key:values[*].name = 'Run'] REPEATS 3 TIMES START t'2020-01-01T00:00:00Z' STOP t'2021-01-01T00:00:00.5Z'`,
		`[file:size IN (1, 2, 3) AND NOT file:name = 'x' AND EXISTS file:hashes.MD5]`,
		`[artifact:payload_bin = b'ABI=' OR file:magic_number_hex = h'ffd8' OR file:x = true OR file:y >= -1.5]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			return
		}
		m, err := Compile(p)
		if err != nil {
			return
		}
		// A compiled pattern runs on any record without a panic.
		m.Match([]Record{{Fields: nil}})
	})
}
