package operation

import (
	"html"
	"net/netip"
	"strings"
)

// NormPath returns the file path a service image path, task command or
// event field names, in one spelling: quotes and arguments dropped,
// \SystemRoot\, %SystemRoot%, %windir%, \??\ and a bare System32\ turned
// into C:\Windows\ paths. Case is kept; compare lower-cased.
func NormPath(p string) string {
	p = strings.TrimSpace(p)
	if p == "" || p == "-" {
		return ""
	}
	if p[0] == '"' {
		if i := strings.IndexByte(p[1:], '"'); i >= 0 {
			p = p[1 : i+1]
		} else {
			p = p[1:]
		}
	} else if i := argStart(p); i > 0 {
		p = p[:i]
	}
	p = strings.TrimPrefix(p, `\??\`)
	switch {
	case hasPrefixFold(p, `\systemroot\`):
		p = `C:\Windows\` + p[len(`\systemroot\`):]
	case hasPrefixFold(p, `%systemroot%\`):
		p = `C:\Windows\` + p[len(`%systemroot%\`):]
	case hasPrefixFold(p, `%windir%\`):
		p = `C:\Windows\` + p[len(`%windir%\`):]
	case hasPrefixFold(p, `system32\`):
		p = `C:\Windows\` + p
	}
	return p
}

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix,
// ASCII letters of s compared in either case (no other character of s
// lower-cases to an ASCII letter of these prefixes).
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := range len(prefix) {
		if lowerASCII(s[i]) != prefix[i] {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// argStart returns where the arguments of an unquoted command start: after
// the first ".exe", ".sys", ".dll", ".bat", ".cmd" or ".ps1" followed by a
// space (an extension found first at the very start does not count); 0
// when there is none. The position is in the lower-cased command, which
// for ASCII is the command itself, so that only other text is copied.
func argStart(p string) int {
	for i := range len(p) {
		if p[i] >= 0x80 {
			p = strings.ToLower(p)
			break
		}
	}
	var first uint8 // the extensions seen
	for i := 0; i+4 < len(p); i++ {
		if p[i] != '.' || p[i+4] != ' ' {
			continue
		}
		e := extBit(lowerASCII(p[i+1]), lowerASCII(p[i+2]), lowerASCII(p[i+3]))
		if e == 0 || first&e != 0 {
			continue
		}
		first |= e
		if i > 0 {
			return i + 4
		}
	}
	return 0
}

// exts are the extensions argStart looks for.
var exts = [...]string{"exe", "sys", "dll", "bat", "cmd", "ps1"}

// extBit returns the bit of extension abc in exts (0 for others).
func extBit(a, b, c byte) uint8 {
	for i, e := range exts {
		if e[0] == a && e[1] == b && e[2] == c {
			return 1 << i
		}
	}
	return 0
}

// TaskCommand returns the command of the first Exec action of a task's XML
// (Security 4698 TaskContent), normalized as NormPath does; "" when there is
// none.
func TaskCommand(xml string) string {
	i := strings.Index(xml, "<Command>")
	if i < 0 {
		return ""
	}
	rest := xml[i+len("<Command>"):]
	j := strings.Index(rest, "</Command>")
	if j < 0 {
		return ""
	}
	return NormPath(html.UnescapeString(rest[:j]))
}

// CommandTargets returns the remote hosts a command line names, as
// written: UNC paths (\\HOST\share), /node:HOST (wmic), /S HOST (schtasks,
// sc-like tools that take it), -ComputerName HOST (PowerShell), -r:HOST
// (winrs), /v:HOST (mstsc). Local names (localhost, 127.0.0.1, ".") are
// left out.
func CommandTargets(cmd string) []string {
	if !strings.Contains(cmd, `\\`) && !strings.ContainsAny(cmd, "/-") {
		return nil
	}
	var out []string
	add := func(v string) {
		for _, h := range strings.Split(v, ",") {
			h = strings.Trim(strings.TrimSpace(h), `"';`)
			lh := strings.ToLower(h)
			if h == "" || lh == "localhost" || lh == "." || lh == "127.0.0.1" || lh == "::1" || lh == "?" || strings.HasPrefix(lh, "%") {
				continue
			}
			out = append(out, h)
		}
	}
	// UNC paths.
	for i := 0; i+2 < len(cmd); i++ {
		if cmd[i] != '\\' || cmd[i+1] != '\\' || (i > 0 && cmd[i-1] == '\\') {
			continue
		}
		j := i + 2
		for j < len(cmd) && cmd[j] != '\\' && cmd[j] != ' ' && cmd[j] != '"' && cmd[j] != '/' {
			j++
		}
		if j > i+2 {
			add(cmd[i+2 : j])
		}
		i = j
	}
	if !hasSwitch(cmd) {
		return out
	}
	prog := ""
	if l := splitArgs(strings.ToLower(cmd)); len(l) > 0 {
		prog = baseName(strings.Trim(l[0], `"`))
	}
	// Switches are looked for inside quoted arguments too: a shell's
	// command (powershell -c "Invoke-Command -ComputerName H ...") is one.
	fields := strings.Fields(cmd)
	for k, f := range fields {
		fields[k] = strings.Trim(f, `"'`)
	}
	lf := strings.Fields(strings.ToLower(cmd))
	for k, f := range lf {
		lf[k] = strings.Trim(f, `"'`)
	}
	for k, f := range lf {
		next := ""
		if k+1 < len(fields) {
			next = fields[k+1]
		}
		// The program a switch belongs to is the last one named before it
		// (cmd.exe /c schtasks /S HOST: schtasks).
		if p := baseName(strings.Trim(f, `"`)); remoteSwitchS[p] || p == "winrs" || p == "winrs.exe" || p == "mstsc" || p == "mstsc.exe" {
			prog = p
		}
		switch {
		case strings.HasPrefix(f, "/node:"):
			add(fields[k][len("/node:"):])
		case f == "/s" && remoteSwitchS[prog]:
			add(next)
		case strings.HasPrefix(f, "/s:") && remoteSwitchS[prog]:
			add(fields[k][3:])
		case f == "-computername" || f == "-cn":
			add(next)
		case strings.HasPrefix(f, "-r:") || strings.HasPrefix(f, "/r:"):
			if prog == "winrs.exe" || prog == "winrs" {
				add(fields[k][3:])
			}
		case strings.HasPrefix(f, "-remote:") || strings.HasPrefix(f, "/remote:"):
			add(fields[k][strings.IndexByte(f, ':')+1:])
		case strings.HasPrefix(f, "/v:") && (prog == "mstsc.exe" || prog == "mstsc"):
			add(fields[k][3:])
		}
	}
	return out
}

