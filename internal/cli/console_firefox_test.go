package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/bidi"
)

// firefoxPage is the console in a tab of headless Firefox, driven over
// WebDriver BiDi. Its methods fail the test on an error, with a screenshot
// and the page's main element.
type firefoxPage struct {
	t   *testing.T
	ctx context.Context
	ff  *bidi.Firefox
	tab bidi.Context

	prompts chan bidi.Prompt // user prompts opened

	mu     sync.Mutex
	errors []string // console errors and uncaught exceptions
}

// logged keeps the page's errors: a console error or an uncaught
// exception fails the test.
func (p *firefoxPage) logged(e bidi.LogEntry) {
	if e.Level != "error" {
		return
	}
	p.mu.Lock()
	p.errors = append(p.errors, e.String())
	p.mu.Unlock()
}

// noErrors fails the test if the page logged an error or opened a prompt
// the test did not answer.
func (p *firefoxPage) noErrors(where string) {
	p.t.Helper()
	p.mu.Lock()
	errs := slices.Clone(p.errors)
	p.mu.Unlock()
	for len(p.prompts) > 0 {
		q := <-p.prompts
		errs = append(errs, "unexpected "+q.Type+": "+q.Message)
	}
	if len(errs) > 0 {
		p.fail(where, errors.New("the page logged errors or opened prompts:\n"+strings.Join(errs, "\n")))
	}
}

// fail ends the test with err, a screenshot (in the test's artifact
// folder: go test -artifacts keeps it), what the page logged and its main
// element.
func (p *firefoxPage) fail(what string, err error) {
	p.t.Helper()
	// A fresh context: the test's may be what ran out.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shot := "none"
	if png, e := p.ff.Screenshot(ctx, p.tab); e == nil {
		shot = filepath.Join(p.t.ArtifactDir(), "firefox.png")
		if e := os.WriteFile(shot, png, 0o644); e != nil {
			shot = e.Error()
		}
	}
	var page string
	if v, e := p.ff.Evaluate(ctx, p.tab, `document.querySelector("main").outerHTML`); e == nil {
		v.Decode(&page)
	}
	p.mu.Lock()
	logged := strings.Join(p.errors, "\n")
	p.mu.Unlock()
	p.t.Fatalf("%s: %v\nscreenshot: %s\nthe page logged: %s\npage: %s", what, err, shot, logged, page)
}

// written fails the test if the view shows a value written wrong: an
// absent part as null or undefined, an element as its type's name.
func (p *firefoxPage) written(where string) {
	p.t.Helper()
	v := p.text(`#view`)
	for _, bad := range []string{"null", "undefined", "[object "} {
		if strings.Contains(v, bad) {
			p.t.Errorf("%s shows %q: %s", where, bad, v)
		}
	}
}

// call calls a function in the page and decodes its value into dst
// (unless nil).
func (p *firefoxPage) call(what string, dst any, function string, args ...any) {
	p.t.Helper()
	v, err := p.ff.CallFunction(p.ctx, p.tab, function, args...)
	if err == nil && dst != nil {
		err = v.Decode(dst)
	}
	if err != nil {
		p.fail(what, err)
	}
}

// node returns the first element sel matches, scrolled into view.
func (p *firefoxPage) node(sel string) bidi.Node {
	p.t.Helper()
	v, err := p.ff.CallFunction(p.ctx, p.tab, `(sel) => {
		const e = document.querySelector(sel);
		if (e) e.scrollIntoView({block: "center"});
		return e;
	}`, sel)
	if err != nil {
		p.fail(sel, err)
	}
	n, ok := v.Node()
	if !ok {
		p.fail(sel, errors.New("no such element"))
	}
	return n
}

// navigate loads url anew and waits for the page to load.
func (p *firefoxPage) navigate(url string) {
	p.t.Helper()
	if err := p.ff.Navigate(p.ctx, p.tab, url); err != nil {
		p.fail("navigate to "+url, err)
	}
}

