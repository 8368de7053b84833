// Package search finds the events that hold given text, field values or
// indicators of compromise (spoor search). It has no matcher of its own: a
// Query is compiled into Sigma detection rules (sigma.Rule values built
// directly, checked as the loader checks a rule's) and matched by
// internal/detect's engine, with its routing and prefilter, over the events
// internal/source reads.
package search

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// Query is what to look for. The parts given are ANDed: an event is a hit
// when it holds the keywords, matches the regular expressions and the
// field terms, and holds one of the indicators (when any are given).
type Query struct {
	// Keywords are literal texts (no wildcards) looked for in every field
	// value of an event, not in field names, as Sigma keyword searches do:
	// a value containing the text, ASCII and Unicode case ignored unless
	// Cased.
	Keywords []string
	// Regexes are regular expressions (Sigma's re: Go's RE2 syntax) looked
	// for in every field value; case-sensitive unless (?i).
	Regexes []string
	// All asks for every keyword and every regular expression (each in
	// some field); otherwise one keyword and one regular expression do.
	All bool
	// Cased makes keywords case-sensitive.
	Cased bool
	// Fields are field terms, ANDed: `Name|modifiers=value` as a Sigma
	// rule would write `Name|modifiers: value`.
	Fields []string
	// IOCs are indicators; an event holding any of them is a hit.
	IOCs []IOC
}

// ErrQuery is the error of a query that cannot be compiled: wrapped with
// the part of the query at fault.
var ErrQuery = errors.New("bad query")

// Searcher is a compiled Query: immutable, safe for concurrent use; each
// worker takes its own Matcher.
type Searcher struct {
	eng *detect.Engine
	// iocs[i] is the indicator of rule i when the query has indicators.
	iocs []IOC
}

// Compile compiles q into a Searcher: one Sigma rule, or with indicators
// one rule per indicator (so that each hit says which it holds), over
// every event (no logsource: field names are those spoor dump shows).
func Compile(q Query) (*Searcher, error) {
	var base []*sigma.Search
	var conds []sigma.Expr
	add := func(name string, alts ...[]*sigma.FieldMatch) {
		base = append(base, &sigma.Search{Name: name, Alternatives: alts})
		conds = append(conds, &sigma.IdentExpr{Name: name})
	}
	if len(q.Keywords) > 0 {
		vals := make([]sigma.Value, len(q.Keywords))
		for i, k := range q.Keywords {
			if k == "" {
				return nil, fmt.Errorf("%w: --keyword: empty text", ErrQuery)
			}
			vals[i] = sigma.Value{Kind: sigma.StringValue, Raw: sigma.EscapeWildcards(k)}
		}
		var mods []string
		if q.All && len(vals) > 1 {
			mods = append(mods, "all")
		}
		if q.Cased {
			mods = append(mods, "cased")
		}
		key := ""
		if len(mods) > 0 {
			key = "|" + strings.Join(mods, "|")
		}
		fm, err := sigma.NewFieldMatch(key, vals)
		if err != nil {
			return nil, fmt.Errorf("%w: --keyword: %v", ErrQuery, err)
		}
		add("keywords", []*sigma.FieldMatch{fm})
	}
	if len(q.Regexes) > 0 {
		var any []sigma.Expr
		for i, re := range q.Regexes {
			fm, err := sigma.NewFieldMatch("|re", []sigma.Value{{Kind: sigma.StringValue, Raw: re}})
			if err != nil {
				return nil, fmt.Errorf("%w: --regex %q: %v", ErrQuery, re, err)
			}
			name := "regex" + strconv.Itoa(i)
			base = append(base, &sigma.Search{Name: name, Alternatives: [][]*sigma.FieldMatch{{fm}}})
			any = append(any, &sigma.IdentExpr{Name: name})
		}
		if q.All || len(any) == 1 {
			conds = append(conds, any...)
		} else {
			conds = append(conds, &sigma.OrExpr{Operands: any})
		}
	}
	for i, term := range q.Fields {
		key, value, ok := strings.Cut(term, "=")
		if !ok || key == "" || strings.HasPrefix(key, "|") {
			return nil, fmt.Errorf("%w: --field %q: want NAME=VALUE or NAME|modifier=VALUE", ErrQuery, term)
		}
		fm, err := sigma.NewFieldMatch(key, []sigma.Value{sigma.PlainValue(value)})
		if err != nil {
			return nil, fmt.Errorf("%w: --field %q: %v", ErrQuery, term, err)
		}
		add("field"+strconv.Itoa(i), []*sigma.FieldMatch{fm})
	}

	var rules []*sigma.Rule
	if len(q.IOCs) == 0 {
		if len(base) == 0 {
			return nil, fmt.Errorf("%w: nothing to search for (give --keyword, --regex, --field or --ioc)", ErrQuery)
		}
		rules = append(rules, rule("query", base, conds))
	}
	for i, ioc := range q.IOCs {
		alts, err := iocAlternatives(ioc)
		if err != nil {
			return nil, fmt.Errorf("%w: indicator %q (line %d): %v", ErrQuery, ioc.Value, ioc.Line, err)
		}
		ss := append(append([]*sigma.Search(nil), base...), &sigma.Search{Name: "ioc", Alternatives: alts})
		cs := append(append([]sigma.Expr(nil), conds...), &sigma.IdentExpr{Name: "ioc"})
		rules = append(rules, rule("ioc"+strconv.Itoa(i), ss, cs))
	}
	eng, errs := detect.Compile(rules, nil, detect.Options{Router: everyEvent})
	if len(errs) > 0 {
		// The parts were checked one by one; what is left is a value
		// the engine refuses (a wildcard base64 value and the like).
		return nil, fmt.Errorf("%w: %v", ErrQuery, errs[0])
	}
	return &Searcher{eng: eng, iocs: q.IOCs}, nil
}

