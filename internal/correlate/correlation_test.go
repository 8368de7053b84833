package correlate

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

// t0 is the time of the first input of every test.
var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

// baseRules returns YAML documents for detection rules with these names
// (and ids "id-<name>").
func baseRules(names ...string) string {
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "---\ntitle: rule %s\nid: id-%s\nname: %s\nlogsource: {product: windows}\ndetection:\n    sel: {EventID: 1}\n    condition: sel\n", n, n, n)
	}
	return b.String()
}

// mustCompile parses the YAML documents and compiles their correlations,
// failing on any error.
func mustCompile(t *testing.T, docs string) *Set {
	t.Helper()
	s, errs := compileYAML(t, docs)
	if len(errs) > 0 {
		t.Fatalf("Compile: %v", errors.Join(errs...))
	}
	return s
}

func compileYAML(t *testing.T, docs string) (*Set, []error) {
	t.Helper()
	c := sigma.Parse([]byte(docs), "test.yml")
	for _, e := range c.Errors {
		if !e.Warning {
			t.Fatalf("parse: %v", e)
		}
	}
	return Compile(c.Correlations, c.Rules)
}

// in makes an input of the rule named rule at t0 plus at, with fields
// given as "name=value" (a name without "=" is absent).
func in(rule string, at time.Duration, fields ...string) Input {
	m := map[string]string{}
	for _, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return Input{RuleName: rule, Time: t0.Add(at), Fields: m}
}

// summary renders matches as comparable lines: correlation name, group,
// first and last offsets, value, max, count and inputs.
func summary(ms []Match) []string {
	var out []string
	for _, m := range ms {
		var g []string
		for _, p := range m.Group {
			g = append(g, p.Field+"="+p.Value)
		}
		name := m.Correlation.Name
		if name == "" {
			name = m.Correlation.Title
		}
		out = append(out, fmt.Sprintf("%s [%s] %v..%v fired %v value %g max %g count %d inputs %v parts %v",
			name, strings.Join(g, ","), m.First.Sub(t0), m.Last.Sub(t0), m.Fired.Sub(t0), m.Value, m.Max, m.Count, m.Inputs, m.Parts))
	}
	return out
}

// corrDoc writes a correlation document.
func corrDoc(name, typ, rules, groupBy, timespan, condition string) string {
	s := fmt.Sprintf("---\ntitle: corr %s\nname: %s\ncorrelation:\n    type: %s\n    rules: [%s]\n    group-by: [%s]\n    timespan: %s\n", name, name, typ, rules, groupBy, timespan)
	if condition != "" {
		s += "    condition: {" + condition + "}\n"
	}
	return s
}

type runCase struct {
	name   string
	docs   string
	inputs []Input
	want   []string
}

func runCases(t *testing.T, cases []runCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustCompile(t, c.docs)
			got := summary(mustRun(t, s, c.inputs))
			if !slices.Equal(got, c.want) {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(c.want, "\n\t"))
			}
			// The same inputs in any order give the same matches, up to
			// the input indices.
			rng := rand.New(rand.NewPCG(1, 2))
			for range 5 {
				perm := rng.Perm(len(c.inputs))
				shuffled := make([]Input, len(c.inputs))
				for i, p := range perm {
					shuffled[i] = c.inputs[p]
				}
				ms := mustRun(t, s, shuffled)
				for i := range ms {
					for x, idx := range ms[i].Inputs {
						ms[i].Inputs[x] = perm[idx]
					}
					slices.Sort(ms[i].Inputs)
				}
				if got2 := summary(ms); !slices.Equal(got2, got) {
					t.Fatalf("shuffled %v: got\n\t%s\nwant\n\t%s", perm, strings.Join(got2, "\n\t"), strings.Join(got, "\n\t"))
				}
			}
		})
	}
}

const sec = time.Second

