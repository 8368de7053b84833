package search

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// Kind is the kind of an indicator of compromise.
type Kind uint8

// The kinds of indicator, each matched against the fields where it occurs
// (iocFields).
const (
	Hash     Kind = iota + 1 // MD5, SHA-1, SHA-256 (or an imphash) in hex
	IP                       // an IPv4 or IPv6 address
	Domain                   // a host or domain name: also matches its subdomains
	FileName                 // a file name (matched at the end of paths) or a full path
)

var kindNames = [...]string{Hash: "hash", IP: "ip", Domain: "domain", FileName: "file"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// IOC is one indicator of an IOC file.
type IOC struct {
	Kind  Kind
	Value string // as written, refanged ("evil[.]com" becomes "evil.com")
	Line  int    // in its file, 1-based
}

// Limits of an IOC file: a list longer than that is not a list of
// indicators a person keeps, and each indicator becomes a rule.
const (
	MaxIOCs    = 100_000
	maxIOCLine = 4096
)

// ErrIOC is the error of an IOC file with a line that is no indicator.
var ErrIOC = errors.New("bad indicator")

// ParseIOCs reads an IOC list: one indicator a line, blank lines and lines
// starting with # ignored. A line's kind is told by its form (hex of 32,
// 40 or 64 digits: a hash; an address: an IP; a path or a name ending in a
// file extension: a file; a dotted name: a domain) or given by a prefix
// (hash:, ip:, domain:, file:), which settles names such as "update.com".
// name is the file's name, for errors ("iocs.txt:3: ...").
func ParseIOCs(r io.Reader, name string) ([]IOC, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), maxIOCLine)
	var out []IOC
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if text == "" || text[0] == '#' {
			continue
		}
		ioc, err := parseIOC(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		ioc.Line = line
		if len(out) == MaxIOCs {
			return nil, fmt.Errorf("%s:%d: more than %d indicators", name, line, MaxIOCs)
		}
		out = append(out, ioc)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", name, line+1, maxIOCLine)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no indicators (one a line: hashes, IP addresses, domains, file names)", name)
	}
	return out, nil
}

// parseIOC tells the kind of one indicator.
func parseIOC(text string) (IOC, error) {
	if k, v, ok := strings.Cut(text, ":"); ok {
		for kind := Hash; kind <= FileName; kind++ {
			if strings.EqualFold(k, kind.String()) {
				v = refang(strings.TrimSpace(v))
				if v == "" {
					return IOC{}, fmt.Errorf("%w: %q: empty after %s:", ErrIOC, text, k)
				}
				if err := check(kind, v); err != nil {
					return IOC{}, fmt.Errorf("%w: %q: %v", ErrIOC, text, err)
				}
				return IOC{Kind: kind, Value: v}, nil
			}
		}
	}
	v := refang(text)
	switch {
	case isHex(v) && (len(v) == 32 || len(v) == 40 || len(v) == 64):
		return IOC{Kind: Hash, Value: v}, nil
	case isAddr(v):
		return IOC{Kind: IP, Value: v}, nil
	case strings.ContainsAny(v, `\/`) || hasFileExtension(v):
		return IOC{Kind: FileName, Value: v}, nil
	case isDomain(v):
		return IOC{Kind: Domain, Value: v}, nil
	}
	return IOC{}, fmt.Errorf("%w: %q is neither a hash (hex MD5, SHA-1, SHA-256), an IP address, a domain nor a file name (prefix it with hash:, ip:, domain: or file:)", ErrIOC, text)
}

// check checks v against the form of kind.
func check(kind Kind, v string) error {
	switch kind {
	case Hash:
		if !isHex(v) {
			return errors.New("a hash is hexadecimal")
		}
	case IP:
		if !isAddr(v) {
			return errors.New("not an IP address")
		}
	case Domain:
		if !isDomain(v) {
			return errors.New("not a domain name")
		}
	case FileName:
		if strings.ContainsAny(v, "\x00\r\n") {
			return errors.New("not a file name")
		}
	}
	return nil
}

// refang undoes the usual defanging of shared indicators: evil[.]com,
// 10[.]1[.]2[.]3, evil(.)com.
func refang(s string) string {
	return strings.NewReplacer("[.]", ".", "(.)", ".", "[:]", ":").Replace(s)
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isAddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// isDomain reports whether s is a dotted host name with an alphabetic top
// label: letters, digits, hyphens and underscores.
func isDomain(s string) bool {
	s = strings.TrimSuffix(s, ".")
	labels := strings.Split(s, ".")
	if len(labels) < 2 || len(s) > 253 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i] | 0x20
			if !('a' <= c && c <= 'z' || '0' <= l[i] && l[i] <= '9' || l[i] == '-' || l[i] == '_') {
				return false
			}
		}
	}
	top := labels[len(labels)-1]
	for i := 0; i < len(top); i++ {
		if c := top[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// fileExtensions are extensions that make a dotted name a file rather
// than a domain (.com is left to domains: write file:name.com).
var fileExtensions = map[string]bool{
	"exe": true, "dll": true, "sys": true, "ps1": true, "psm1": true, "bat": true, "cmd": true,
	"vbs": true, "vbe": true, "js": true, "jse": true, "hta": true, "scr": true, "lnk": true,
	"msi": true, "cpl": true, "ocx": true, "jar": true, "zip": true, "rar": true, "7z": true,
	"cab": true, "iso": true, "img": true, "vhd": true, "dat": true, "tmp": true, "txt": true,
	"log": true, "doc": true, "docx": true, "docm": true, "xls": true, "xlsx": true, "xlsm": true,
	"pdf": true, "rtf": true, "dmp": true, "bin": true, "ini": true, "inf": true, "xml": true,
	"wsf": true, "py": true, "pif": true,
}

func hasFileExtension(s string) bool {
	i := strings.LastIndexByte(s, '.')
	return i > 0 && fileExtensions[strings.ToLower(s[i+1:])]
}
