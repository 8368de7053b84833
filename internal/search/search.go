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
	eng  *detect.Engine
	iocs []IOC
	// index finds the indicators a hit holds (see attribute).
	index iocIndex
}

// Compile compiles q into a Searcher: one Sigma rule, or with indicators
// one rule per kind of indicator (its values ORed in each of the kind's
// fields), over every event (no logsource: field names are those spoor
// dump shows).
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
	var byKind [FileName + 1][]IOC
	for _, ioc := range q.IOCs {
		if ioc.Kind < Hash || ioc.Kind > FileName {
			return nil, fmt.Errorf("%w: indicator %q (line %d): unknown kind", ErrQuery, ioc.Value, ioc.Line)
		}
		byKind[ioc.Kind] = append(byKind[ioc.Kind], ioc)
	}
	for kind, iocs := range byKind {
		if len(iocs) == 0 {
			continue
		}
		alts, err := iocAlternatives(Kind(kind), iocs)
		if err != nil {
			return nil, fmt.Errorf("%w: %s indicators: %v", ErrQuery, Kind(kind), err)
		}
		ss := append(append([]*sigma.Search(nil), base...), &sigma.Search{Name: "ioc", Alternatives: alts})
		cs := append(append([]sigma.Expr(nil), conds...), &sigma.IdentExpr{Name: "ioc"})
		rules = append(rules, rule("ioc-"+Kind(kind).String(), ss, cs))
	}
	eng, errs := detect.Compile(rules, nil, detect.Options{Router: everyEvent})
	if len(errs) > 0 {
		// The parts were checked one by one; what is left is a value
		// the engine refuses (a wildcard base64 value and the like).
		return nil, fmt.Errorf("%w: %v", ErrQuery, errs[0])
	}
	return &Searcher{eng: eng, iocs: q.IOCs, index: newIOCIndex(q.IOCs)}, nil
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
// also in their IPv4-mapped IPv6 form (not in DNS answers: a contained
// 10.0.2.1 would match 10.0.2.17); domains also as the parent of a name; a
// bare file name at the end of a path.
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

// iocAlternatives is the search of the indicators of one kind: one
// alternative per field (ORed), each with every indicator's values.
func iocAlternatives(kind Kind, iocs []IOC) ([][]*sigma.FieldMatch, error) {
	var alts [][]*sigma.FieldMatch
	// add adds fields|mods: raws, raw Sigma strings (wildcards live).
	add := func(fields []string, mods string, raws []string) error {
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
	var exact, suffix []string // raw values: the whole value, its end
	for _, ioc := range iocs {
		v := sigma.EscapeWildcards(ioc.Value)
		switch kind {
		case Hash:
			exact = append(exact, v)
		case IP:
			exact = append(exact, v)
			if a, err := netip.ParseAddr(ioc.Value); err == nil && a.Is4() {
				exact = append(exact, "::ffff:"+v)
			}
		case Domain:
			d := strings.TrimSuffix(v, ".")
			exact = append(exact, d, d+".", "*."+d, "*."+d+".")
		case FileName:
			exact = append(exact, v)
			if !strings.ContainsAny(ioc.Value, `\/`) {
				suffix = append(suffix, `\\`+v, "/"+v)
			}
		}
	}
	var err error
	switch kind {
	case Hash:
		err = errors.Join(add(hashListFields, "|contains", exact), add(hashFields, "", exact))
	case IP:
		err = add(ipFields, "", exact)
	case Domain:
		err = add(domainFields, "", exact)
	case FileName:
		err = errors.Join(add(pathFields, "", exact), add(fileNameFields, "", exact))
		if len(suffix) > 0 {
			err = errors.Join(err, add(pathFields, "|endswith", suffix))
		}
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
		m.hits = m.s.index.attribute(m.hits, m.s.iocs, ev)
	}
	return true, m.hits
}
