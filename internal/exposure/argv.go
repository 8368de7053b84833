package exposure

import (
	"encoding/base64"
	"slices"
	"strings"
	"unicode/utf16"
)

// maxCommandLine bounds the text parsed of one command line: the hunt cuts
// field values at 4 KiB; a longer one (a test, a future change) is cut
// here so that parsing stays linear and bounded.
const maxCommandLine = 8 << 10

// maxDepth bounds the nesting of shells unwrapped (cmd /c powershell -c
// cmd /c ...).
const maxDepth = 4

// SplitArgs splits a Windows command line into arguments the way the
// Microsoft C runtime (and CommandLineToArgvW) does: the program name ends
// at the first whitespace outside its quotes, no escape in it; then
// arguments are separated by spaces and tabs outside double quotes; 2n
// backslashes before a quote give n and the quote opens or closes, 2n+1
// give n and a literal quote; other backslashes are literal; "" inside
// quotes is a literal quote.
func SplitArgs(s string) []string {
	if len(s) > maxCommandLine {
		s = s[:maxCommandLine]
	}
	var args []string
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i == len(s) {
		return nil
	}
	// The program name.
	var b strings.Builder
	if s[i] == '"' {
		i++
		for i < len(s) && s[i] != '"' {
			b.WriteByte(s[i])
			i++
		}
		if i < len(s) {
			i++
		}
		// Text glued to the closing quote belongs to the name too (the
		// C runtime's reading).
		for i < len(s) && !isSpace(s[i]) {
			if s[i] != '"' {
				b.WriteByte(s[i])
			}
			i++
		}
	} else {
		for i < len(s) && !isSpace(s[i]) {
			b.WriteByte(s[i])
			i++
		}
	}
	args = append(args, b.String())
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return args
		}
		b.Reset()
		quoted := false
		for i < len(s) && (quoted || !isSpace(s[i])) {
			c := s[i]
			switch {
			case c == '\\':
				n := 0
				for i < len(s) && s[i] == '\\' {
					n++
					i++
				}
				if i < len(s) && s[i] == '"' {
					b.WriteString(strings.Repeat(`\`, n/2))
					if n%2 == 1 {
						b.WriteByte('"')
						i++
					}
					continue
				}
				b.WriteString(strings.Repeat(`\`, n))
			case c == '"':
				if quoted && i+1 < len(s) && s[i+1] == '"' {
					b.WriteByte('"')
					i += 2
					continue
				}
				quoted = !quoted
				i++
			default:
				b.WriteByte(c)
				i++
			}
		}
		args = append(args, b.String())
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Command is one program run with its arguments, as a shell line names it:
// Args[0] is the program (or a cmd built-in, or a PowerShell cmdlet when
// PowerShell is set).
type Command struct {
	Args       []string
	PowerShell bool
	// Piped says that a PowerShell command takes the output of the one
	// before it (after |); Block that it runs in a script block ({ }).
	Piped, Block bool
}

// Commands returns the commands a process's command line runs: the
// process itself, and, when it is a shell (cmd /c|/k, PowerShell -Command,
// -EncodedCommand or a script text), each command of the line it runs,
// unwrapped to maxDepth shells. Redirections are dropped from cmd lines.
func Commands(commandLine string) []Command {
	var out []Command
	expand(&out, commandLine, 0)
	return out
}

func expand(out *[]Command, line string, depth int) {
	args := SplitArgs(line)
	if len(args) == 0 {
		return
	}
	*out = append(*out, Command{Args: args})
	if depth >= maxDepth {
		return
	}
	switch base(args[0]) {
	case "cmd":
		if rest, ok := cmdPayload(line); ok {
			for _, c := range splitCmd(rest) {
				expand(out, c, depth+1)
			}
		}
	case "powershell", "pwsh":
		if script, ok := powershellPayload(args); ok {
			for _, c := range PowerShellCommands(script) {
				*out = append(*out, c)
				if len(c.Args) > 0 && (base(c.Args[0]) == "cmd" || base(c.Args[0]) == "powershell" || base(c.Args[0]) == "pwsh") {
					expand(out, strings.Join(quoteAll(c.Args), " "), depth+1)
				}
			}
		}
	}
}

// quoteAll quotes the arguments that hold spaces, for SplitArgs to read
// them back (PowerShell's tokens are already unquoted).
func quoteAll(args []string) []string {
	q := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \t") {
			a = `"` + a + `"`
		}
		q[i] = a
	}
	return q
}

// base is the lower-cased file name of a program without its directory
// and .exe.
func base(prog string) string {
	if i := strings.LastIndexAny(prog, `\/`); i >= 0 {
		prog = prog[i+1:]
	}
	prog = strings.ToLower(prog)
	return strings.TrimSuffix(prog, ".exe")
}

// cmdPayload returns what cmd.exe runs after /c or /k in line (the raw
// text: cmd reads its own command line, not argv), with cmd's rule for a
// leading quote: the first and last quotes are removed unless the quoted
// text is one program file with spaces and nothing else is quoted.
func cmdPayload(line string) (string, bool) {
	// ASCII lower case keeps byte offsets: the switches are ASCII, and
	// strings.ToLower changes the length of invalid UTF-8 and some letters.
	low := asciiLower(line)
	at := -1
	for _, sw := range []string{"/c", "/k", "/r"} {
		for off := 0; ; {
			i := strings.Index(low[off:], sw)
			if i < 0 {
				break
			}
			i += off
			end := i + len(sw)
			if (i == 0 || isSpace(low[i-1]) || low[i-1] == '"') && (end == len(low) || isSpace(low[end]) || low[end] == '"') {
				if at < 0 || i < at {
					at = i
				}
				break
			}
			off = end
		}
	}
	if at < 0 {
		return "", false
	}
	rest := strings.TrimLeft(line[at+2:], " \t")
	if strings.HasPrefix(rest, `"`) {
		first, last := 0, strings.LastIndexByte(rest, '"')
		quotes := strings.Count(rest, `"`)
		inner := rest[1:max(last, 1)]
		// cmd keeps them only when the quoted text is an executable file
		// (what it names is not in the evidence: its extension is).
		keep := quotes == 2 && strings.ContainsAny(inner, " ") && !strings.ContainsAny(inner, "&<>()@^|") && isExecutable(inner)
		if !keep && last > first {
			rest = rest[1:last] + rest[last+1:]
		}
	}
	return rest, true
}

// isExecutable says whether a path names a program cmd runs (.exe,
// .com, .bat, .cmd).
func isExecutable(p string) bool {
	l := asciiLower(strings.TrimSpace(p))
	return strings.HasSuffix(l, ".exe") || strings.HasSuffix(l, ".com") || strings.HasSuffix(l, ".bat") || strings.HasSuffix(l, ".cmd")
}

// asciiLower lower-cases the ASCII letters of s, byte for byte.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// splitCmd splits a cmd line into its commands at &, &&, || and | outside
// double quotes (^ escapes the next character), drops redirections (>,
// >>, <, 2>&1 and their targets) and leading @ and parentheses.
func splitCmd(s string) []string {
	var cmds []string
	var b strings.Builder
	quoted := false
	flush := func() {
		c := strings.TrimSpace(b.String())
		c = strings.TrimLeft(c, "@( ")
		c = strings.TrimRight(c, ") ")
		if c != "" {
			cmds = append(cmds, c)
		}
		b.Reset()
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			quoted = !quoted
			b.WriteByte(c)
			continue
		}
		if quoted {
			b.WriteByte(c)
			continue
		}
		switch c {
		case '^':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '&', '|':
			flush()
			if i+1 < len(s) && s[i+1] == c {
				i++
			}
		case '>', '<':
			// A handle number glued before it (2>) is part of the
			// redirection.
			str := b.String()
			if n := len(str); n > 0 && str[n-1] >= '0' && str[n-1] <= '9' && (n == 1 || isSpace(str[n-2])) {
				b.Reset()
				b.WriteString(str[:n-1])
			}
			i++
			if i < len(s) && s[i] == '>' {
				i++
			}
			if i < len(s) && s[i] == '&' { // 2>&1
				i++
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					i++
				}
				i--
				continue
			}
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			q := false
			for i < len(s) && (q || (!isSpace(s[i]) && s[i] != '&' && s[i] != '|' && s[i] != '>' && s[i] != '<')) {
				if s[i] == '"' {
					q = !q
				}
				i++
			}
			i--
		default:
			b.WriteByte(c)
		}
	}
	flush()
	return cmds
}

// powershellPayload returns the script a powershell.exe command line runs:
// -Command (-c, and any prefix of -command) and what follows, or the
// decoded -EncodedCommand (-e, -enc, -ec...).
func powershellPayload(args []string) (string, bool) {
	for i := 1; i < len(args); i++ {
		a := strings.ToLower(args[i])
		if !strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "/") {
			// The first bare argument starts the command.
			return strings.Join(args[i:], " "), true
		}
		name := a[1:]
		switch {
		case name == "":
			continue
		case name == "c" || len(name) >= 3 && strings.HasPrefix("command", name):
			if i+1 < len(args) {
				return strings.Join(args[i+1:], " "), true
			}
			return "", false
		case name == "e" || name == "ec" || len(name) >= 2 && strings.HasPrefix("encodedcommand", name):
			if i+1 < len(args) {
				return decodeUTF16Base64(args[i+1])
			}
			return "", false
		case name == "f" || len(name) >= 2 && strings.HasPrefix("file", name):
			return "", false
		}
		// Options with a value.
		if name == "ep" || name == "w" || name == "v" {
			i++
			continue
		}
		for _, opt := range []string{"executionpolicy", "windowstyle", "version", "configurationname", "inputformat", "outputformat", "workingdirectory", "settingsfile"} {
			if len(name) >= 2 && strings.HasPrefix(opt, name) {
				i++
				break
			}
		}
	}
	return "", false
}