func TestEventCount(t *testing.T) {
	docs := baseRules("fail") + corrDoc("many", "event_count", "fail", "User", "10s", "gte: 3")
	lt := baseRules("fail") + corrDoc("few", "event_count", "fail", "User", "10s", "lt: 2")
	rng := baseRules("fail") + corrDoc("range", "event_count", "fail", "User", "10s", "gt: 1, lte: 3")
	runCases(t, []runCase{
		{"exactly timespan apart is inside", docs,
			[]Input{in("fail", 0, "User=a"), in("fail", 5*sec, "User=a"), in("fail", 10*sec, "User=a")},
			[]string{"many [User=a] 0s..10s fired 10s value 3 max 3 count 3 inputs [0 1 2] parts []"}},
		{"a nanosecond over timespan is outside", docs,
			[]Input{in("fail", 0, "User=a"), in("fail", 5*sec, "User=a"), in("fail", 10*sec+1, "User=a")},
			nil},
		{"groups never mix", docs,
			[]Input{in("fail", 0, "User=a"), in("fail", 1*sec, "User=b"), in("fail", 2*sec, "User=a"), in("fail", 3*sec, "User=b"),
				in("fail", 4*sec, "User=c"), in("fail", 5*sec, "User=c"), in("fail", 6*sec, "User=c")},
			[]string{"many [User=c] 4s..6s fired 6s value 3 max 3 count 3 inputs [4 5 6] parts []"}},
		{"missing group-by field leaves the input out; empty value is a group", docs,
			[]Input{in("fail", 0, "User"), in("fail", 1*sec, "User"), in("fail", 2*sec, "User"),
				in("fail", 3*sec, "User="), in("fail", 4*sec, "User="), in("fail", 5*sec, "User=")},
			[]string{"many [User=] 3s..5s fired 5s value 3 max 3 count 3 inputs [3 4 5] parts []"}},
		{"a burst is one match", docs,
			[]Input{in("fail", 0, "User=a"), in("fail", 1*sec, "User=a"), in("fail", 2*sec, "User=a"), in("fail", 3*sec, "User=a"),
				in("fail", 4*sec, "User=a"), in("fail", 30*sec, "User=a"), in("fail", 31*sec, "User=a"), in("fail", 40*sec, "User=a")},
			[]string{
				"many [User=a] 0s..4s fired 2s value 3 max 5 count 5 inputs [0 1 2 3 4] parts []",
				"many [User=a] 30s..40s fired 40s value 3 max 3 count 3 inputs [5 6 7] parts []",
			}},
		{"equal times arrive together", docs,
			[]Input{in("fail", 0, "User=a"), in("fail", 0, "User=a"), in("fail", 0, "User=a"), in("fail", 0, "User=a")},
			[]string{"many [User=a] 0s..0s fired 0s value 4 max 4 count 4 inputs [0 1 2 3] parts []"}},
		{"unreferenced rules and inputs without time are ignored", docs,
			[]Input{in("other", 0, "User=a"), in("other", 1, "User=a"), in("other", 2, "User=a"),
				{RuleName: "fail", Fields: map[string]string{"User": "a"}}},
			nil},
		{"lt waits for the window to close", lt,
			[]Input{in("fail", 0, "User=a"), in("fail", 10*sec, "User=a"), in("fail", 0, "User=b"), in("fail", 20*sec+1, "User=a")},
			[]string{
				"few [User=b] 0s..0s fired 0s value 1 max 1 count 1 inputs [2] parts []",
				"few [User=a] 20.000000001s..20.000000001s fired 20.000000001s value 1 max 1 count 1 inputs [3] parts []",
			}},
		{"a range holds only on the whole window", rng,
			[]Input{in("fail", 0, "User=a"), in("fail", 1*sec, "User=a"), in("fail", 2*sec, "User=a"), in("fail", 3*sec, "User=a"),
				in("fail", 0, "User=b"), in("fail", 9*sec, "User=b"), in("fail", 10*sec, "User=b")},
			[]string{"range [User=b] 0s..10s fired 10s value 3 max 3 count 3 inputs [4 5 6] parts []"}},
	})
}

