package correlate

import (
	"slices"
	"testing"
)

// TestAttackTagsV19: ATT&CK v19's stealth and defense-impairment are
// tactics, ordered where defense-evasion stands in the kill chain.
func TestAttackTagsV19(t *testing.T) {
	tactics, techniques := attackTags([]string{"attack.stealth", "attack.defense_impairment", "attack.t1685.001"})
	if want := []string{"stealth", "defense-impairment"}; !slices.Equal(tactics, want) {
		t.Errorf("got tactics %v, want %v", tactics, want)
	}
	if want := []string{"T1685.001"}; !slices.Equal(techniques, want) {
		t.Errorf("got techniques %v, want %v", techniques, want)
	}
	pe, st, di, ca := slices.Index(killChain, "privilege-escalation"), slices.Index(killChain, "stealth"), slices.Index(killChain, "defense-impairment"), slices.Index(killChain, "credential-access")
	if !(pe < st && st < di && di < ca) {
		t.Errorf("kill chain %v: want stealth and defense-impairment between privilege-escalation and credential-access", killChain)
	}
}
