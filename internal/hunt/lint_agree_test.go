package hunt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/ruleset"
	"github.com/spoor-hunt/spoor/internal/ruletest"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// TestLintAgreesWithHunt walks real rule folders and checks that `spoor
// rules lint` and a hunt reject the same rules: the files with a rule lint
// calls an error are the files with a rule the hunt skips, and the
// duplicate ids lint reports are the duplicates the hunt leaves out.
func TestLintAgreesWithHunt(t *testing.T) {
	datasets := shared.Path(t, "datasets")
	evidence := filepath.Join(datasets, "evtx-attack-samples", "AutomatedTestingTools", "WinDefender_Events_1117_1116_AtomicRedTeam.evtx")
	dirs := []string{"hayabusa-rules/hayabusa", "sigma/deprecated", "sigma/unsupported", "sigma/rules-placeholder", "sigma/rules-emerging-threats",
		"sigma/rules-threat-hunting", "sigma/rules-dfir", "sigma/rules-compliance", "sigma/rules"}
	if testing.Short() {
		dirs = dirs[:3]
	}
	fileOf := regexp.MustCompile(`^(.*?\.ya?ml):\d`)
	for _, d := range dirs {
		dir := filepath.Join(datasets, filepath.FromSlash(d))
		t.Run(d, func(t *testing.T) {
			set, err := ruleset.Load([]string{dir})
			if err != nil {
				t.Fatal(err)
			}
			lintFiles := map[string]bool{}
			dups := 0
			for _, p := range ruletest.Lint(set, ruletest.Options{}) {
				switch {
				case p.Severity != ruletest.Error:
				case p.Key == "id" && strings.HasPrefix(p.Msg, "duplicate id"):
					dups++
				default:
					lintFiles[p.Pos.File] = true
				}
			}
			// Every status, so that the hunt's filters leave nothing out.
			statuses := []string{""}
			for _, r := range set.Rules {
				statuses = append(statuses, strings.ToLower(r.Status))
			}
			for _, c := range set.Correlations {
				statuses = append(statuses, strings.ToLower(c.Status))
			}
			slices.Sort(statuses)
			res, err := Run(context.Background(), []string{evidence}, Options{NoBuiltin: true, Rules: []string{dir}, Statuses: slices.Compact(statuses), Workers: 1})
			if err != nil && !errors.Is(err, ErrNoRules) { // a folder of placeholder rules or of other logs has none to hunt with
				t.Fatal(err)
			}
			huntFiles := map[string]bool{}
			for _, e := range res.Rules.Errors {
				m := fileOf.FindStringSubmatch(e)
				if m == nil {
					t.Errorf("hunt error %q names no rule file", e)
					continue
				}
				huntFiles[m[1]] = true
			}
			for f := range lintFiles {
				if !huntFiles[f] {
					t.Errorf("%s: lint rejects a rule, the hunt runs it", f)
				}
			}
			for f := range huntFiles {
				if !lintFiles[f] {
					t.Errorf("%s: the hunt skips a rule, lint finds no error", f)
				}
			}
			if dups != res.Rules.Duplicates {
				t.Errorf("lint reports %d duplicate ids, the hunt leaves out %d duplicates", dups, res.Rules.Duplicates)
			}
			t.Logf("%d files with rejected rules, %d duplicates; hunt: %d rules loaded, %d correlations, %d skipped, %d of logsources spoor does not read",
				len(lintFiles), dups, res.Rules.Loaded, res.Rules.Correlations, res.Rules.Skipped, res.Rules.Unsupported)
		})
	}
}

// TestV1AggregationHunt hunts real password guessing with a Hayabusa rule
// written as a Sigma 1.x aggregation ("selection and not filter | count()
// by IpAddress >= 5", timeframe 5m): it fires as the correlation it is
// converted to, under the rule's own id, and the events it counts are not
// listed on their own.
func TestV1AggregationHunt(t *testing.T) {
	datasets := shared.Path(t, "datasets")
	rule := filepath.Join(datasets, "hayabusa-rules", "hayabusa", "builtin", "Security", "LogonLogoff", "Logon", "Sec_4625_Med_LogonFail_WrongPW_PW-Guessing_Cnt_Deprecated.yml")
	evidence := filepath.Join(datasets, "deepbluecli", "evtx", "smb-password-guessing-security.evtx")
	res, err := Run(context.Background(), []string{evidence}, Options{NoBuiltin: true, Rules: []string{rule}, Statuses: []string{"deprecated"}, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Detections) != 1 {
		t.Fatalf("got %d detections, want the one correlation", len(res.Detections))
	}
	d := res.Detections[0]
	c := d.Correlation
	if d.Kind != result.KindCorrelation || d.Rule.ID != "35e8a0fc-60c2-46d7-ba39-aafb15b9854e" || c == nil || c.Type != "event_count" ||
		c.Timespan != "5m0s" || len(c.Group) != 1 || c.Group[0].Value != "192.168.198.149" || c.Value != 5 || c.Count < 3000 {
		t.Errorf("got %+v (correlation %+v), want an event_count of the rule's id over 192.168.198.149's thousands of failures, firing at 5", d, c)
	}
	if res.Suppressed < 3000 {
		t.Errorf("got %d suppressed detections, want the counted failures", res.Suppressed)
	}
}

// TestV1AggregationWholeHunt: a v1 aggregation without a timeframe counts
// over the whole hunt, and says so.
func TestV1AggregationWholeHunt(t *testing.T) {
	evidence := filepath.Join(shared.Path(t, "datasets"), "evtx-attack-samples", "AutomatedTestingTools", "WinDefender_Events_1117_1116_AtomicRedTeam.evtx")
	rule := filepath.Join(t.TempDir(), "r.yml")
	const src = "title: many detections\nid: v1-whole\nlogsource: {product: windows, service: windefend}\ndetection:\n    sel: {EventID: 1116}\n    condition: sel | count() by Computer > 2\n"
	if err := os.WriteFile(rule, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), []string{evidence}, Options{NoBuiltin: true, Rules: []string{rule}, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Detections) != 1 || res.Detections[0].Correlation == nil {
		t.Fatalf("got %+v, want one correlation", res.Detections)
	}
	c := res.Detections[0].Correlation
	if c.Timespan != "whole hunt" || c.Condition != "count > 2" || c.Value != 3 || c.Count != 6 {
		t.Errorf("got %+v, want count > 2 over the whole hunt, firing at 3, of the six 1116 records", c)
	}
}