func TestValueCount(t *testing.T) {
	docs := baseRules("fail") + corrDoc("spray", "value_count", "fail", "Ip", "1m", "gt: 2, field: User")
	tuple := baseRules("fail") + corrDoc("pairs", "value_count", "fail", "Ip", "1m", "gte: 3, field: [User, Domain]")
	runCases(t, []runCase{
		{"distinct values", docs,
			[]Input{in("fail", 0, "Ip=1", "User=a"), in("fail", 1*sec, "Ip=1", "User=a"), in("fail", 2*sec, "Ip=1", "User=b"),
				in("fail", 3*sec, "Ip=1", "User"), in("fail", 60*sec, "Ip=1", "User=c"), in("fail", 60*sec, "Ip=2", "User=d")},
			[]string{"spray [Ip=1] 0s..1m0s fired 1m0s value 3 max 3 count 5 inputs [0 1 2 3 4] parts []"}},
		{"window edge", docs,
			[]Input{in("fail", 0, "Ip=1", "User=a"), in("fail", 2*sec, "Ip=1", "User=b"), in("fail", 60*sec+1, "Ip=1", "User=c")},
			nil},
		{"tuples of several fields", tuple,
			[]Input{in("fail", 0, "Ip=1", "User=a", "Domain=x"), in("fail", 1*sec, "Ip=1", "User=a", "Domain=y"),
				in("fail", 2*sec, "Ip=1", "User=a", "Domain=y"), in("fail", 3*sec, "Ip=1", "User=b", "Domain=y")},
			[]string{"pairs [Ip=1] 0s..3s fired 3s value 3 max 3 count 4 inputs [0 1 2 3] parts []"}},
	})
}

func TestTemporal(t *testing.T) {
	docs := baseRules("a", "b", "c") + corrDoc("all3", "temporal", "a, b, c", "Host", "5s", "")
	two := baseRules("a", "b", "c") + corrDoc("any2", "temporal", "a, b, c", "Host", "5s", "gte: 2")
	runCases(t, []runCase{
		{"all rules within timespan", docs,
			[]Input{in("c", 0, "Host=h"), in("a", 2*sec, "Host=h"), in("a", 3*sec, "Host=h"), in("b", 5*sec, "Host=h")},
			[]string{"all3 [Host=h] 0s..5s fired 5s value 3 max 3 count 4 inputs [0 1 2 3] parts []"}},
		{"just over timespan", docs,
			[]Input{in("c", 0, "Host=h"), in("a", 2*sec, "Host=h"), in("b", 5*sec+1, "Host=h")},
			nil},
		{"on different hosts", docs,
			[]Input{in("c", 0, "Host=h"), in("a", 1*sec, "Host=h"), in("b", 2*sec, "Host=other")},
			nil},
		{"a condition counts distinct rules", two,
			[]Input{in("a", 0, "Host=h"), in("a", 1*sec, "Host=h"), in("c", 2*sec, "Host=h")},
			[]string{"any2 [Host=h] 0s..2s fired 2s value 2 max 2 count 3 inputs [0 1 2] parts []"}},
	})
}

func TestTemporalOrdered(t *testing.T) {
	docs := baseRules("a", "b") + corrDoc("ab", "temporal_ordered", "a, b", "Host", "10s", "")
	aba := baseRules("a", "b") + corrDoc("aba", "temporal_ordered", "a, b, a", "Host", "10s", "")
	runCases(t, []runCase{
		{"in order", docs,
			[]Input{in("a", 0, "Host=h"), in("b", 10*sec, "Host=h")},
			[]string{"ab [Host=h] 0s..10s fired 10s value 2 max 2 count 2 inputs [0 1] parts []"}},
		{"in order but just over timespan", docs,
			[]Input{in("a", 0, "Host=h"), in("b", 10*sec+1, "Host=h")},
			nil},
		{"out of order", docs,
			[]Input{in("b", 0, "Host=h"), in("a", 1*sec, "Host=h")},
			nil},
		{"equal times are in order", docs,
			[]Input{in("b", 0, "Host=h"), in("a", 0, "Host=h")},
			[]string{"ab [Host=h] 0s..0s fired 0s value 2 max 2 count 2 inputs [0 1] parts []"}},
		{"b a b: the second b follows a", docs,
			[]Input{in("b", 0, "Host=h"), in("a", 3*sec, "Host=h"), in("b", 4*sec, "Host=h")},
			[]string{"ab [Host=h] 0s..4s fired 4s value 2 max 2 count 3 inputs [0 1 2] parts []"}},
		{"order across groups does not count", docs,
			[]Input{in("a", 0, "Host=h"), in("b", 1*sec, "Host=g")},
			nil},
		{"a b a needs a second a", aba,
			[]Input{in("a", 0, "Host=h"), in("b", 1*sec, "Host=h")},
			nil},
		{"a b a", aba,
			[]Input{in("a", 0, "Host=h"), in("b", 1*sec, "Host=h"), in("a", 2*sec, "Host=h")},
			[]string{"aba [Host=h] 0s..2s fired 2s value 3 max 3 count 3 inputs [0 1 2] parts []"}},
		{"a a b: one a cannot fill both places", aba,
			[]Input{in("a", 0, "Host=h"), in("a", 1*sec, "Host=h"), in("b", 2*sec, "Host=h")},
			nil},
		{"the window's first a is too early for the last", aba,
			[]Input{in("a", 0, "Host=h"), in("b", 1*sec, "Host=h"), in("a", 10*sec+1, "Host=h")},
			nil},
	})
}

