package exposure_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/exposure"
	"github.com/spoor-hunt/spoor/internal/hunt"
)

// The CuckooBees example's operation (built-in rules, as the hunt runs
// them) says what was taken: the makecab cabinet and the password-protected
// RAR split into three 200 MiB volumes on FS01, the volumes copied to ERP01
// and uploaded with curl to OneDrive's storage host, bounded in size by the
// volumes; the NTDS.dit that ntdsutil's IFM wrote on DC01, copied to
// ERP01 (the copy linked to the IFM); the SAM, SYSTEM and SECURITY hives
// saved with reg on ERP01. Nothing else of the intrusion
// (tool copies, reconnaissance) is data taken.
func TestCuckooBeesExposure(t *testing.T) {
	res, err := hunt.Run(t.Context(), []string{"../../examples/cuckoobees"}, hunt.Options{Workers: 2, NoAttribution: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Operations) != 1 || res.Operations[0].Exposure == nil {
		t.Fatalf("%d operations, want one with an exposure", len(res.Operations))
	}
	e := res.Operations[0].Exposure
	var got []string
	for _, it := range e.Items {
		got = append(got, it.Kind+" "+it.Tool+" "+it.Host+" "+it.Strength)
	}
	want := []string{
		"collected reg save ERP01 medium",    // HKLM\SAM into C:\Windows\Temp\sam.hiv
		"collected reg save ERP01 medium",    // SYSTEM
		"collected reg save ERP01 medium",    // SECURITY
		"collected ntdsutil IFM DC01 medium", // ntds.dit into C:\PerfLogs\n
		"collected copy ERP01 medium",        // ntds.dit from DC01's C$
		"staged makecab FS01 medium",         // /F list.ddf → b7.cab
		"staged rar FS01 strong",             // -hp -v200m d1.rar b7.cab
		"collected copy ERP01 strong",        // d1.part1.rar from FS01's C$
		"collected copy ERP01 strong",        // part2
		"collected copy ERP01 strong",        // part3
		"exfiltrated curl ERP01 strong",      // curl -T d1.part{1,2,3}.rar
		"exfiltrated connection ERP01 medium",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("items\n got %q\nwant %q", got, want)
	}
	rar := e.Items[6]
	if rar.Destination != `C:\$Recycle.Bin\d1.rar` || !slices.Equal(rar.Sources, []string{`C:\ProgramData\b7.cab`}) || !rar.Password ||
		rar.Volumes != 3 || rar.VolumeSize != 200<<20 {
		t.Errorf("rar item %+v", rar)
	}
	if ntds := e.Items[4]; !strings.Contains(ntds.Sources[0], `Active Directory\ntds.dit`) || !slices.Contains(ntds.Valuable, "directory database (inferred)") ||
		len(ntds.Linked) != 1 || ntds.Linked[0] != 3 {
		t.Errorf("ntds.dit copy %+v, want it linked to the IFM that wrote it", ntds)
	}
	up := e.Items[10]
	if up.Destination != "https://bn1304.storage.live.com/users/0x5e0f1a2b/LiveFolders/q/" || len(up.Sources) != 3 ||
		up.SizeMin != 400<<20+1 || up.SizeMax != 600<<20 {
		t.Errorf("upload %+v", up)
	}
	if !slices.Equal(e.Destinations, []string{"bn1304.storage.live.com"}) || e.SentMax != 600<<20 {
		t.Errorf("destinations %q sent ≤ %d", e.Destinations, e.SentMax)
	}
	// Each item's evidence is among the operation's detections.
	for _, it := range e.Items {
		for _, d := range it.Detections {
			if !slices.Contains(res.Operations[0].Detections, d) {
				t.Errorf("%s %s: detection %d is not the operation's", it.Kind, it.Tool, d)
			}
		}
	}
}

// BenchmarkAnnotate: exposure of the CuckooBees example's operations (514
// detections, 12 items with the built-in rules) once the hunt has built them.
func BenchmarkAnnotate(b *testing.B) {
	res, err := hunt.Run(b.Context(), []string{"../../examples/cuckoobees"}, hunt.Options{Workers: 2, NoAttribution: true})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		exposure.Annotate(res.Operations, res.Detections, nil)
	}
}
