package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/spoor-hunt/spoor/internal/server"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/store"
)

// consoleBrowser returns Debian's Chromium, skipping the test without it,
// except under CI (CI=true), where .ci/run installs it and the test must
// run. SPOOR_CHROMIUM names another binary.
func consoleBrowser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SPOOR_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH: CI must run the console's browser tests (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH: skipping the console's browser tests (apt-get install chromium to run them)")
	return ""
}

// consoleEvidence is a small real EVTX: a side-loading (two events of one
// rule) and a process hollowing on one host, making an operation with a
// graph. It is found as every test finds the shared data ($SPOOR_SHARED,
// else ../shared), skipping without it but under CI.
func consoleEvidence(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs(shared.Path(t, "datasets", "evtx-attack-samples", "Defense Evasion",
		"apt10_jjs_sideloading_prochollowing_persist_as_service_sysmon_1_7_8_13.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// consoleServe runs spoor serve over a new store with two tenants:
// default (admin, and vic, a viewer) and globex, whose case "secret"
// default's users must not reach. It returns the console's URL.
func consoleServe(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, dir)
	must(t, err)
	for _, tenant := range []string{store.DefaultTenant, "globex"} {
		_, err := st.AddTenant(ctx, tenant, "test")
		must(t, err)
	}
	for _, u := range [][3]string{{store.DefaultTenant, "admin", "admin"}, {store.DefaultTenant, "vic", "viewer"}, {"globex", "gus", "admin"}} {
		_, err := st.AddUser(ctx, u[0], u[1], store.Role(u[2]), consolePassword, "test")
		must(t, err)
	}
	_, err = st.AddCase(ctx, "globex", "secret", "globex's", "gus")
	must(t, err)
	must(t, st.Close())
	t.Setenv(server.AdminPasswordEnv, "")
	return startServe(t, "--data", dir).url + "/"
}

const consolePassword = "console test password"

// TestConsoleInBrowser drives the console in headless Chromium against a
// real `spoor serve`: an analyst's investigation from login to logout,
// then the refusals. Every wait is for an element or a state, never a
// time; the context's limit only guards against a hang.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	browser := consoleBrowser(t)
	evidence := consoleEvidence(t)

	home := consoleServe(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser),
		chromedp.Flag("ignore-certificate-errors", true), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// A guard against a hang: two hunts of a small file take seconds.
	bctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			page, _ := chromedp.Run(bctx, chromedp.OuterHTML(css(`main`)))
			t.Fatalf("%s: %v\npage: %s", what, err, page)
		}
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		check(what, chromedp.Do(bctx, actions...))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(css(sel)))
		check("read "+sel, err)
		return s
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`))
		check("count "+sel, err)
		return n
	}
	// getStatus reads path from the page (with the session's cookie) and
	// returns its status.
	getStatus := func(path string) int {
		t.Helper()
		status, err := chromedp.Run(bctx, chromedp.Evaluate[int](`fetch(`+jsString(path)+`).then(r => r.status)`, chromedp.EvalAwaitPromise))
		check("fetch "+path, err)
		return status
	}
	// fetchStatus sends a request from the page (with the session's
	// cookie) and returns its status; csrf adds the session's token.
	fetchStatus := func(method, path, body string, csrf bool) int {
		t.Helper()
		js := `(async () => {
			const me = await (await fetch("/api/me")).json();
			const h = {"Content-Type": "application/json"};
			if (` + map[bool]string{true: "true", false: "false"}[csrf] + `) h["X-CSRF-Token"] = me.csrf;
			return (await fetch(` + jsString(path) + `, {method: ` + jsString(method) + `, headers: h, body: ` + jsString(body) + `})).status;
		})()`
		status, err := chromedp.Run(bctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
		check("fetch "+path, err)
		return status
	}
	login := func(user string) {
		t.Helper()
		run("log in as "+user,
			chromedp.Navigate(home),
			chromedp.WaitVisible(css(`#login`)),
			chromedp.SendKeys(css(`#login input[name=user]`), user),
			chromedp.SendKeys(css(`#login input[name=password]`), consolePassword),
			chromedp.Click(css(`#login button`)),
			chromedp.WaitVisible(css(`#logout`)),
			chromedp.WaitVisible(css(`#case-list`)))
	}
	logout := func() {
		t.Helper()
		run("log out", chromedp.Click(css(`#logout`)), chromedp.WaitVisible(css(`#login`)))
	}
	upload := func(job string) {
		t.Helper()
		run("upload evidence",
			chromedp.Navigate(home+"#/case/intrusion/evidence"),
			chromedp.WaitVisible(css(`#upload`)),
			chromedp.SetUploadFiles(css(`#upload input[name=files]`), []string{evidence}),
			chromedp.Click(css(`#upload button`)),
			// The page polls the job; it ends done (or failed: caught below).
			chromedp.WaitVisible(css(`#jobs tr[data-id="`+job+`"]:is(.job-done, .job-failed)`)))
		if state := text(`#jobs tr[data-id="` + job + `"] td.state`); state != "done" {
			t.Fatalf("job %s: %s", job, state)
		}
	}

	// Log in; the admin creates a case.
	login("admin")
	if n := count(`#new-case`); n != 1 {
		t.Fatalf("the admin has no new-case form")
	}
	run("create a case",
		chromedp.SendKeys(css(`#new-case input[name=name]`), "intrusion"),
		chromedp.Click(css(`#new-case button`)),
		chromedp.WaitVisible(css(`#case-title`)))
	if got := text(`#case-title`); got != "intrusion" {
		t.Errorf("case title %q", got)
	}
	// An absent part is left out, not written as "null".
	noNull := func(where string) {
		t.Helper()
		if v := text(`#view`); strings.Contains(v, "null") || strings.Contains(v, "undefined") {
			t.Errorf("%s shows null or undefined: %s", where, v)
		}
	}
	noNull("the new case's overview")

	// Upload evidence and watch its hunt finish.
	upload("1")
	first := text(`#jobs tr[data-id="1"] td:last-child`)
	if !strings.HasSuffix(first, " detections") || first == "0 detections" {
		t.Fatalf("first hunt: %q, want detections", first)
	}

	// The hunt summarised its evidence: the metrics tab shows its channel.
	run("open the metrics", chromedp.Navigate(home+"#/case/intrusion/metrics"), chromedp.WaitVisible(css(`#metrics-channels`)))
	if ch := text(`#metrics-channels`); !strings.Contains(ch, "Microsoft-Windows-Sysmon/Operational") {
		t.Errorf("metrics channels %q, want the Sysmon channel", ch)
	}
	if count(`#metrics-timeline tr`) < 2 || count(`#metrics-computer-channels tr`) < 2 {
		t.Errorf("metrics without its timeline (%d rows) or its computers' channels (%d rows)", count(`#metrics-timeline tr`), count(`#metrics-computer-channels tr`))
	}
	noNull("the metrics")

	// Open an operation and its graph; select a process.
	run("open an operation",
		chromedp.Navigate(home+"#/case/intrusion"),
		chromedp.WaitVisible(css(`#operations tr.pick`)),
		chromedp.Click(css(`#operations tr.pick`)),
		chromedp.WaitVisible(css(`#opgraph g.proc.detected`)))
	noNull("the operation")
	if count(`#story li`) == 0 || count(`#joins`) != 1 {
		t.Errorf("operation page without its story or joins")
	}
	run("select a process",
		chromedp.Click(css(`#opgraph g.proc.detected`)),
		chromedp.WaitVisible(css(`#node-detail .node-detection dl.kv`)))
	if n := count(`#opgraph g.proc.selected`); n != 1 {
		t.Errorf("%d processes selected, want 1", n)
	}

	// Triage the operation with a note; the audit log shows it.
	run("triage the operation",
		chromedp.SetValue(css(`#triage-operation select[name=state]`), "malicious"),
		chromedp.SendKeys(css(`#triage-operation textarea[name=notes]`), "jjs.exe side-loads jli.dll"),
		chromedp.Click(css(`#triage-operation button`)),
		chromedp.WaitVisible(css(`#triage-operation .saved`)))
	opURL, err := chromedp.Run(bctx, chromedp.Location())
	check("operation URL", err)
	run("read the audit log", chromedp.Navigate(home+"#/case/intrusion/audit"), chromedp.WaitVisible(css(`#audit`)))
	if audit := text(`#audit`); !strings.Contains(audit, "triage.set") || !strings.Contains(audit, "malicious") {
		t.Errorf("audit log without the triage: %s", audit)
	}

	// Filter detections: high ones mentioning svchost.
	run("filter detections",
		chromedp.Navigate(home+"#/case/intrusion/detections"),
		chromedp.WaitVisible(css(`#detection-filter`)))
	all := count(`#detections tr.pick`)
	run("filter detections",
		chromedp.SetValue(css(`#detection-filter select[name=level]`), "high"),
		chromedp.SendKeys(css(`#detection-filter input[name=q]`), "svchost"),
		chromedp.Click(css(`#detection-filter button`)),
		chromedp.WaitVisible(css(`#detections[data-query*="level=high"]`)))
	filtered := count(`#detections tr.pick`)
	levels, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#detections tr.pick td:nth-child(2)")].map(td => td.textContent)`))
	check("levels", err)
	if filtered == 0 || filtered >= all {
		t.Errorf("%d detections filtered of %d", filtered, all)
	}
	for _, l := range levels {
		if l != "high" {
			t.Errorf("filtered list holds a %q detection", l)
		}
	}

	// A false positive becomes a filter; the next hunt applies it.
	const rule = "7a3b6d1f-4a2b-4f8c-9d7e-e9f8cbf21a35" // Potential JLI.dll Side-Loading
	run("list the rule's detections",
		chromedp.Navigate(home+"#/case/intrusion/detections?rule="+rule),
		chromedp.WaitVisible(css(`#detections[data-query*="rule="] tr.pick`)))
	if n := count(`#detections tr.pick`); n != 2 {
		t.Fatalf("%d detections of the side-loading rule, want 2", n)
	}
	run("make a filter",
		chromedp.Click(css(`#detections tr.pick`)),
		chromedp.WaitVisible(css(`#make-filter`)),
		chromedp.Click(css(`#make-filter button`)),
		chromedp.WaitVisible(css(`#make-filter .saved`)))
	run("see the filter", chromedp.Navigate(home+"#/case/intrusion/filters"), chromedp.WaitVisible(css(`#filters li`)))
	if f := text(`#filters`); !strings.Contains(f, rule) || !strings.Contains(f, "jli.dll") {
		t.Errorf("filter listed: %s", f)
	}
	upload("2")
	run("the second hunt's detections of the rule",
		chromedp.Navigate(home+"#/case/intrusion/detections?hunt=2&rule="+rule),
		chromedp.WaitVisible(css(`#detections[data-query*="hunt=2"]`)))
	if n := count(`#detections tr.pick`); n != 0 {
		t.Errorf("the second hunt detected the filtered events %d times", n)
	}
	run("the second hunt's other detections",
		chromedp.Navigate(home+"#/case/intrusion/detections?hunt=2"),
		chromedp.WaitVisible(css(`#detections[data-query="hunt=2"]`)))
	if n := count(`#detections tr.pick`); n != all-2 {
		t.Errorf("the second hunt found %d detections, want the first's %d less the 2 filtered", n, all)
	}

	// The STIX export the overview links to: a bundle with a report of
	// each operation, as spoor case export --stix writes it.
	run("the STIX link", chromedp.Navigate(home+"#/case/intrusion"), chromedp.WaitVisible(css(`a[href$="/export/stix.json"]`)))
	bundle, err := chromedp.Run(bctx, chromedp.Evaluate[string](`fetch(document.querySelector('a[href$="/export/stix.json"]').href)
		.then(r => r.json()).then(b => b.type + " " + b.objects.filter(o => o.type === "report").length)`, chromedp.EvalAwaitPromise))
	check("STIX export", err)
	if kind, reports, _ := strings.Cut(bundle, " "); kind != "bundle" || reports == "0" {
		t.Errorf("STIX export: %q, want a bundle with reports", bundle)
	}
	logout()

	// Refusals. Another tenant's case by its URL is not found.
	login("admin")
	run("another tenant's case",
		chromedp.Navigate(home+"#/case/secret"),
		chromedp.WaitVisible(css(`#view .error`)))
	if got := text(`#view .error`); got != "Not found." {
		t.Errorf("another tenant's case: %q", got)
	}
	// Its API is refused the same way as a case that does not exist: the
	// case, its detections and operations, their export.
	for _, path := range []string{"/api/cases/secret", "/api/cases/secret/detections", "/api/cases/secret/operations",
		"/api/cases/secret/export/timeline.csv"} {
		if s := getStatus(path); s != 404 {
			t.Errorf("another tenant's %s: %d, want 404", path, s)
		}
	}
	// A state change without the CSRF token is refused, with it accepted.
	opAPI := "/api/cases/intrusion/triage/operation/" + opURL[strings.LastIndex(opURL, "/")+1:]
	if s := fetchStatus("PUT", opAPI, `{"state":"benign"}`, false); s != 403 {
		t.Errorf("triage without CSRF token: %d, want 403", s)
	}
	run("reload the operation", chromedp.Navigate(opURL), chromedp.WaitVisible(css(`#triage-operation`)))
	state, err := chromedp.Run(bctx, chromedp.Value(css(`#triage-operation select[name=state]`)))
	check("state", err)
	if state != "malicious" {
		t.Errorf("state after a refused change: %q, want malicious", state)
	}
	logout()
	// A viewer is shown no way to triage, and the API refuses one.
	login("vic")
	run("the viewer opens the operation", chromedp.Navigate(opURL), chromedp.WaitVisible(css(`#triage-operation`)))
	if count(`#triage-operation select[disabled]`) != 1 || count(`#triage-operation button`) != 0 {
		t.Errorf("the viewer is offered triage")
	}
	if s := fetchStatus("PUT", opAPI, `{"state":"benign"}`, true); s != 403 {
		t.Errorf("viewer's triage: %d, want 403", s)
	}
	logout()
}

