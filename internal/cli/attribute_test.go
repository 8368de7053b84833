package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAttributeJSON(t *testing.T) {
	t.Setenv("SPOOR_CACHE_DIR", t.TempDir())
	code, stdout, stderr := run(t, t.Context(), "attribute", "--technique", "T1059.003,T1003.002", "--technique", "T1195.002",
		"--software", "S0154", "--software", "Winnti for Linux", "--top", "4", "--json")
	if code != ExitOK {
		t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
	}
	var raw []map[string]any
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatalf("got %v, want a JSON array: %s", err, stdout)
	}
	if len(raw) != 4 {
		t.Fatalf("candidates: got %d, want 4", len(raw))
	}
	for i, c := range raw {
		for _, k := range []string{"id", "name", "score", "confidence", "evidence"} {
			if _, ok := c[k]; !ok {
				t.Errorf("candidate %d: got keys %v, want %q", i, c, k)
			}
		}
	}
	var cs []candidateJSON
	if err := json.Unmarshal([]byte(stdout), &cs); err != nil {
		t.Fatal(err)
	}
	if cs[0].ID != "G0096" || cs[0].Rank != 1 {
		t.Errorf("top: got %s rank %d, want G0096 rank 1", cs[0].ID, cs[0].Rank)
	}
	for i := 1; i < len(cs); i++ {
		if cs[i].Rank != i+1 || cs[i].Score > cs[i-1].Score || cs[i].Confidence > cs[i-1].Confidence {
			t.Errorf("candidate %d: rank %d score %v confidence %v, want ordered by rank", i, cs[i].Rank, cs[i].Score, cs[i].Confidence)
		}
	}
	if len(cs[0].Evidence) == 0 || cs[0].Evidence[0].ID != "S0430" || cs[0].Evidence[0].Kind != "software" {
		t.Errorf("top evidence: got %+v, want S0430 software first", cs[0].Evidence)
	}
	if stderr != "" {
		t.Errorf("stderr: got %q, want nothing for known evidence", stderr)
	}
}

func TestAttributeText(t *testing.T) {
	t.Setenv("SPOOR_CACHE_DIR", t.TempDir())
	code, stdout, stderr := run(t, t.Context(), "attribute", "--technique", "attack.t1059.003,T1073,T9999", "--software", "S0154", "--top", "1")
	if code != ExitOK {
		t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
	}
	for _, w := range []string{"most resembles", "Runners-up:", " 2. ", " 3. ", "resembles it in:", "known for, not seen:"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout: got %q, want it to contain %q", stdout, w)
		}
	}
	if strings.Contains(stdout, " is ") {
		t.Errorf("stdout: got %q, want no claim that the evidence is a group", stdout)
	}
	for _, w := range []string{`technique "t9999" is not in ATT&CK`, "T1073 (DLL Side-Loading) was revoked", "replaced by T1574.001"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr: got %q, want it to contain %q", stderr, w)
		}
	}
}

// TestAttributeEvidenceCount: the evidence line counts techniques in the
// singular and the plural.
func TestAttributeEvidenceCount(t *testing.T) {
	t.Setenv("SPOOR_CACHE_DIR", t.TempDir())
	for args, want := range map[string]string{
		"T1059":           "Evidence: 1 technique, 0 software (",
		"T1059,T1003.002": "Evidence: 2 techniques, 0 software (",
	} {
		code, stdout, stderr := run(t, t.Context(), "attribute", "--technique", args)
		if code != ExitOK || !strings.HasPrefix(stdout, want) {
			t.Errorf("attribute --technique %s: got exit %d and %q (stderr %q), want 0 and a start %q", args, code, stdout, stderr, want)
		}
	}
}

func TestAttributeErrors(t *testing.T) {
	t.Setenv("SPOOR_CACHE_DIR", t.TempDir())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no evidence", []string{"attribute"}, "give the evidence"},
		{"all unknown", []string{"attribute", "--technique", "T9999", "--software", "S9999,NoSuchTool"}, "none of the 3 techniques and software given is known"},
		{"bad top", []string{"attribute", "--technique", "T1059", "--top", "0"}, "--top must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, t.Context(), tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("got exit %d, stderr %q, want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

// BenchmarkAttributeCommand is one whole `spoor attribute` run in-process:
// loading the embedded data, building the model, ranking and printing.
func BenchmarkAttributeCommand(b *testing.B) {
	b.Setenv("SPOOR_CACHE_DIR", b.TempDir())
	args := []string{"attribute", "--technique", "T1059.003,T1003.002,T1574.001,T1190,T1105", "--software", "S0154,S0002", "--json"}
	b.ReportAllocs()
	for b.Loop() {
		var out, errb strings.Builder
		if code := Execute(b.Context(), Env{Stdout: &out, Stderr: &errb}, args); code != ExitOK {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
	}
}