// everyEvent routes a query to every event, whatever its channel.
var everyEvent = detect.RouterFunc(func(sigma.Logsource) (detect.Route, error) { return detect.Route{}, nil })

func rule(id string, searches []*sigma.Search, conds []sigma.Expr) *sigma.Rule {
	var cond sigma.Expr = &sigma.AndExpr{Operands: conds}
	if len(conds) == 1 {
		cond = conds[0]
	}
	r := &sigma.Rule{Detection: sigma.Detection{Searches: searches, Conditions: []sigma.Expr{cond}, ConditionText: []string{cond.String()}}}
	r.ID, r.Title = id, "spoor search "+id
	return r
}

// The fields where each kind of indicator occurs, as the logs name them
// (Sysmon, Security, System, Terminal Services). Hashes are matched in
// Sysmon's "SHA1=...,MD5=..." lists and in single-hash fields; addresses
// also in their IPv4-mapped IPv6 form and in DNS answers; domains also as
// the parent of a name; a bare file name at the end of a path.
var (
	hashListFields = []string{"Hashes", "Hash"}
	hashFields     = []string{"MD5", "SHA1", "SHA256", "IMPHASH", "md5", "sha1", "sha256", "Imphash"}
	ipFields       = []string{"DestinationIp", "SourceIp", "IpAddress", "SourceAddress", "DestAddress",
		"ClientAddress", "Address", "SourceNetworkAddress", "ClientIP"}
	domainFields = []string{"QueryName", "DestinationHostname", "SourceHostname"}
	pathFields   = []string{"Image", "ParentImage", "TargetFilename", "ImageLoaded", "TargetImage",
		"SourceImage", "NewProcessName", "ParentProcessName", "ProcessName", "Application",
		"ServiceFileName", "ImagePath", "Device", "FileName", "Path"}
	fileNameFields = []string{"OriginalFileName"}
)

// iocAlternatives is the search of one indicator: one alternative per
// field (ORed).
func iocAlternatives(ioc IOC) ([][]*sigma.FieldMatch, error) {
	var alts [][]*sigma.FieldMatch
	// add adds fields|mods: raws, raw Sigma strings (wildcards live).
	add := func(fields []string, mods string, raws ...string) error {
		sv := make([]sigma.Value, len(raws))
		for i, r := range raws {
			sv[i] = sigma.Value{Kind: sigma.StringValue, Raw: r}
		}
		for _, f := range fields {
			fm, err := sigma.NewFieldMatch(f+mods, sv)
			if err != nil {
				return err
			}
			alts = append(alts, []*sigma.FieldMatch{fm})
		}
		return nil
	}
	v := sigma.EscapeWildcards(ioc.Value)
	var err error
	switch ioc.Kind {
	case Hash:
		err = errors.Join(add(hashListFields, "|contains", v), add(hashFields, "", v))
	case IP:
		vals := []string{v}
		if a, perr := netip.ParseAddr(ioc.Value); perr == nil && a.Is4() {
			vals = append(vals, "::ffff:"+v)
		}
		err = errors.Join(add(ipFields, "", vals...), add([]string{"QueryResults"}, "|contains", v))
	case Domain:
		d := strings.TrimSuffix(v, ".")
		err = add(domainFields, "", d, d+".", "*."+d)
	case FileName:
		if strings.ContainsAny(ioc.Value, `\/`) {
			err = add(pathFields, "", v)
		} else {
			// The name at the end of a path, or the whole value.
			err = errors.Join(add(pathFields, "|endswith", `\\`+v, "/"+v),
				add(pathFields, "", v), add(fileNameFields, "", v))
		}
	default:
		err = fmt.Errorf("unknown kind %d", ioc.Kind)
	}
	return alts, err
}

// NewMatcher returns a Matcher for one goroutine.
func (s *Searcher) NewMatcher() *Matcher {
	return &Matcher{s: s, m: s.eng.NewMatcher()}
}

// Matcher matches events against a Searcher's query. It is not safe for
// concurrent use.
type Matcher struct {
	s    *Searcher
	m    *detect.Matcher
	dst  []detect.Detection
	hits []*IOC
}

// Match reports whether ev is a hit and, for a query with indicators, the
// indicators ev holds (in the order of the list). The slice belongs to the
// Matcher and is valid until the next Match.
func (m *Matcher) Match(ev *event.Event) (bool, []*IOC) {
	m.dst = m.m.Match(ev, m.dst[:0])
	if len(m.dst) == 0 {
		return false, nil
	}
	m.hits = m.hits[:0]
	if len(m.s.iocs) > 0 {
		for _, d := range m.dst {
			m.hits = append(m.hits, &m.s.iocs[d.Rule.Index()])
		}
	}
	return true, m.hits
}
