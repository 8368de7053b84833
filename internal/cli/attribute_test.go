package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/attack"
)

func TestAttributeJSON(t *testing.T) {
	t.Setenv("SPOOR_CACHE_DIR", t.TempDir())
	code, stdout, stderr := run(t, t.Context(), "attribute", "--technique", "T1059.003,T1003.002", "--technique", "T1195.002",
		"--software", "S0154", "--software", "Winnti for Linux", "--top", "4", "--json")
	if code != ExitOK {
		t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, stderr)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatalf("got %v, want a JSON object: %s", err, stdout)
	}
	for _, k := range []string{"evidence", "unknown_actor", "candidates"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("got keys %v, want %q", raw, k)
		}
	}
	var sum attack.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	cs := sum.Candidates
	if len(cs) != 4 {
		t.Fatalf("candidates: got %d, want 4", len(cs))
	}
	if cs[0].ID != "G0096" || cs[0].Rank != 1 {
		t.Errorf("top: got %s rank %d, want G0096 rank 1", cs[0].ID, cs[0].Rank)
	}
	total := sum.UnknownActor
	for i := range cs {
		total += cs[i].Confidence
		if i > 0 && (cs[i].Rank != i+1 || cs[i].Score > cs[i-1].Score || cs[i].Confidence > cs[i-1].Confidence) {
			t.Errorf("candidate %d: rank %d score %v confidence %v, want ordered by rank", i, cs[i].Rank, cs[i].Score, cs[i].Confidence)
		}
	}
	if total > 1.002 {
		t.Errorf("confidences: got a sum of %v, want at most 1", total)
	}
	if len(cs[0].Shared) == 0 || cs[0].Shared[0].ID != "S0430" || cs[0].Shared[0].Kind != "software" {
		t.Errorf("top evidence: got %+v, want S0430 software first", cs[0].Shared)
	}
	if len(cs[0].Unseen) == 0 || cs[0].Unseen[0].Kind != attack.KindTechnique && cs[0].Unseen[0].Kind != attack.KindSoftware {
		t.Errorf("top unseen: got %+v, want techniques or software", cs[0].Unseen)
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
	for _, w := range []string{"most resembles", "Runners-up:", " 2. ", " 3. ", "resembles it in:", "known for, not seen:", "None of ATT&CK's groups"} {
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
		code int
		want string
	}{
		{"no evidence", []string{"attribute"}, ExitUsage, "give the evidence"},
		{"all unknown", []string{"attribute", "--technique", "T9999", "--software", "S9999,NoSuchTool"}, ExitFailure, "none of the 3 techniques and software given is known"},
		{"one unknown", []string{"attribute", "--technique", "T9999"}, ExitFailure, "the technique or software given is not known to ATT&CK"},
		{"bad top", []string{"attribute", "--technique", "T1059", "--top", "0"}, ExitUsage, "--top must be at least 1"},
		{"seen nothing", []string{"attribute", "--seen", "hello world"}, ExitFailure, "the text given names no ATT&CK software and no documented procedure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, t.Context(), tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("got exit %d, stderr %q, want %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

// TestAttributeSeen: a command line given with --seen is matched against
// the groups' procedure texts; the JSON says what was seen where, and the
// group documented with it explains it with ATT&CK's sources.
func TestAttributeSeen(t *testing.T) {
	t.Setenv("SPOOR_CACHE_DIR", t.TempDir())
	cmd := `cmd /c net config Workstation`
	code, stdout, stderr := run(t, t.Context(), "attribute", "--technique", "T1016", "--seen", cmd, "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum attack.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Evidence.Procedures) != 1 || sum.Evidence.Procedures[0].In != cmd {
		t.Errorf("procedures seen: got %+v, want one, in %q", sum.Evidence.Procedures, cmd)
	}
	top := sum.Candidates[0]
	if top.ID != "G0096" || len(top.Procedures) != 1 || top.Procedures[0].Text == "" || len(top.Procedures[0].Sources) == 0 {
		t.Errorf("top candidate: got %s %+v, want APT41 with its procedure's text and sources", top.Name, top.Procedures)
	}
	if top.Confidence > 0.2 {
		t.Errorf("one documented command and a common technique: confidence %v, want at most 0.2", top.Confidence)
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