// route moves the console to a hash route, as a link does.
func (p *firefoxPage) route(hash string) {
	p.t.Helper()
	p.call("go to "+hash, nil, `(h) => { location.hash = h }`, hash)
}

// wait waits until sel matches a visible element. The page polls; the
// limit only guards against a hang.
func (p *firefoxPage) wait(sel string) {
	p.t.Helper()
	p.call("wait for "+sel, nil, `(sel) => new Promise((resolve, reject) => {
		const end = Date.now() + 60000;
		const tick = () => {
			const e = document.querySelector(sel);
			if (e && e.checkVisibility()) resolve();
			else if (Date.now() > end) reject(new Error("no visible " + sel));
			else setTimeout(tick, 20);
		};
		tick();
	})`, sel)
}

// click waits for sel and clicks it with the mouse.
func (p *firefoxPage) click(sel string) {
	p.t.Helper()
	p.wait(sel)
	if err := p.ff.Click(p.ctx, p.tab, p.node(sel)); err != nil {
		p.fail("click "+sel, err)
	}
}

// clickAnswering clicks sel, which opens a user prompt, answers it and
// returns its message. The click may wait for the prompt to close, so it
// runs beside the answer.
func (p *firefoxPage) clickAnswering(sel string, accept bool) string {
	p.t.Helper()
	p.wait(sel)
	n := p.node(sel)
	clicked := make(chan error, 1)
	go func() { clicked <- p.ff.Click(p.ctx, p.tab, n) }()
	var q bidi.Prompt
	returned := false
	select {
	case q = <-p.prompts:
	case err := <-clicked: // the click did not wait for the prompt
		if err != nil {
			p.fail("click "+sel, err)
		}
		returned = true
		select {
		case q = <-p.prompts:
		case <-p.ctx.Done():
			p.fail("click "+sel, errors.New("no prompt opened"))
		}
	case <-p.ctx.Done():
		p.fail("click "+sel, errors.New("no prompt opened"))
	}
	if err := p.ff.HandlePrompt(p.ctx, p.tab, accept); err != nil {
		p.fail("answer "+q.Message, err)
	}
	if !returned {
		if err := <-clicked; err != nil {
			p.fail("click "+sel, err)
		}
	}
	return q.Message
}

// typeInto clicks the field sel and types text on the keyboard.
func (p *firefoxPage) typeInto(sel, text string) {
	p.t.Helper()
	p.click(sel)
	if err := p.ff.Type(p.ctx, p.tab, text); err != nil {
		p.fail("type into "+sel, err)
	}
}

// choose picks the option value of the select sel, telling the page as
// a person's choice would.
func (p *firefoxPage) choose(sel, value string) {
	p.t.Helper()
	p.wait(sel)
	p.call("choose "+value+" in "+sel, nil, `(sel, v) => {
		const e = document.querySelector(sel);
		e.value = v;
		if (e.value !== v) throw new Error("no option " + v);
		e.dispatchEvent(new Event("change", {bubbles: true}));
	}`, sel, value)
}

func (p *firefoxPage) text(sel string) string {
	p.t.Helper()
	var s string
	p.call("read "+sel, &s, `(sel) => {
		const e = document.querySelector(sel);
		if (!e) throw new Error("no element");
		return e.textContent;
	}`, sel)
	return s
}

func (p *firefoxPage) count(sel string) int {
	p.t.Helper()
	var n int
	p.call("count "+sel, &n, `(sel) => document.querySelectorAll(sel).length`, sel)
	return n
}

// attrs returns the attribute name of every element sel matches.
func (p *firefoxPage) attrs(sel, name string) []string {
	p.t.Helper()
	var out []string
	p.call("read "+name+" of "+sel, &out, `(sel, name) => [...document.querySelectorAll(sel)].map((e) => e.getAttribute(name))`, sel, name)
	return out
}

// fetched is a response to a request the page sent.
type fetched struct {
	Status int
	Type   string
	Body   string
}

