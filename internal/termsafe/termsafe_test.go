package termsafe

import (
	"bytes"
	"fmt"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain text\twith a tab\n", "plain text\twith a tab\n"},
		{"cmd.exe /c \x1b]0;pwned\x07whoami", `cmd.exe /c \x1b]0;pwned\x07whoami`},
		{"benign\rmalicious", `benign\x0dmalicious`},
		{"\x1b[8mhidden\x1b[0m", `\x1b[8mhidden\x1b[0m`},
		{"invoice\u202egpj.exe", `invoice\u202egpj.exe`},
		{"csi \u009b2J", `csi \u009b2J`},
		{"bad \xff\xfe utf-8", `bad \xff\xfe utf-8`},
		{"del \x7f", `del \x7f`},
		{"Zürich ТЕСТ 漢字", "Zürich ТЕСТ 漢字"},
		{"cut \xe6\xbc", `cut \xe6\xbc`},
	} {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestWriterKeeps(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b, "\x1b[1;31m", "\x1b[0m")
	fmt.Fprintf(w, "%s %s\n", "\x1b[1;31mhigh\x1b[0m", "\x1b[1;31mx\x1b[2J")
	want := "\x1b[1;31mhigh\x1b[0m \x1b[1;31mx\\x1b[2J\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// FuzzString: the escaped text is valid UTF-8 with no control character
// but line feeds and tabs, and text that needs no escape is unchanged.
func FuzzString(f *testing.F) {
	for _, s := range []string{"", "a\x1b[2Jb", "\u202e", "\xff", "\u0085\r\n\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := String(s)
		if !utf8.ValidString(got) {
			t.Fatalf("String(%q) = %q: not UTF-8", s, got)
		}
		for _, r := range got {
			if r < ' ' && r != '\n' && r != '\t' || r == 0x7f || unsafeRune(r) {
				t.Fatalf("String(%q) = %q keeps %U", s, got, r)
			}
		}
		if clean([]byte(s)) && got != s {
			t.Fatalf("String(%q) changed clean text to %q", s, got)
		}
	})
}