// decodeUTF16Base64 decodes PowerShell's -EncodedCommand: base64 of
// UTF-16LE text.
func decodeUTF16Base64(s string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return "", false
		}
	}
	if len(raw) > 2*maxCommandLine {
		raw = raw[:2*maxCommandLine]
	}
	u := make([]uint16, len(raw)/2)
	for i := range u {
		u[i] = uint16(raw[2*i]) | uint16(raw[2*i+1])<<8
	}
	return string(utf16.Decode(u)), true
}

// PowerShellCommands splits a PowerShell script into its commands (at ;,
// |, newlines, && and || outside quotes and braces' strings) and each into
// tokens: single-quoted strings literal (” a quote), double-quoted ones
// with backtick escapes, variables and subexpressions kept as written.
// Parentheses, braces and brackets are kept in the token they start. A
// command after | is Piped, one inside braces a Block. The .NET methods
// that move data the script calls (methodCalls) follow as commands too.
func PowerShellCommands(script string) []Command {
	if len(script) > maxCommandLine {
		script = script[:maxCommandLine]
	}
	var cmds []Command
	var args []string
	var b strings.Builder
	inToken, piped := false, false
	depth := 0
	endToken := func() {
		if inToken {
			args = append(args, b.String())
			b.Reset()
			inToken = false
		}
	}
	endCommand := func() {
		endToken()
		if len(args) > 0 {
			// A leading & or . invokes what follows.
			if args[0] == "&" || args[0] == "." {
				args = args[1:]
			}
			if len(args) > 0 {
				cmds = append(cmds, Command{Args: args, PowerShell: true, Piped: piped, Block: depth > 0})
			}
		}
		args, piped = nil, false
	}
	for i := 0; i < len(script); i++ {
		c := script[i]
		switch {
		case c == '\'' || c == '"' || c == 0xE2 && i+2 < len(script) && (script[i+1] == 0x80 && (script[i+2] == 0x98 || script[i+2] == 0x99 || script[i+2] == 0x9C || script[i+2] == 0x9D)):
			inToken = true
			i = readPSString(script, i, &b)
		case c == '`' && i+1 < len(script):
			inToken = true
			i++
			b.WriteByte(script[i])
		case c == '|' && i+1 < len(script) && script[i+1] == '|', c == '&' && i+1 < len(script) && script[i+1] == '&':
			endCommand()
			i++
		case c == '|':
			endCommand()
			piped = true
		case c == '{' || c == '}':
			endCommand()
			if c == '{' {
				depth++
			} else if depth > 0 {
				depth--
			}
		case c == ';' || c == '\n' || c == '\r':
			endCommand()
		case isSpace(c):
			endToken()
		case c == ',' && inToken:
			// An array argument: a,b stays one token, "a","b" too.
			b.WriteByte(c)
		default:
			inToken = true
			b.WriteByte(c)
		}
	}
	endCommand()
	return append(cmds, methodCalls(script)...)
}