func TestValueAggregates(t *testing.T) {
	sum := baseRules("up") + corrDoc("sum", "value_sum", "up", "Ip", "1m", "gt: 100, field: Bytes")
	avg := baseRules("up") + corrDoc("avg", "value_avg", "up", "Ip", "1m", "gte: 50, field: Bytes")
	p90 := baseRules("up") + corrDoc("p90", "value_percentile", "up", "Ip", "1m", "gte: 9.5, field: Bytes, percentile: 90")
	med := baseRules("up") + corrDoc("med", "value_median", "up", "Ip", "1m", "eq: 2.5, field: Bytes")
	// value_percentile as the specification's example writes it: a value
	// carried by at most 25% of the group's inputs in the window; the match
	// holds the inputs of that value.
	rare := baseRules("up") + corrDoc("rare", "value_percentile", "up", "Host", "1h", "lte: 25, field: Image")
	common := baseRules("up") + corrDoc("common", "value_percentile", "up", "Host", "1h", "gt: 50, neq: 75, field: Image")
	runCases(t, []runCase{
		{"a rare value", rare,
			[]Input{in("up", 0, "Host=h", "Image=a"), in("up", 1*sec, "Host=h", "Image=a"), in("up", 2*sec, "Host=h", "Image=b"),
				in("up", 3*sec, "Host=h", "Image=a"), in("up", 4*sec, "Host=h", "Image=a"), in("up", 5*sec, "Host=h")},
			[]string{"rare [Host=h] 0s..5s fired 5s value 20 max 20 count 6 inputs [2] parts []"}},
		{"no rare value", rare,
			[]Input{in("up", 0, "Host=h", "Image=a"), in("up", 1*sec, "Host=h", "Image=b"), in("up", 2*sec, "Host=h", "Image=b"),
				in("up", 3*sec, "Host=h", "Image=a")},
			nil},
		{"rare only once the window is whole", rare,
			[]Input{in("up", 0, "Host=h", "Image=b"), in("up", 1*sec, "Host=h", "Image=a"), in("up", 2*sec, "Host=h", "Image=a"),
				in("up", 3*sec, "Host=h", "Image=a"), in("up", 2*time.Hour, "Host=h", "Image=c")},
			[]string{"rare [Host=h] 0s..3s fired 3s value 25 max 25 count 4 inputs [0] parts []"}},
		{"a common value, but not at 75%", common,
			[]Input{in("up", 0, "Host=h", "Image=a"), in("up", 1*sec, "Host=h", "Image=a"), in("up", 2*sec, "Host=h", "Image=a"),
				in("up", 3*sec, "Host=h", "Image=b"), in("up", 2*time.Hour, "Host=h", "Image=a"), in("up", 2*time.Hour+sec, "Host=h", "Image=a"),
				in("up", 2*time.Hour+2*sec, "Host=h", "Image=b")},
			[]string{"common [Host=h] 2h0m0s..2h0m2s fired 2h0m2s value 66.66666666666667 max 66.66666666666667 count 3 inputs [4 5] parts []"}},
		{"sum over timespan", sum,
			[]Input{in("up", 0, "Ip=1", "Bytes=60"), in("up", 30*sec, "Ip=1", "Bytes=x"), in("up", 60*sec, "Ip=1", "Bytes=0x29")},
			[]string{"sum [Ip=1] 0s..1m0s fired 1m0s value 101 max 101 count 3 inputs [0 1 2] parts []"}},
		{"sum just over timespan", sum,
			[]Input{in("up", 0, "Ip=1", "Bytes=60"), in("up", 60*sec+1, "Ip=1", "Bytes=41")},
			nil},
		{"sum in another group", sum,
			[]Input{in("up", 0, "Ip=1", "Bytes=60"), in("up", 1*sec, "Ip=2", "Bytes=41")},
			nil},
		{"average ignores non-numbers", avg,
			[]Input{in("up", 0, "Ip=1", "Bytes=40"), in("up", 1*sec, "Ip=1", "Bytes=-"), in("up", 2*sec, "Ip=1", "Bytes=60"),
				in("up", 3*sec, "Ip=2", "Bytes=10"), in("up", 4*sec, "Ip=2", "Bytes")},
			[]string{"avg [Ip=1] 0s..2s fired 2s value 50 max 50 count 3 inputs [0 1 2] parts []"}},
		{"90th percentile interpolates", p90,
			[]Input{in("up", 0, "Ip=1", "Bytes=1"), in("up", 1*sec, "Ip=1", "Bytes=10"), in("up", 2*sec, "Ip=1", "Bytes=3"),
				in("up", 3*sec, "Ip=1", "Bytes=7"), in("up", 4*sec, "Ip=1", "Bytes=9")},
			[]string{"p90 [Ip=1] 0s..4s fired 4s value 9.6 max 9.6 count 5 inputs [0 1 2 3 4] parts []"}},
		{"old numbers leave the percentile's window", p90,
			[]Input{in("up", 0, "Ip=1", "Bytes=100"), in("up", 61*sec, "Ip=1", "Bytes=1"), in("up", 62*sec, "Ip=1", "Bytes=20")},
			[]string{"p90 [Ip=1] 0s..0s fired 0s value 100 max 100 count 1 inputs [0] parts []",
				"p90 [Ip=1] 1m1s..1m2s fired 1m2s value 18.1 max 18.1 count 2 inputs [1 2] parts []"}},
		{"median of four", med,
			[]Input{in("up", 0, "Ip=1", "Bytes=4"), in("up", 1*sec, "Ip=1", "Bytes=1"), in("up", 2*sec, "Ip=1", "Bytes=3"),
				in("up", 3*sec, "Ip=1", "Bytes=2")},
			[]string{"med [Ip=1] 0s..3s fired 3s value 2.5 max 2.5 count 4 inputs [0 1 2 3] parts []"}},
	})
}

