package hunt

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/spoor-hunt/spoor/internal/attack"
)

// Attribution says which ATT&CK groups the evidence of an operation (or of
// the whole hunt) resembles: never who did it. Candidates are ranked by
// attack.Attribute; the confidence is relative to the groups ATT&CK knows.
type Attribution struct {
	// Evidence is what was given to the ranking: the technique, software
	// and group IDs tagged on the rules that fired (attack.t1003.002,
	// attack.s0154, attack.g0096), upper-case, sorted.
	Evidence AttributionEvidence `json:"evidence"`
	// Unknown are the tagged IDs the knowledge base does not know; they
	// are left out of the ranking.
	Unknown []string `json:"unknown,omitempty"`
	// Candidates are the best groups, most resembling first (at most
	// MaxCandidates): the first, then the runners-up.
	Candidates []Candidate `json:"candidates"`
}

// AttributionEvidence is the ATT&CK evidence of an attribution.
type AttributionEvidence struct {
	Techniques []string `json:"techniques"`
	Software   []string `json:"software"`
	GroupHints []string `json:"group_hints"`
}

// Candidate is one ATT&CK group the evidence resembles.
type Candidate struct {
	// Rank is 1 for the most resembling group.
	Rank int `json:"rank"`
	// ID and Name are the group's, such as G0096 and APT41.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Score is the log-likelihood ratio of the evidence, in bits, against
	// all groups; Confidence the calibrated posterior (0 to 1) among
	// ATT&CK's groups.
	Score      float64 `json:"score"`
	Confidence float64 `json:"confidence"`
	// Hinted is set when a rule's group tag named the group.
	Hinted bool `json:"hinted,omitempty"`
	// Shared is the evidence the group is known for, most distinctive
	// first.
	Shared []SharedEvidence `json:"shared"`
}

// SharedEvidence is one observed technique or software a candidate group
// is known for.
type SharedEvidence struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Kind is technique or software.
	Kind string `json:"kind"`
	// Via names the group's related technique when the credit is partial
	// ("parent T1059"); "" for a direct match.
	Via string `json:"via,omitempty"`
	// Groups is how many ATT&CK groups are known for it.
	Groups int `json:"groups"`
}

// MaxCandidates is how many groups an Attribution keeps.
const MaxCandidates = 3

// attackEvidence gathers the ATT&CK evidence of rules: techniques (their
// Techniques), software (attack.sNNNN tags) and group hints (attack.gNNNN
// tags), each once, sorted.
func attackEvidence(rules []*Rule) attack.Evidence {
	var ev attack.Evidence
	add := func(list *[]string, id string) {
		if !slices.Contains(*list, id) {
			*list = append(*list, id)
		}
	}
	for _, r := range rules {
		for _, t := range r.Techniques {
			add(&ev.Techniques, t)
		}
		for _, tag := range r.Tags {
			rest, ok := strings.CutPrefix(strings.ToLower(tag), "attack.")
			if !ok || len(rest) != 5 || !allDigits(rest[1:]) {
				continue
			}
			switch rest[0] {
			case 's':
				add(&ev.Software, strings.ToUpper(rest))
			case 'g':
				add(&ev.GroupHints, strings.ToUpper(rest))
			}
		}
	}
	slices.Sort(ev.Techniques)
	slices.Sort(ev.Software)
	slices.Sort(ev.GroupHints)
	return ev
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// attributor ranks groups for evidence, once per distinct evidence (many
// operations show the same few techniques).
type attributor struct {
	kb    *attack.KB
	cache map[string]*Attribution
}

// newAttributor ranks with kb, or with the embedded knowledge base when kb
// is nil. On error the attributor attributes nothing.
func newAttributor(kb *attack.KB) (*attributor, error) {
	if kb == nil {
		var err error
		if kb, err = attack.Load(); err != nil {
			return nil, fmt.Errorf("load ATT&CK: %w", err)
		}
	}
	return &attributor{kb: kb}, nil
}

// detectionRules returns the distinct rules of ds.
func detectionRules(ds []Detection) []*Rule {
	seen := map[string]bool{}
	var out []*Rule
	for i := range ds {
		r := &ds[i].Rule
		if k := ruleKey(r); !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

// attribute returns the attribution of ev, or nil when ev has nothing the
// knowledge base knows.
func (a *attributor) attribute(ev attack.Evidence) *Attribution {
	if a == nil || a.kb == nil {
		return nil
	}
	key := strings.Join(ev.Techniques, ",") + "|" + strings.Join(ev.Software, ",") + "|" + strings.Join(ev.GroupHints, ",")
	if at, ok := a.cache[key]; ok {
		return at
	}
	ins, known := a.kb.ResolveEvidence(ev)
	var at *Attribution
	if len(known.Techniques)+len(known.Software)+len(known.GroupHints) > 0 {
		at = &Attribution{
			Evidence: AttributionEvidence{
				Techniques: orEmpty(ev.Techniques), Software: orEmpty(ev.Software), GroupHints: orEmpty(ev.GroupHints),
			},
			Candidates: []Candidate{},
		}
		for _, in := range ins {
			if in.ID == "" {
				at.Unknown = append(at.Unknown, in.Given)
			}
		}
		cands := attack.Attribute(a.kb, ev)
		for _, c := range cands[:min(MaxCandidates, len(cands))] {
			out := Candidate{Rank: c.Rank, ID: c.Group.ID, Name: c.Group.Name, Score: round(c.Score, 3),
				Confidence: round(c.Confidence, 3), Hinted: c.Hinted, Shared: []SharedEvidence{}}
			for _, m := range c.Matches {
				out.Shared = append(out.Shared, SharedEvidence{ID: m.ID, Name: m.Name, Kind: m.Kind.String(), Via: m.Via, Groups: m.Groups})
			}
			at.Candidates = append(at.Candidates, out)
		}
	}
	if a.cache == nil {
		a.cache = map[string]*Attribution{}
	}
	a.cache[key] = at
	return at
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// round rounds x to n decimals, so that JSON and golden files do not carry
// the noise of float arithmetic.
func round(x float64, n int) float64 {
	p := math.Pow10(n)
	return math.Round(x*p) / p
}