type css = chromedp.CSS

// consoleStore makes a store in a new folder with the default tenant and
// its users (name and role pairs), each with consolePassword, and returns
// the folder.
func consoleStore(t *testing.T, users ...[2]string) string {
	t.Helper()
	ctx, dir := t.Context(), t.TempDir()
	st, err := store.Open(ctx, dir)
	must(t, err)
	_, err = st.AddTenant(ctx, store.DefaultTenant, "test")
	must(t, err)
	for _, u := range users {
		_, err := st.AddUser(ctx, store.DefaultTenant, u[0], store.Role(u[1]), consolePassword, "test")
		must(t, err)
	}
	must(t, st.Close())
	return dir
}

// browserContext starts headless Chromium (browser) for the test and
// returns its context, whose limit guards against a hang.
func browserContext(t *testing.T, browser string, limit time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser),
		chromedp.Flag("ignore-certificate-errors", true), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	bctx, cancel := context.WithTimeout(bctx, limit)
	t.Cleanup(cancel)
	return bctx
}

// consoleLogin logs user in at the console's home, with consolePassword.
func consoleLogin(home, user string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(home),
		chromedp.WaitVisible(css(`#login`)),
		chromedp.SendKeys(css(`#login input[name=user]`), user),
		chromedp.SendKeys(css(`#login input[name=password]`), consolePassword),
		chromedp.Click(css(`#login button`)),
		chromedp.WaitVisible(css(`#case-list`)),
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\u2028", `\u2028`, "\u2029", `\u2029`)
	return `"` + r.Replace(s) + `"`
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
