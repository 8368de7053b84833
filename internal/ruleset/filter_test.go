package ruleset

import (
	"slices"
	"testing"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

func TestFilter(t *testing.T) {
	metas := []sigma.Meta{
		{ID: "a", Title: "Dump LSASS", Level: "High", Status: "stable", Tags: []string{"attack.credential_access", "attack.t1003.001"}},
		{ID: "b", Title: "Whoami", Level: "low", Status: "Test", Tags: []string{" attack.discovery ", "attack.t1033"}},
		{ID: "c", Title: "Old", Level: "critical", Status: "Deprecated", Tags: []string{"attack.t1003"}},
		{ID: "d", Title: "No level", Status: "unsupported", Name: "corr_d"},
		{ID: "e", Title: "Odd", Level: "medium", Status: "experimental", Tags: []string{"cve.2021-1234"}},
	}
	tests := []struct {
		name string
		sel  Selection
		want []string
	}{
		{"zero: retired left out", Selection{}, []string{"a", "b", "e"}},
		{"keep retired", Selection{KeepRetired: true}, []string{"a", "b", "c", "d", "e"}},
		{"level, any case", Selection{MinLevel: "HIGH", KeepRetired: true}, []string{"a", "c"}},
		{"informational drops no level", Selection{MinLevel: "informational", KeepRetired: true}, []string{"a", "b", "c", "e"}},
		{"status, any case", Selection{Statuses: []string{"TEST", "deprecated"}}, []string{"b", "c"}},
		{"technique prefix without attack.", Selection{Tags: []string{"t1003"}, KeepRetired: true}, []string{"a", "c"}},
		{"spaces, case and _ of a tag", Selection{Tags: []string{" Credential-Access "}}, []string{"a"}},
		{"a rule's tag trimmed", Selection{Tags: []string{"attack.discovery"}}, []string{"b"}},
		{"tags OR", Selection{Tags: []string{"t1033", "cve."}}, []string{"b", "e"}},
		{"exclude by id, title, name", Selection{Exclude: []string{"A", "whoami", "CORR_D"}, KeepRetired: true}, []string{"c", "e"}},
	}
	for _, tt := range tests {
		f, err := NewFilter(tt.sel)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for i := range metas {
			if f.Keep(&metas[i]) {
				got = append(got, metas[i].ID)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFilterUnnamed(t *testing.T) {
	f, err := NewFilter(Selection{Exclude: []string{"Whoami", "typo", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	f.Keep(&sigma.Meta{ID: "b", Title: "whoami"})
	if got, want := f.Unnamed(), []string{"typo"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestNewFilterLevel(t *testing.T) {
	if _, err := NewFilter(Selection{MinLevel: "severe"}); err == nil {
		t.Error("unknown level: got no error, want one")
	}
	if got, err := ParseLevel("Medium"); got != "medium" || err != nil {
		t.Errorf("ParseLevel(Medium): got %q, %v, want medium", got, err)
	}
	if sigma.LevelRank("") != -1 || sigma.LevelRank("CRITICAL") != 4 {
		t.Errorf("LevelRank: got %d for \"\" and %d for CRITICAL, want -1 and 4", sigma.LevelRank(""), sigma.LevelRank("CRITICAL"))
	}
}
