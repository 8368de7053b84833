package attack

import "math"

// Summary is an attribution as spoor writes it (spoor attribute --json and
// the attributions of hunt results): the evidence given, the given items
// ATT&CK does not know, the confidence that the evidence is none of
// ATT&CK's groups', and the best candidates with their explanations.
// Numbers are rounded to 3 decimals, so that JSON and golden files do not
// carry the noise of float arithmetic.
type Summary struct {
	// Evidence is what was given, unresolved.
	Evidence SummaryEvidence `json:"evidence"`
	// Unknown are the given items ATT&CK does not know; they are left out
	// of the ranking.
	Unknown []string `json:"unknown,omitempty"`
	// UnknownActor is Ranking.UnknownActor.
	UnknownActor float64 `json:"unknown_actor"`
	// Candidates are the best groups, most resembling first: the first,
	// then the runners-up.
	Candidates []Resemblance `json:"candidates"`
}

// SummaryEvidence is the evidence of a Summary; lists are never null.
type SummaryEvidence struct {
	Techniques []string `json:"techniques"`
	Software   []string `json:"software"`
	GroupHints []string `json:"group_hints"`
	// Seen says where software that no rule tagged was recognised (see
	// RecognizeSoftware); its IDs are in Software too.
	Seen []SoftwareSeen `json:"software_seen,omitempty"`
	// Procedures are the artefacts of ATT&CK's procedure texts seen (see
	// RecognizeProcedures), each with the first text it was seen in.
	Procedures []ProcedureSeen `json:"procedures_seen,omitempty"`
}

// ProcedureSeen is an artefact of ATT&CK's procedure texts seen in what a
// detection saw.
type ProcedureSeen struct {
	Artefact string `json:"artefact"`
	In       string `json:"in"`
}

// SoftwareSeen is software recognised in what a detection saw.
type SoftwareSeen struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// In is the first text it was recognised in: a field's value or a
	// rule's title.
	In string `json:"in"`
}

// Resemblance is a Candidate as written in a Summary.
type Resemblance struct {
	// Rank is 1 for the most resembling group.
	Rank int `json:"rank"`
	// ID and Name are the group's, such as G0096 and APT41.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Score and Confidence are the Candidate's.
	Score      float64 `json:"score"`
	Confidence float64 `json:"confidence"`
	Hinted     bool    `json:"hinted,omitempty"`
	// Shared is the evidence the group is known for, most distinctive
	// first.
	Shared []Shared `json:"shared"`
	// Unexplained are the observed IDs the group is not known for.
	Unexplained []string `json:"unexplained"`
	// Unseen is what the group is known for that was not observed, most
	// distinctive first.
	Unseen []Unseen `json:"unseen"`
	// Related are the groups ATT&CK relates to this one in descriptions
	// but keeps apart (APT41 and Winnti Group), with their confidence, when
	// it is at least MinRelated; ClusterConfidence is the group's and
	// theirs together: the split between them is often a reporting
	// choice, not a fact of the evidence.
	Related           []RelatedShare `json:"related,omitempty"`
	ClusterConfidence float64        `json:"cluster_confidence,omitempty"`
	// Procedures are the seen artefacts the group is documented with,
	// with ATT&CK's sources: "`net config workstation`: APT41 is
	// documented doing exactly this".
	Procedures []ProcedureMatch `json:"procedures,omitempty"`
}

// RelatedShare is a related group's share of the confidence.
type RelatedShare struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Confidence float64 `json:"confidence"`
}

// MinRelated is the least confidence a related group has to be shown
// beside a candidate.
const MinRelated = 0.01

// Shared is one observed item a candidate group is known for: a Match as
// written in a Summary.
type Shared struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Kind is technique or software.
	Kind string `json:"kind"`
	// Via names the group's related technique when the credit is partial
	// ("parent T1059"); "" for a direct match.
	Via string `json:"via,omitempty"`
	// Groups is how many ATT&CK groups are known for it.
	Groups int `json:"groups"`
	// Bits is Match.Bits.
	Bits float64 `json:"bits"`
}

// Summarize ranks the groups for ev (see Attribute) and returns the
// summary of the best n, or nil when no item of ev is known to ATT&CK.
func Summarize(kb *KB, ev Evidence, n int) *Summary {
	ins, known := kb.ResolveEvidence(ev)
	if len(known.Techniques)+len(known.Software)+len(known.GroupHints)+len(known.Procedures) == 0 {
		return nil
	}
	s := &Summary{Evidence: SummaryEvidence{Techniques: orEmpty(ev.Techniques), Software: orEmpty(ev.Software), GroupHints: orEmpty(ev.GroupHints)}}
	for _, in := range ins {
		if in.ID == "" {
			s.Unknown = append(s.Unknown, in.Given)
		}
	}
	rk := rank(kb, known, n) // only the n kept need explaining
	confOf := make(map[string]float64, len(rk.Candidates))
	for _, c := range rk.Candidates {
		confOf[c.Group.ID] = c.Confidence
	}
	s.UnknownActor = round3(rk.UnknownActor)
	s.Candidates = make([]Resemblance, 0, min(n, len(rk.Candidates)))
	for _, c := range rk.Candidates[:min(n, len(rk.Candidates))] {
		r := Resemblance{Rank: c.Rank, ID: c.Group.ID, Name: c.Group.Name, Score: round3(c.Score), Confidence: round3(c.Confidence),
			Hinted: c.Hinted, Shared: []Shared{}, Unexplained: orEmpty(c.Unexplained), Unseen: orEmpty(c.Unseen), Procedures: c.Procedures}
		for _, m := range c.Matches {
			r.Shared = append(r.Shared, Shared{ID: m.ID, Name: m.Name, Kind: m.Kind.String(), Via: m.Via, Groups: m.Groups, Bits: round3(m.Bits)})
		}
		cluster := c.Confidence
		for _, rel := range kb.RelatedGroups(c.Group) {
			if cf := confOf[rel.Group.ID]; cf >= MinRelated {
				r.Related = append(r.Related, RelatedShare{ID: rel.Group.ID, Name: rel.Group.Name, Confidence: round3(cf)})
				cluster += cf
			}
		}
		if len(r.Related) > 0 {
			r.ClusterConfidence = round3(cluster)
		}
		s.Candidates = append(s.Candidates, r)
	}
	return s
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