// specAliases is the field name aliases example of the specification.
const specAliases = `
title: internal error
name: internal_error
logsource: {product: web}
detection:
    sel: {http.response.status_code: 500}
    condition: sel
---
title: new connection
name: new_network_connection
logsource: {product: net}
detection:
    sel: {event.category: network}
    condition: sel
---
title: error then connection
id: 1c9a7d52-4c0e-4a56-9d8e-5b0d3b6a7f01
correlation:
    type: temporal
    rules:
        - internal_error
        - new_network_connection
    group-by:
        - internal_ip
        - remote_ip
    timespan: 10s
    aliases:
        internal_ip:
            internal_error: destination.ip
            new_network_connection: source.ip
        remote_ip:
            internal_error: source.ip
            new_network_connection: destination.ip
`

func TestAliases(t *testing.T) {
	s := mustCompile(t, specAliases)
	if got, want := s.Fields("internal_error"), []string{"destination.ip", "source.ip"}; !slices.Equal(got, want) {
		t.Errorf("Fields(internal_error): got %v, want %v", got, want)
	}
	runCases(t, []runCase{
		{"aliased fields group across rules", specAliases,
			[]Input{
				in("internal_error", 0, "destination.ip=10.0.0.1", "source.ip=8.8.8.8"),
				in("new_network_connection", 5*sec, "source.ip=10.0.0.1", "destination.ip=8.8.8.8"),
				// Same addresses in the unaliased fields: another group.
				in("new_network_connection", 6*sec, "source.ip=8.8.8.8", "destination.ip=10.0.0.1"),
			},
			[]string{"error then connection [internal_ip=10.0.0.1,remote_ip=8.8.8.8] 0s..5s fired 5s value 2 max 2 count 2 inputs [0 1] parts []"}},
		{"the other direction does not match", specAliases,
			[]Input{
				in("internal_error", 0, "destination.ip=10.0.0.1", "source.ip=8.8.8.8"),
				in("new_network_connection", 5*sec, "source.ip=8.8.8.8", "destination.ip=10.0.0.1"),
			},
			nil},
	})
}