// dataMethods are the .NET methods that move data, lower-cased, which
// scripts call on objects ($wc.UploadFile(...)) or types
// ([IO.Compression.ZipFile]::CreateFromDirectory(...)).
var dataMethods = []string{"uploadfile", "uploadfileasync", "uploadfiletaskasync", "uploaddata", "uploaddataasync",
	"uploaddatataskasync", "createfromdirectory"}

// maxCalls bounds the method calls read from one script.
const maxCalls = 64

// methodCalls returns the calls of dataMethods in a script, each as a
// command named by the method after a dot (".uploadfile") with the call's
// arguments: a string literal's value, any other expression as written.
func methodCalls(script string) []Command {
	low := asciiLower(script)
	var out []Command
	for _, m := range dataMethods {
		for off := 0; len(out) < maxCalls; {
			i := strings.Index(low[off:], m+"(")
			if i < 0 {
				break
			}
			i += off
			off = i + len(m) + 1
			if i == 0 || low[i-1] != '.' && low[i-1] != ':' {
				continue
			}
			args := callArgs(script[off:])
			out = append(out, Command{Args: append([]string{"." + m}, args...), PowerShell: true})
		}
	}
	return out
}

// maxCallArgs bounds the arguments read of one call.
const maxCallArgs = 8

// callArgs reads a call's arguments from s, the text after its opening
// parenthesis, to the closing one: each a quoted string's value when it
// is one literal alone, else its text trimmed.
func callArgs(s string) []string {
	var args []string
	var lit strings.Builder
	start, depth, literals, other := 0, 0, 0, false
	flush := func(end int) {
		a := strings.TrimSpace(s[start:end])
		if literals == 1 && !other {
			a = lit.String()
		}
		args = append(args, a)
		lit.Reset()
		literals, other = 0, false
	}
	for i := 0; i < len(s) && len(args) < maxCallArgs; i++ {
		switch c := s[i]; {
		case c == '\'' || c == '"':
			lit.Reset()
			i = readPSString(s, i, &lit)
			literals++
		case c == '(' || c == '[' || c == '{':
			depth++
			other = true
		case (c == ')' || c == ']' || c == '}') && depth > 0:
			depth--
		case c == ')':
			if strings.TrimSpace(s[start:i]) != "" || len(args) > 0 {
				flush(i)
			}
			return args
		case c == ',' && depth == 0:
			flush(i)
			start = i + 1
		case !isSpace(c):
			other = true
		}
	}
	return args
}

