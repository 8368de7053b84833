package exposure

import (
	"strings"
)

// resolve makes p absolute against the process's working directory cwd
// ("" when the event does not give it): a relative path is joined to cwd,
// a rooted one (\x) takes cwd's drive, . and .. are folded. Paths that are
// already absolute (C:\, \\host\share) or URLs are returned cleaned, and
// a relative path without cwd is returned as written.
func resolve(p, cwd string) string {
	p = expandEnv(strings.Trim(p, `"' `))
	if p == "" || strings.Contains(p, "://") || isRemote(p) || strings.HasPrefix(p, "%") || strings.HasPrefix(p, "$") {
		// A URL, a remote, or a path under a variable of the user's
		// (%TEMP%, $env:APPDATA): kept as written.
		return p
	}
	p = strings.ReplaceAll(p, "/", `\`)
	switch {
	case strings.HasPrefix(p, `\\`):
		return clean(p)
	case len(p) >= 2 && p[1] == ':' && isLetter(p[0]):
		if len(p) == 2 || p[2] != '\\' {
			// C:x is relative to C:'s current folder: only cwd's when on C:.
			if cwd != "" && strings.EqualFold(cwd[:min(2, len(cwd))], p[:2]) {
				return clean(strings.TrimRight(cwd, `\`) + `\` + p[2:])
			}
			return p
		}
		return clean(p)
	case strings.HasPrefix(p, `\`):
		if len(cwd) >= 2 && cwd[1] == ':' {
			return clean(cwd[:2] + p)
		}
		return p
	}
	if cwd == "" {
		return p
	}
	return clean(strings.TrimRight(strings.ReplaceAll(cwd, "/", `\`), `\`) + `\` + p)
}

// fixedEnv are the environment variables whose value is the same on
// every Windows installed on C: (lower-cased names).
var fixedEnv = map[string]string{"systemroot": `C:\Windows`, "windir": `C:\Windows`, "programdata": `C:\ProgramData`,
	"allusersprofile": `C:\ProgramData`, "public": `C:\Users\Public`, "systemdrive": `C:`, "programfiles": `C:\Program Files`,
	"programfiles(x86)": `C:\Program Files (x86)`}

// expandEnv replaces a leading %NAME% or $env:NAME of fixedEnv by its
// value; $env:NAME of another variable becomes %NAME%.
func expandEnv(p string) string {
	var name, rest string
	switch {
	case strings.HasPrefix(p, "%"):
		end := strings.IndexByte(p[1:], '%')
		if end < 0 {
			return p
		}
		name, rest = p[1:end+1], p[end+2:]
	case len(p) > 5 && strings.EqualFold(p[:5], "$env:"):
		end := 5
		for end < len(p) && (isIdentByte(p[end]) || p[end] == '(' || p[end] == ')') {
			end++
		}
		name, rest = p[5:end], p[end:]
	default:
		return p
	}
	if v, ok := fixedEnv[strings.ToLower(name)]; ok {
		return v + rest
	}
	return "%" + name + "%" + rest
}

// isRemote says whether p names an rclone-style remote (name:path, the
// name longer than a drive letter).
func isRemote(p string) bool {
	i := strings.IndexByte(p, ':')
	if i < 2 || strings.ContainsAny(p[:i], `\/`) {
		return false
	}
	return true
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// clean folds . and .. in a backslash path, keeping its root (C:\ or
// \\host\share\).
func clean(p string) string {
	root := ""
	rest := p
	switch {
	case strings.HasPrefix(p, `\\`):
		parts := strings.SplitN(p[2:], `\`, 3)
		if len(parts) < 3 {
			return p
		}
		root = `\\` + parts[0] + `\` + parts[1] + `\`
		rest = parts[2]
	case len(p) >= 3 && p[1] == ':' && p[2] == '\\':
		root, rest = p[:3], p[3:]
	}
	var out []string
	for _, part := range strings.Split(rest, `\`) {
		switch part {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, part)
		}
	}
	s := root + strings.Join(out, `\`)
	if strings.HasSuffix(rest, `\`) && len(out) > 0 {
		s += `\`
	}
	return s
}

// hasWildcard says whether p holds a wildcard (* or ?).
func hasWildcard(p string) bool { return strings.ContainsAny(p, "*?") }

// globMatch says whether name matches the Windows-style pattern pat,
// ignoring case: * any run of characters within a path component, ** any
// run across components, ? one character. Separators / and \ are one.
// It runs in O(len(pat)·len(name)).
func globMatch(pat, name string) bool {
	pat = strings.ToLower(strings.ReplaceAll(pat, "/", `\`))
	name = strings.ToLower(strings.ReplaceAll(name, "/", `\`))
	// Dynamic programming over positions: m[j] says pat[:i] matches name[:j].
	m := make([]bool, len(name)+1)
	next := make([]bool, len(name)+1)
	m[0] = true
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		clear(next)
		switch {
		case c == '*' && i+1 < len(pat) && pat[i+1] == '*':
			i++
			// ** then \ also matches nothing (a\**\b matches a\b).
			anyRun := false
			for j := 0; j <= len(name); j++ {
				anyRun = anyRun || m[j]
				next[j] = anyRun
			}
			if i+1 < len(pat) && pat[i+1] == '\\' {
				i++
				for j := 0; j <= len(name); j++ {
					ok := next[j] && j > 0 && name[j-1] == '\\'
					// Or nothing at all before the separator.
					next[j] = ok || m[j]
				}
			}
		case c == '*':
			run := false
			for j := 0; j <= len(name); j++ {
				if m[j] {
					run = true
				}
				next[j] = run
				if j < len(name) && name[j] == '\\' {
					run = false
				}
			}
		case c == '?':
			for j := 1; j <= len(name); j++ {
				next[j] = m[j-1] && name[j-1] != '\\'
			}
		default:
			for j := 1; j <= len(name); j++ {
				next[j] = m[j-1] && name[j-1] == c
			}
		}
		m, next = next, m
	}
	return m[len(name)]
}

// maxExpansion bounds the paths one brace or range pattern expands to.
const maxExpansion = 256

// expandCurlGlob expands curl's URL and upload-file globbing: {a,b,c}
// alternatives and [1-3] / [a-c] ranges, at most maxExpansion results.
// A pattern with neither is returned alone.
func expandCurlGlob(p string) []string {
	out := []string{""}
	for i := 0; i < len(p); {
		c := p[i]
		var alts []string
		switch c {
		case '{':
			end := strings.IndexByte(p[i:], '}')
			if end < 0 {
				alts = []string{p[i:]}
				i = len(p)
				break
			}
			alts = strings.Split(p[i+1:i+end], ",")
			i += end + 1
		case '[':
			end := strings.IndexByte(p[i:], ']')
			r := ""
			if end > 0 {
				r = p[i+1 : i+end]
			}
			lo, hi, ok := parseRange(r)
			if !ok {
				alts = []string{string(c)}
				i++
				break
			}
			alts = expandRange(lo, hi)
			i += end + 1
		default:
			j := i
			for j < len(p) && p[j] != '{' && p[j] != '[' {
				j++
			}
			alts = []string{p[i:j]}
			i = j
		}
		if len(out)*len(alts) > maxExpansion {
			return []string{p}
		}
		next := make([]string, 0, len(out)*len(alts))
		for _, o := range out {
			for _, a := range alts {
				next = append(next, o+a)
			}
		}
		out = next
	}
	return out
}

// parseRange reads curl's [lo-hi] range: digits (zero padding kept by
// the width of lo) or single letters.
func parseRange(r string) (lo, hi string, ok bool) {
	a, b, found := strings.Cut(r, "-")
	if !found || a == "" || b == "" || len(a) > 6 || len(b) > 6 {
		return "", "", false
	}
	digits := func(s string) bool { return strings.Trim(s, "0123456789") == "" }
	if digits(a) && digits(b) || len(a) == 1 && len(b) == 1 && isLetter(a[0]) && isLetter(b[0]) {
		return a, b, true
	}
	return "", "", false
}

func expandRange(lo, hi string) []string {
	if isLetter(lo[0]) {
		var out []string
		for c := lo[0]; c <= hi[0] && len(out) <= maxExpansion; c++ {
			out = append(out, string(c))
		}
		return out
	}
	a, b := atoi(lo), atoi(hi)
	var out []string
	for n := a; n <= b && len(out) <= maxExpansion; n++ {
		s := itoa(n)
		for len(s) < len(lo) {
			s = "0" + s
		}
		out = append(out, s)
	}
	return out
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// baseName is the last component of a path.
func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// dirName is the path without its last component (and separator).
func dirName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[:i]
	}
	return ""
}

// adminLocal turns a path on an administrative share (\\host\C$\x) into
// the host and its local path (C:\x); ok is false for other paths.
func adminLocal(p string) (host, local string, ok bool) {
	if !strings.HasPrefix(p, `\\`) {
		return "", "", false
	}
	parts := strings.SplitN(p[2:], `\`, 3)
	if len(parts) < 2 {
		return "", "", false
	}
	sh := parts[1]
	if len(sh) != 2 || sh[1] != '$' || !isLetter(sh[0]) {
		return "", "", false
	}
	local = strings.ToUpper(sh[:1]) + `:\`
	if len(parts) == 3 {
		local += parts[2]
	}
	return parts[0], local, true
}

// uncHost is the host of a UNC path (\\host\share\...), "" otherwise.
func uncHost(p string) string {
	if !strings.HasPrefix(p, `\\`) {
		return ""
	}
	h, _, _ := strings.Cut(p[2:], `\`)
	return h
}