// specChain is the specification's example: many failed logins followed by
// a successful login of the same user, with generate optionally added to
// the outer correlation.
func specChain(generate string) string {
	return `title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
` + generate + `level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 3
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource: {product: windows, service: security}
detection:
    selection: {EventID: [529, 4625]}
    condition: selection
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
name: successful_login
logsource: {product: windows, service: security}
detection:
    selection: {EventID: [528, 4624]}
    condition: selection
---
title: unrelated
id: 0b7c0f4e-8a43-4a8e-9d0f-0b8f6f1c2d3e
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 1}
    condition: selection
`
}

func TestChaining(t *testing.T) {
	fail := func(at time.Duration, user string) Input {
		return Input{RuleID: "53ba33fd-3a50-4468-a5ef-c583635cfa92", Time: t0.Add(at), Fields: map[string]string{"User": user}}
	}
	ok := func(at time.Duration, user string) Input {
		return Input{RuleID: "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8", Time: t0.Add(at), Fields: map[string]string{"User": user}}
	}
	min := time.Minute
	runCases(t, []runCase{
		{"failures then success", specChain(""),
			[]Input{fail(0, "bob"), fail(1*min, "bob"), fail(2*min, "bob"), ok(5*min, "bob"), ok(5*min, "eve")},
			[]string{
				"multiple_failed_login [User=bob] 0s..2m0s fired 2m0s value 3 max 3 count 3 inputs [0 1 2] parts []",
				"Correlation - Multiple Failed Logins Followed by Successful Login [User=bob] 2m0s..5m0s fired 5m0s value 2 max 2 count 2 inputs [0 1 2 3] parts [0]",
			}},
		{"success before the failures", specChain(""),
			[]Input{ok(0, "bob"), fail(1*min, "bob"), fail(2*min, "bob"), fail(3*min, "bob")},
			[]string{"multiple_failed_login [User=bob] 1m0s..3m0s fired 3m0s value 3 max 3 count 3 inputs [1 2 3] parts []"}},
		{"success during a long brute force", specChain(""),
			[]Input{fail(0, "bob"), fail(5*min, "bob"), fail(10*min, "bob"), fail(15*min, "bob"), fail(20*min, "bob"),
				fail(25*min, "bob"), fail(30*min, "bob"), ok(21*min, "bob")},
			[]string{
				"multiple_failed_login [User=bob] 0s..30m0s fired 10m0s value 3 max 3 count 7 inputs [0 1 2 3 4 5 6] parts []",
				"Correlation - Multiple Failed Logins Followed by Successful Login [User=bob] 15m0s..30m0s fired 21m0s value 2 max 2 count 5 inputs [0 1 2 3 4 5 6 7] parts [0]",
			}},
		{"failures of another user", specChain(""),
			[]Input{fail(0, "eve"), fail(1*min, "eve"), fail(2*min, "eve"), ok(5*min, "bob")},
			[]string{"multiple_failed_login [User=eve] 0s..2m0s fired 2m0s value 3 max 3 count 3 inputs [0 1 2] parts []"}},
	})
}

