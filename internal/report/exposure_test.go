package report

import (
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
)

// TestTerminalExposure: an operation's exposure is listed under it: the
// summary, how its severity was raised, and each item with its paths,
// switches, size, account and strength with why.
func TestTerminalExposure(t *testing.T) {
	r := &result.Result{Tool: "spoor", Operations: []result.Operation{{ID: "op-1", Severity: "critical", Hosts: []string{"FS03"}, Exposure: &result.Exposure{
		Summary: "1 staged; archives e.rar", Raised: "touched crown jewels (CAD): severity high → critical, score +2",
		Items: []result.ExposureItem{{Kind: "staged", Tool: "rar", Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), Host: "FS03",
			Sources: []string{`D:\CAD\*.dwg`}, Destination: `C:\t\e.rar`, Password: true, HeadersEncrypted: true, Volumes: 4,
			SizeNote: "4 volumes of 100 MiB: more than 300 MiB", Valuable: []string{"CAD"}, Account: `CORP\eve`, Strength: "strong", Why: "named sources"}},
	}}}}
	var b strings.Builder
	if err := Terminal(&b, r, TerminalOptions{}); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{
		"  exposure: 1 staged; archives e.rar\n",
		"    touched crown jewels (CAD): severity high → critical, score +2\n",
		`staged      2024-05-01 10:00:00Z FS03  rar  D:\CAD\*.dwg → C:\t\e.rar  [password (file names hidden); 4 volumes of 100 MiB: more than 300 MiB; valuable: CAD; by CORP\eve]`,
		"      strong: named sources\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}