// fetch gets url from the page, with the session's cookie, as a link the
// page shows does.
func (p *firefoxPage) fetch(url string) fetched {
	p.t.Helper()
	var f fetched
	p.call("fetch "+url, &f, `async (url) => {
		const r = await fetch(url);
		return {Status: r.status, Type: r.headers.get("Content-Type") || "", Body: await r.text()};
	}`, url)
	return f
}

// TestConsoleInFirefox drives the console in headless Firefox (Debian's
// firefox-esr) over WebDriver BiDi against a real `spoor serve`: the main
// flows of TestConsoleInBrowser, with real clicks and keys. A console
// error or an uncaught exception in the page fails it. Every wait is for
// an element or a state, never a time.
func TestConsoleInFirefox(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	browser := bidi.NeedFirefox(t)
	evidence := consoleEvidence(t)
	home := consoleServe(t)

	// A guard against a hang: a hunt of a small file takes seconds.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	ff, err := bidi.LaunchFirefox(ctx, browser, t.TempDir())
	must(t, err)
	defer func() {
		if err := ff.Close(); err != nil {
			t.Errorf("close firefox: %v", err)
		}
	}()
	p := &firefoxPage{t: t, ctx: ctx, ff: ff, prompts: make(chan bidi.Prompt, 8)}
	ff.OnLog(p.logged)
	ff.OnPrompt(func(q bidi.Prompt) { p.prompts <- q })
	must(t, ff.Subscribe(ctx, "log.entryAdded", "browsingContext.userPromptOpened"))
	tabs, err := ff.Tabs(ctx)
	must(t, err)
	p.tab = tabs[0]

	// Log in.
	p.navigate(home)
	p.typeInto(`#login input[name=user]`, "admin")
	p.typeInto(`#login input[name=password]`, consolePassword)
	p.click(`#login button`)
	p.wait(`#logout`)
	p.wait(`#case-list`)
	if who := p.text(`#who`); who != "admin (admin, default)" {
		t.Errorf("logged in as %q", who)
	}

	// The admin creates a case; the cases list shows it.
	p.typeInto(`#new-case input[name=name]`, "intrusion")
	p.click(`#new-case button`)
	p.wait(`#case-title`)
	if got := p.text(`#case-title`); got != "intrusion" {
		t.Errorf("case title %q", got)
	}
	p.route("#/")
	p.wait(`#case-list a[href="#/case/intrusion"]`)

	// Evidence chosen in Firefox's file input is uploaded and hunted.
	p.route("#/case/intrusion/evidence")
	p.wait(`#upload`)
	if err := ff.SetFiles(ctx, p.tab, p.node(`#upload input[name=files]`), []string{evidence}); err != nil {
		p.fail("choose the evidence", err)
	}
	p.click(`#upload button`)
	p.wait(`#jobs tr[data-id="1"]:is(.job-done, .job-failed)`)
	if state := p.text(`#jobs tr[data-id="1"] td.state`); state != "done" {
		t.Fatalf("upload's hunt: %s", state)
	}

	// The case's overview.
	p.route("#/case/intrusion")
	p.wait(`#operations tr.pick`)
	if n := p.text(`#detection-count`); n == "0" || n == "" {
		t.Errorf("overview: %q detections", n)
	}
	if p.count(`#tactic-grid li`) == 0 {
		t.Errorf("overview without its tactic grid")
	}
	p.written("the overview")

	// An operation: its story and graph; a process selected shows its
	// detections.
	p.click(`#operations tr.pick`)
	p.wait(`#opgraph g.proc.detected`)
	if p.count(`#story li`) == 0 || p.count(`#joins`) != 1 {
		t.Errorf("operation page without its story or joins")
	}
	p.click(`#opgraph g.proc.detected`)
	p.wait(`#node-detail .node-detection dl.kv`)
	if n := p.count(`#opgraph g.proc.selected`); n != 1 {
		t.Errorf("%d processes selected, want 1", n)
	}
	if p.count(`#node-detail dl.kv dt`) == 0 {
		t.Errorf("the selected process's detections show no fields")
	}
	p.written("the operation")
	if v := p.text(`#view`); strings.Contains(v, "users ;") {
		t.Errorf("the operation lists its users when it has none: %s", v)
	}
	// The keyboard selects another process: focus it, press Enter.
	var other string
	p.call("focus another process", &other, `() => {
		const g = document.querySelector("#opgraph g.proc:not(.selected)");
		g.focus();
		return g.dataset.label;
	}`)
	if err := ff.Type(ctx, p.tab, "\uE007"); err != nil { // WebDriver's Enter key
		p.fail("press Enter", err)
	}
	p.wait(`#opgraph g.proc.selected[data-label="` + other + `"]`)
	p.wait(`#node-detail h3`)
	if got := p.text(`#node-detail h3`); !strings.HasPrefix(got, other) {
		t.Errorf("Enter on %s shows %q", other, got)
	}

	// Triage it; the change outlives a reload of the page.
	p.choose(`#triage-operation select[name=state]`, "malicious")
	p.typeInto(`#triage-operation textarea[name=notes]`, "jjs.exe side-loads jli.dll")
	p.click(`#triage-operation button`)
	p.wait(`#triage-operation .saved`)
	if s := p.text(`#triage-operation .saved`); !strings.Contains(s, "malicious") {
		t.Errorf("triage saved: %q", s)
	}
	var opURL string
	p.call("operation URL", &opURL, `() => location.href`)
	p.navigate(opURL)
	p.wait(`#triage-operation`)
	var triage []string
	p.call("triage", &triage, `() => [...document.querySelectorAll("#triage-operation select, #triage-operation textarea")].map((e) => e.value)`)
	if want := []string{"malicious", "jjs.exe side-loads jli.dll"}; !slices.Equal(triage, want) {
		t.Errorf("triage after a reload %q, want %q", triage, want)
	}

	// Detections: filter high ones mentioning svchost.
	p.route("#/case/intrusion/detections")
	p.wait(`#detections[data-query=""]`)
	all := p.count(`#detections tr.pick`)
	p.choose(`#detection-filter select[name=level]`, "high")
	p.typeInto(`#detection-filter input[name=q]`, "svchost")
	p.click(`#detection-filter button`)
	p.wait(`#detections[data-query*="level=high"]`)
	var levels []string
	p.call("levels", &levels, `() => [...document.querySelectorAll("#detections tr.pick td:nth-child(2)")].map((td) => td.textContent)`)
	if len(levels) == 0 || len(levels) >= all {
		t.Errorf("%d detections filtered of %d", len(levels), all)
	}
	for _, l := range levels {
		if l != "high" {
			t.Errorf("filtered list holds a %q detection", l)
		}
	}
	// Pages of two, forward by the link and back by the browser's history.
	if all < 4 {
		t.Fatalf("%d detections: too few to page", all)
	}
	p.route("#/case/intrusion/detections?limit=2")
	p.wait(`#detections[data-query="limit=2"]`)
	first := p.attrs(`#detections tr.pick`, "data-id")
	p.click(`#next-page`)
	p.wait(`#detections[data-query*="after="]`)
	second := p.attrs(`#detections tr.pick`, "data-id")
	if len(first) != 2 || len(second) != 2 || slices.ContainsFunc(second, func(id string) bool { return slices.Contains(first, id) }) {
		t.Errorf("pages %q then %q, want two of two each", first, second)
	}
	p.click(`#prev-page`)
	p.wait(`#detections[data-query="limit=2"]`)
	if back := p.attrs(`#detections tr.pick`, "data-id"); !slices.Equal(back, first) {
		t.Errorf("back to page %q, want %q", back, first)
	}
	// A detection opens its event's fields.
	p.click(`#detections tr.pick`)
	p.wait(`#detection-detail dl.kv`)
	if p.count(`#detection-detail dl.kv dt`) == 0 {
		t.Errorf("the detection shows no fields")
	}
	p.written("a detection")

	// A false positive becomes a filter; removing it asks first.
	const rule = "7a3b6d1f-4a2b-4f8c-9d7e-e9f8cbf21a35" // Potential JLI.dll Side-Loading
	p.route("#/case/intrusion/detections?rule=" + rule)
	p.wait(`#detections[data-query*="rule="] tr.pick`)
	p.click(`#detections tr.pick`)
	p.click(`#make-filter button`)
	p.wait(`#make-filter .saved`)
	p.route("#/case/intrusion/filters")
	p.wait(`#filters li`)
	if f := p.text(`#filters`); !strings.Contains(f, rule) || !strings.Contains(f, "jli.dll") {
		t.Errorf("filter listed: %s", f)
	}
	if msg := p.clickAnswering(`#filters li button`, false); !strings.HasPrefix(msg, "Remove this filter?") {
		t.Errorf("removal asked %q", msg)
	}
	if n := p.count(`#filters li`); n != 1 {
		t.Errorf("%d filters after the removal was cancelled, want 1", n)
	}
	p.clickAnswering(`#filters li button`, true)
	p.wait(`p#filters`)

	// The timeline: every detection in one column per host.
	p.route("#/case/intrusion/timeline")
	p.wait(`#timeline`)
	if rows := p.count(`#timeline tr`) - 1; rows != all {
		t.Errorf("timeline of %d rows, want the %d detections", rows, all)
	}
	if cells := p.count(`#timeline td.cell a`); cells != all {
		t.Errorf("timeline of %d detections in host columns, want %d", cells, all)
	}

	// What the evidence holds, the filters and the audit log.
	for _, tab := range [][2]string{{"metrics", "#metrics-channels"}, {"logons", "#logons-logons"}, {"gaps", "#gaps-findings"},
		{"filters", "#filters"}, {"audit", "#audit"}} {
		p.route("#/case/intrusion/" + tab[0])
		p.wait(`.tabs a.on[href$="/` + tab[0] + `"]`)
		p.wait(tab[1])
		if tab[0] != "audit" { // its details are JSON, null included
			p.written("the " + tab[0] + " tab")
		}
	}
	if audit := p.text(`#audit`); !strings.Contains(audit, "triage.set") || !strings.Contains(audit, "malicious") {
		t.Errorf("audit log without the triage: %s", audit)
	}

	// The export links answer the timeline and the report.
	csv := p.attrs(`.tabs a[download="timeline.csv"]`, "href")
	report := p.attrs(`.tabs a[download="report.html"]`, "href")
	if len(csv) != 1 || len(report) != 1 {
		t.Fatalf("export links %q %q", csv, report)
	}
	got := p.fetch(csv[0])
	lines := strings.Split(strings.TrimSpace(got.Body), "\n")
	if got.Status != 200 || !strings.HasPrefix(got.Type, "text/csv") || !strings.HasPrefix(lines[0], "timestamp,datetime,") || len(lines) != all+1 {
		t.Errorf("timeline CSV: %d %s, %d lines, starting %q; want 200, CSV, %d lines", got.Status, got.Type, len(lines), lines[0], all+1)
	}
	if got := p.fetch(report[0]); got.Status != 200 || !strings.HasPrefix(got.Type, "text/html") || !strings.Contains(got.Body, "jli.dll") {
		t.Errorf("HTML report: %d %s, %d bytes", got.Status, got.Type, len(got.Body))
	}

	// Log out: the session is gone.
	p.click(`#logout`)
	p.wait(`#login`)
	if got := p.fetch("/api/me"); got.Status != 401 {
		t.Errorf("/api/me after logging out: %d, want 401", got.Status)
	}
	if n := p.count(`#view *`); n != 0 {
		t.Errorf("the view keeps %d elements after logging out", n)
	}
	p.noErrors("the console in Firefox")
}