func TestGenerate(t *testing.T) {
	ids := map[string]string{
		"outer":           "b180ead8-d58f-40b2-ae54-c8940995b9b6",
		"inner":           "a8418a5a-5fc4-46b5-b23b-6c73beb19d41",
		"inner name":      "multiple_failed_login",
		"failed":          "53ba33fd-3a50-4468-a5ef-c583635cfa92",
		"failed name":     "failed_login",
		"successful":      "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8",
		"unrelated":       "0b7c0f4e-8a43-4a8e-9d0f-0b8f6f1c2d3e",
		"unknown rule id": "ffffffff-8a43-4a8e-9d0f-0b8f6f1c2d3e",
	}
	for _, c := range []struct {
		generate   string
		suppressed []string
	}{
		{"", []string{"inner", "inner name", "failed", "failed name", "successful"}},
		// generate on the outer correlation generates what it references
		// (the inner correlation, the successful login); the failed logins
		// are referenced only by the inner one, which does not generate.
		{"generate: true\n", []string{"failed", "failed name"}},
	} {
		s := mustCompile(t, specChain(c.generate))
		for what, id := range ids {
			if got, want := s.Suppressed(id), slices.Contains(c.suppressed, what); got != want {
				t.Errorf("generate %q: Suppressed(%s %s): got %v, want %v", c.generate, what, id, got, want)
			}
		}
		if !s.Uses("failed_login") || !s.Uses(ids["successful"]) || s.Uses(ids["unrelated"]) {
			t.Errorf("Uses: got failed %v successful %v unrelated %v, want true true false",
				s.Uses("failed_login"), s.Uses(ids["successful"]), s.Uses(ids["unrelated"]))
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		docs string
		want []string // substrings, one per error, in order
		ok   []string // names of the correlations that still compile
	}{
		{"unknown rule",
			baseRules("a") + corrDoc("x", "event_count", "a, nope", "H", "1m", "gt: 1") + corrDoc("y", "event_count", "a", "H", "1m", "gt: 1"),
			[]string{`test.yml:10:1: correlation.rules: rule "nope" is not among the rules loaded`}, []string{"y"}},
		{"cycle",
			baseRules("a") + corrDoc("x", "temporal", "a, y", "H", "1m", "") + corrDoc("y", "temporal", "a, x", "H", "1m", "") +
				corrDoc("z", "event_count", "x", "H", "1m", "gt: 1") + corrDoc("w", "event_count", "a", "H", "1m", "gt: 1"),
			[]string{"cycle: x -> y -> x", "references correlation x, which cannot run", "references correlation x, which cannot run"}, []string{"w"}},
		{"self reference",
			baseRules("a") + corrDoc("x", "temporal", "a, x", "H", "1m", ""),
			[]string{"cycle: x -> x"}, nil},
		{"ambiguous name",
			baseRules("a") + "---\ntitle: other a\nname: a\nlogsource: {product: windows}\ndetection:\n    sel: {EventID: 2}\n    condition: sel\n" +
				corrDoc("x", "event_count", "a", "H", "1m", "gt: 1"),
			[]string{`rule name "a" is ambiguous: 2 rules have it`}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, errs := compileYAML(t, c.docs)
			if len(errs) != len(c.want) {
				t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(c.want))
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), c.want[i]) {
					t.Errorf("error %d: got %q, want it to contain %q", i, e, c.want[i])
				}
			}
			var names []string
			for _, x := range s.Correlations() {
				names = append(names, x.Name)
			}
			if !slices.Equal(names, c.ok) {
				t.Errorf("compiled: got %v, want %v", names, c.ok)
			}
		})
	}
}

func TestChainingPassesSharedFields(t *testing.T) {
	// The inner correlation groups by host; the outer one by user, which
	// the inner windows carry when all their inputs share it.
	docs := baseRules("fail", "ok") +
		corrDoc("burst", "event_count", "fail", "Host", "1m", "gte: 2") +
		corrDoc("then", "temporal_ordered", "burst, ok", "User", "1m", "")
	s := mustCompile(t, docs)
	if got, want := s.Fields("fail"), []string{"Host", "User"}; !slices.Equal(got, want) {
		t.Errorf("Fields(fail): got %v, want %v", got, want)
	}
	runCases(t, []runCase{
		{"one user's burst", docs,
			[]Input{in("fail", 0, "Host=h", "User=bob"), in("fail", 1*sec, "Host=h", "User=bob"), in("ok", 2*sec, "Host=h", "User=bob")},
			[]string{
				"burst [Host=h] 0s..1s fired 1s value 2 max 2 count 2 inputs [0 1] parts []",
				"then [User=bob] 1s..2s fired 2s value 2 max 2 count 2 inputs [0 1 2] parts [0]",
			}},
		{"a burst of two users carries no user", docs,
			[]Input{in("fail", 0, "Host=h", "User=eve"), in("fail", 1*sec, "Host=h", "User=bob"), in("ok", 2*sec, "Host=h", "User=bob")},
			[]string{"burst [Host=h] 0s..1s fired 1s value 2 max 2 count 2 inputs [0 1] parts []"}},
	})
}
