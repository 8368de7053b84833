// Package detect compiles Sigma detection rules (specification v2.1) and
// filters into matcher trees and matches events against them.
//
// Compile turns rules into an Engine once; an Engine is immutable and safe
// for concurrent use. Each worker goroutine takes its own Matcher from
// Engine.NewMatcher, which holds the scratch state that makes matching free
// of allocation, and calls Matcher.Match for every event.
//
// Rules are indexed by logsource: a Router (see logsource.go) says which
// channels and event IDs a logsource covers and how its field names map, so
// an event meets only the rules of its channel and event ID. Within those,
// literal needles are found with one Aho-Corasick automaton per field over
// the lower-cased field text (large needle sets use a 4-byte gram index for
// their longer needles), and a rule is evaluated only when one of the
// literals it cannot match without is present; a rule that needs none (a
// condition such as "not filter", a numeric test) is always evaluated.
//
// Semantics decisions the specification leaves open are documented where
// they are implemented: exists.go (null, empty, exists), node.go (List
// values, absent fields, neq), keyword.go, numeric.go, time.go, cidr.go,
// fieldref.go, re.go, windash.go, expand.go, lower.go (case folding).
package detect
