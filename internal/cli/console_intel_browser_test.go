package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/spoor-hunt/spoor/internal/server"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// TestConsoleIntelInBrowser drives the console's Intel page in headless
// Chromium against a real `spoor serve` (issue 16: import "in the
// console"): an analyst imports the STIX export of the case's own
// evidence, every indicator is listed as seen and the sightings can be
// downloaded; a viewer is offered no import.
func TestConsoleIntelInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	browser := consoleBrowser(t)
	evidence := shared.Path(t, "datasets", "evtx-attack-samples", "Defense Evasion",
		"apt10_jjs_sideloading_prochollowing_persist_as_service_sysmon_1_7_8_13.evtx")
	ctx := t.Context()
	dir := consoleStore(t, [2]string{"ann", "analyst"}, [2]string{"vic", "viewer"})
	if code, _, errOut := run(t, ctx, "hunt", "-q", "--no-sigmahq", "--store", dir, "--case", "intrusion", evidence); code != ExitOK {
		t.Fatalf("hunt --store: exit %d: %s", code, errOut)
	}
	bundle := dir + "/partner.stix.json"
	if code, _, errOut := run(t, ctx, "hunt", "-q", "--no-sigmahq", "--stix", bundle, evidence); code != ExitOK {
		t.Fatalf("hunt --stix: exit %d: %s", code, errOut)
	}
	t.Setenv(server.AdminPasswordEnv, "")
	home := startServe(t, "--data", dir).url + "/"

	bctx := browserContext(t, browser, 2*time.Minute)
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			page, _ := chromedp.Run(bctx, chromedp.OuterHTML(css(`main`)))
			t.Fatalf("%s: %v\npage: %s", what, err, page)
		}
	}
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		check(what, chromedp.Do(bctx, actions...))
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`))
		check("count "+sel, err)
		return n
	}
	login := func(user string) { do("log in as "+user, consoleLogin(home, user)...) }

	login("ann")
	do("import the bundle",
		chromedp.Navigate(home+"#/case/intrusion/intel"),
		chromedp.WaitVisible(css(`#intel-import`)),
		chromedp.SetUploadFiles(css(`#intel-import input[name=bundle]`), []string{bundle}),
		chromedp.SetValue(css(`#intel-import select[name=tlp]`), "green"),
		chromedp.Click(css(`#intel-import button`)),
		chromedp.WaitVisible(css(`#intel-summary`)))
	summary, err := chromedp.Run(bctx, chromedp.Text(css(`#intel-summary`)))
	check("summary", err)
	rows, seen := count(`#intel-indicators tr[data-id]`), count(`#intel-indicators tr.seen`)
	if rows == 0 || seen != rows || !strings.Contains(summary, "Hunted the evidence of the case's hunts") {
		t.Errorf("%d indicators listed, %d seen; summary %q", rows, seen, summary)
	}
	// The sightings are a download of the bundle the API answered (its
	// content is TestConsoleIntelImport's; the console's CSP lets no
	// script read a blob back).
	link, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(a => a.download + " " + a.href.split(":")[0])(document.querySelector("#intel-sightings"))`))
	check("sightings link", err)
	if link != "sightings.stix.json blob" {
		t.Errorf("sightings link %q, want a download of sightings.stix.json", link)
	}
	do("read the audit log", chromedp.Navigate(home+"#/case/intrusion/audit"), chromedp.WaitVisible(css(`#audit`)))
	audit, err := chromedp.Run(bctx, chromedp.Text(css(`#audit`)))
	check("audit", err)
	if !strings.Contains(audit, "intel.sighting") || !strings.Contains(audit, "intel.import") {
		t.Errorf("audit log without the import: %.500s", audit)
	}
	do("log out", chromedp.Click(css(`#logout`)), chromedp.WaitVisible(css(`#login`)))

	login("vic")
	do("the viewer opens the Intel page", chromedp.Navigate(home+"#/case/intrusion/intel"), chromedp.WaitVisible(css(`#view .note`)))
	if count(`#intel-import`) != 0 {
		t.Error("the viewer is offered an import")
	}
}
