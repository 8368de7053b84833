package stix

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Redact says what an export replaces with stable pseudonyms.
type Redact struct {
	// Hosts replaces computer names (short and fully qualified).
	Hosts bool
	// Users replaces account names.
	Users bool
	// IPs replaces the organisation's own addresses: private, loopback,
	// link-local and shared (RFC 6598) ones. Public addresses are the
	// intelligence an export shares and are kept.
	IPs bool
}

// ParseRedact reads a --redact value: a comma-separated list of hosts,
// users and ips ("" for none).
func ParseRedact(s string) (Redact, error) {
	var r Redact
	for _, part := range strings.Split(s, ",") {
		switch strings.ToLower(strings.TrimSpace(part)) {
		case "":
		case "hosts", "host":
			r.Hosts = true
		case "users", "user":
			r.Users = true
		case "ips", "ip":
			r.IPs = true
		default:
			return r, fmt.Errorf("redact %q: want hosts, users or ips", part)
		}
	}
	return r, nil
}

// Pseudonym is the stable stand-in of a redacted value: its kind and the
// first 8 hex digits of SHA-256 over the kind and the lower-cased value,
// so the same host is the same pseudonym in every export, and distinct
// hosts stay distinct.
func Pseudonym(kind, value string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + strings.ToLower(value)))
	return kind + "-" + hex.EncodeToString(sum[:4])
}

// redactor replaces the values an export must not show in every text it
// writes.
type redactor struct {
	res  []*regexp.Regexp  // the values, longest first; more than one when one expression would be too large
	with map[string]string // lower-cased value → pseudonym
}

// redactPart bounds the bytes of values in one expression: Go's regexp
// refuses (and MustCompile panics on) a program of a few million
// instructions, which hundreds of thousands of addresses would make.
const redactPart = 64 << 10

// wellKnownAccounts are account names that identify nobody.
var wellKnownAccounts = map[string]bool{
	"system": true, "local service": true, "network service": true, "anonymous logon": true,
	"nt authority": true, "-": true, "localservice": true, "networkservice": true,
}

// add records value (of kind host, user or ip) as one to replace.
func (r *redactor) add(kind, value, pseudonymOf string) {
	value = strings.TrimSpace(value)
	if len(value) < 3 || wellKnownAccounts[strings.ToLower(value)] {
		return
	}
	if r.with == nil {
		r.with = map[string]string{}
	}
	r.with[strings.ToLower(value)] = Pseudonym(kind, pseudonymOf)
}

// addHost records a computer name and its short form.
func (r *redactor) addHost(name string) {
	short, _, _ := strings.Cut(name, ".")
	r.add("host", name, short)
	r.add("host", short, short)
	r.add("host", short+"$", short) // its machine account
}

// addUser records an account, DOMAIN\name or name@domain.
func (r *redactor) addUser(account string) {
	name := account
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		name = name[i+1:]
	}
	name, _, _ = strings.Cut(name, "@")
	if strings.HasSuffix(name, "$") || wellKnownAccounts[strings.ToLower(name)] {
		return
	}
	r.add("user", name, name)
}

// addIP records an address when it is the organisation's own: the text
// as written, under the pseudonym of the address (the same for every way
// of writing it).
func (r *redactor) addIP(s string) {
	if a, err := netip.ParseAddr(s); err == nil && internal(a) {
		r.add("ip", s, a.WithZone("").Unmap().String())
	}
}

var (
	ipv4RE = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)
	// ipv6RE finds what may be an IPv6 address; netip decides.
	ipv6RE = regexp.MustCompile(`(?i)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}`)
)

// addIPsIn records the organisation's own addresses, IPv4 and IPv6, that
// text holds (command lines and paths hold them too: \\10.0.0.5\c$).
func (r *redactor) addIPsIn(text string) {
	for _, ip := range ipv4RE.FindAllString(text, -1) {
		r.addIP(ip)
	}
	for _, ip := range ipv6RE.FindAllString(text, -1) {
		if strings.Count(ip, ":") >= 2 {
			r.addIP(ip)
		}
	}
}

var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// internal reports whether a is an address of the organisation's own
// networks rather than of the internet.
func internal(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() || sharedSpace.Contains(a)
}

// compile prepares the replacement; call it after the last add.
func (r *redactor) compile() {
	if len(r.with) == 0 {
		return
	}
	vals := make([]string, 0, len(r.with))
	for v := range r.with {
		vals = append(vals, v)
	}
	// Longest first, so a fully qualified name wins over its first label.
	slices.SortFunc(vals, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	r.res = nil
	var alts []string
	size := 0
	flush := func() {
		if len(alts) > 0 {
			r.res = append(r.res, regexp.MustCompile(`(?i)`+strings.Join(alts, "|"))) // quoted literals within redactPart
			alts, size = alts[:0], 0
		}
	}
	for _, v := range vals {
		q := regexp.QuoteMeta(v)
		if size+len(q) > redactPart {
			flush()
		}
		alts = append(alts, q)
		size += len(q) + 1
	}
	flush()
}

// text returns s with every recorded value replaced by its pseudonym,
// where it is not part of a longer name (a letter, digit or _ on either
// side).
func (r *redactor) text(s string) string {
	var locs [][]int
	for _, re := range r.res {
		locs = append(locs, re.FindAllStringIndex(s, -1)...)
	}
	if locs == nil {
		return s
	}
	if len(r.res) > 1 {
		// Matches of several expressions: leftmost first and, at one
		// place, longest, as one expression of every value would choose.
		slices.SortFunc(locs, func(a, b []int) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(b[1], a[1])) })
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		before, _ := utf8.DecodeLastRuneInString(s[:l[0]])
		after, _ := utf8.DecodeRuneInString(s[l[1]:])
		if l[0] < last || l[0] > 0 && nameRune(before) || l[1] < len(s) && nameRune(after) {
			continue
		}
		b.WriteString(s[last:l[0]])
		b.WriteString(r.pseudonym(s[l[0]:l[1]]))
		last = l[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// pseudonym returns the pseudonym of a value matched without case.
func (r *redactor) pseudonym(v string) string {
	if p, ok := r.with[strings.ToLower(v)]; ok {
		return p
	}
	for k, p := range r.with { // case folding that ToLower does not undo (the Kelvin sign)
		if strings.EqualFold(k, v) {
			return p
		}
	}
	return Pseudonym("value", v) // unreachable: the expression holds only recorded values
}

func nameRune(c rune) bool { return c == '_' || unicode.IsLetter(c) || unicode.IsDigit(c) }
