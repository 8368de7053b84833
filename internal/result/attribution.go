package result

import "github.com/spoor-hunt/spoor/internal/attack"

// Attribution says which ATT&CK groups the evidence of an operation (or of
// the whole hunt) resembles: never who did it. It is attack's summary (the
// one definition: attack.Summarize makes it), as
// spoor attribute --json writes it: the evidence is the technique, software
// and group IDs tagged on the rules that fired (attack.t1003.002,
// attack.s0154, attack.g0096), upper-case, sorted; the candidates are
// ranked by attack.Attribute, and UnknownActor is the confidence that the
// evidence is none of ATT&CK's groups'.
type Attribution = attack.Summary

// AttributionEvidence is the ATT&CK evidence of an attribution.
type AttributionEvidence = attack.SummaryEvidence

// Candidate is one ATT&CK group the evidence resembles.
type Candidate = attack.Resemblance

// SharedEvidence is one observed technique or software a candidate group
// is known for.
type SharedEvidence = attack.Shared

// TooLittleEvidence is Result.NotAttributed when the detections are too
// few to compare with any group's activity.
const TooLittleEvidence = "too little evidence"