// remoteSwitchS lists the programs whose /S switch names a remote system.
var remoteSwitchS = map[string]bool{
	"schtasks.exe": true, "schtasks": true, "systeminfo.exe": true, "systeminfo": true, "tasklist.exe": true,
	"tasklist": true, "taskkill.exe": true, "taskkill": true, "getmac.exe": true, "getmac": true,
	"eventcreate.exe": true, "eventcreate": true, "gpresult.exe": true, "gpresult": true,
}

// hasSwitch reports whether an argument of cmd may be one of the switches
// CommandTargets reads: one starting with /n, /s, /r, /v, -c or -r in
// either case (arguments start the command or follow a space).
func hasSwitch(cmd string) bool {
	for i := 0; i+1 < len(cmd); i++ {
		if i > 0 && cmd[i-1] != ' ' {
			continue
		}
		switch c := lowerASCII(cmd[i+1]); cmd[i] {
		case '/':
			if c == 'n' || c == 's' || c == 'r' || c == 'v' {
				return true
			}
		case '-':
			if c == 'c' || c == 'r' {
				return true
			}
		}
	}
	return false
}

// splitArgs splits a command line at spaces outside double quotes, quotes
// kept.
func splitArgs(s string) []string {
	var out []string
	start, quoted := -1, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quoted = !quoted
			if start < 0 {
				start = i
			}
		case c == ' ' && !quoted:
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// baseName returns the last element of a Windows path.
func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// normIP drops an IPv4-mapped IPv6 prefix and a zone.
func normIP(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || s == "-" {
		return ""
	}
	s = strings.TrimPrefix(strings.ToLower(s), "::ffff:")
	if i := strings.IndexByte(s, '%'); i > 0 {
		s = s[:i]
	}
	return s
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// localAddr reports whether a logon's source address means this host or
// its link: loopback, unspecified or link-local.
func localAddr(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && (a.IsLoopback() || a.IsUnspecified() || a.IsLinkLocalUnicast())
}

func isLoopback(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && (a.IsLoopback() || a.IsUnspecified())
}

// CommandAccount returns the account a command line names for a remote
// action, as written: /user:X (net use, wmic), /U X (schtasks and the
// other /S tools), -u X (PsExec), -Credential X (PowerShell, a literal name
// only); "" when it names none.
func CommandAccount(cmd string) string {
	if !strings.ContainsAny(cmd, "/-") {
		return ""
	}
	fields := strings.Fields(cmd) // inside a shell's quoted command too
	for k, f := range fields {
		f = strings.Trim(f, `"'`)
		lf := strings.ToLower(f)
		next := ""
		if k+1 < len(fields) {
			next = strings.Trim(fields[k+1], `"'`)
		}
		switch {
		case strings.HasPrefix(lf, "/user:") || strings.HasPrefix(lf, "/u:"):
			return strings.Trim(f[strings.IndexByte(f, ':')+1:], `"'`)
		case lf == "/u" || lf == "-u" || lf == "/user" || lf == "-user" || lf == "-username":
			return next
		case lf == "-credential" || lf == "-cred":
			if next != "" && next[0] != '$' && next[0] != '(' {
				return next
			}
		}
	}
	return ""
}

// CommandDrops returns the files a command line names on another host's
// administrative share, each as the host written and the file's local path
// there: \\HOST\C$\Windows\Temp\x.exe → (HOST, C:\Windows\Temp\x.exe),
// \\HOST\ADMIN$\x.exe → (HOST, C:\Windows\x.exe).
func CommandDrops(cmd string) [][2]string {
	var out [][2]string
	for i := 0; i+2 < len(cmd); i++ {
		if cmd[i] != '\\' || cmd[i+1] != '\\' || (i > 0 && cmd[i-1] == '\\') {
			continue
		}
		end := i + 2
		quoted := i > 0 && cmd[i-1] == '"'
		for end < len(cmd) && cmd[end] != '"' && (quoted || cmd[end] != ' ') {
			end++
		}
		unc := cmd[i+2 : end]
		i = end
		host, rest, ok := strings.Cut(unc, `\`)
		if !ok || host == "" {
			continue
		}
		share, path, ok := strings.Cut(rest, `\`)
		if !ok || path == "" {
			continue
		}
		var local string
		switch ls := strings.ToLower(share); {
		case ls == "admin$":
			local = `C:\Windows\` + path
		case len(ls) == 2 && ls[1] == '$' && 'a' <= ls[0] && ls[0] <= 'z':
			local = strings.ToUpper(ls[:1]) + `:\` + path
		default:
			continue
		}
		out = append(out, [2]string{host, local})
	}
	return out
}

// accountName returns the lower-cased name of an account, without its
// domain: CORP\Adm, adm@corp.local → adm.
func accountName(a string) string {
	if i := strings.LastIndexByte(a, '\\'); i >= 0 {
		a = a[i+1:]
	}
	if i := strings.IndexByte(a, '@'); i > 0 {
		a = a[:i]
	}
	return strings.ToLower(strings.TrimSpace(a))
}

// sameAccount reports whether two accounts are known and the same (by
// name: domains are spelt too many ways, NetBIOS or DNS, to compare).
func sameAccount(a, b string) bool {
	x, y := accountName(a), accountName(b)
	return x != "" && x == y
}