// readPSString reads the quoted string starting at s[i] into b and returns
// the index of its closing quote (or the end).
func readPSString(s string, i int, b *strings.Builder) int {
	q := s[i]
	if q == 0xE2 { // typographic quotes PowerShell accepts
		i += 2
		q = '"'
		if s[i] == 0x98 || s[i] == 0x99 {
			q = '\''
		}
	}
	for i++; i < len(s); i++ {
		c := s[i]
		if c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 {
			cq := byte('"')
			if s[i+2] == 0x98 || s[i+2] == 0x99 {
				cq = '\''
			}
			if s[i+2] >= 0x98 && s[i+2] <= 0x9D && cq == q {
				return i + 2
			}
		}
		if c == q {
			if i+1 < len(s) && s[i+1] == q {
				b.WriteByte(q)
				i++
				continue
			}
			return i
		}
		if c == '`' && q == '"' && i+1 < len(s) {
			i++
			b.WriteByte(s[i])
			continue
		}
		b.WriteByte(c)
	}
	return len(s)
}

// maxVars bounds the PowerShell variables remembered of one script.
const maxVars = 64

// maxRewrite bounds the bytes that rewriting adds to one line's commands:
// a for loop's body once per pattern, the paths a pipeline's $_ or a
// listing piped in stands for, variables' values. Each repeats text of
// the line, which made megabytes of paths of a few KiB.
const maxRewrite = 4 * maxCommandLine

// room is what rewriting may still add to a line's commands, in bytes.
type room int

// take reports whether n more bytes fit, and counts them when they do.
func (r *room) take(n int) bool {
	if n > int(*r) {
		return false
	}
	*r -= room(n)
	return true
}

// joinedLen is len(strings.Join(s, ",")), without joining.
func joinedLen(s []string) int {
	n := max(len(s)-1, 0)
	for _, x := range s {
		n += len(x)
	}
	return n
}

// psVars are the PowerShell variables a script assigned a literal that
// looks like a path or URL ($src = "D:\Finance"), lower-cased names to
// values: what a script names through variables. Anything else assigned
// (a command's output, an expression) is not evaluated, and forgets the
// variable.
type psVars map[string]string

// assign reads args as the assignment `$name = value` (or `[type]$name =
// value`): ok says whether they are one, and command is the command whose
// output is assigned ($r = Invoke-WebRequest ...), nil for a value. A
// literal value is remembered; the variable is forgotten otherwise.
func (v *psVars) assign(args []string) (command []string, ok bool) {
	var name, val string
	switch {
	case len(args) >= 2 && args[1] == "=":
		name = args[0]
		if len(args) == 3 {
			val = args[2]
		}
	case len(args) == 1 && strings.Contains(args[0], "="):
		name, val, _ = strings.Cut(args[0], "=")
	default:
		return nil, false
	}
	if i := strings.LastIndexByte(name, ']'); strings.HasPrefix(name, "[") && i > 0 {
		name = name[i+1:] // [string]$x
	}
	if len(name) < 2 || name[0] != '$' || !isIdentifier(name[1:]) {
		return nil, false
	}
	name = strings.ToLower(name[1:])
	if *v == nil {
		*v = psVars{}
	}
	if val == "" || strings.ContainsAny(val[:1], "$([@{") || !strings.ContainsAny(val, `\/:.`) {
		delete(*v, name)
		if len(args) > 2 {
			return args[2:], true
		}
		return nil, true
	}
	if _, ok := (*v)[name]; ok || len(*v) < maxVars {
		(*v)[name] = val
	}
	return nil, true
}

// expand replaces the known variables in c's arguments ($name, and
// $name inside a string: "$dir\o.zip"), each argument at most
// maxCommandLine bytes long, while r has room for their values.
func (v psVars) expand(c Command, r *room) Command {
	if len(v) == 0 {
		return c
	}
	var out []string
	for i, a := range c.Args {
		if !strings.Contains(a, "$") {
			continue
		}
		var b strings.Builder
		for k := 0; k < len(a); {
			if a[k] == '$' {
				j := k + 1
				for j < len(a) && isIdentByte(a[j]) {
					j++
				}
				if val, ok := v[strings.ToLower(a[k+1:j])]; ok && j > k+1 && b.Len()+len(val) <= maxCommandLine && r.take(len(val)) {
					b.WriteString(val)
					k = j
					continue
				}
			}
			b.WriteByte(a[k])
			k++
		}
		if out == nil {
			out = slices.Clone(c.Args)
		}
		out[i] = b.String()
	}
	if out != nil {
		c.Args = out
	}
	return c
}

func isIdentByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'z'
}

func isIdentifier(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isIdentByte(s[i]) {
			return false
		}
	}
	return s != ""
}
