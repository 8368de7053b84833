package html

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium returns the path of a Chromium browser, skipping the test when
// there is none, except in CI (CI=true), where the browser test must run:
// .ci/run installs Debian's chromium package. SPOOR_CHROMIUM names another
// binary.
func chromium(t *testing.T) string {
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
		t.Fatal("no chromium on PATH: CI must run the HTML report's browser test (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH: skipping the HTML report's browser test (apt-get install chromium to run it)")
	return ""
}

// consoleLine matches what Chromium logs to stderr for a console message
// or an uncaught error: [pid:tid:time:INFO:CONSOLE:1] "message", source: ...
var consoleLine = regexp.MustCompile(`(?m)^\[[^\]]*:CONSOLE[^\]]*\].*$`)

// dumpDOM opens url in headless Chromium and returns the DOM once the page
// has loaded and its scripts have run, and what the page wrote to the
// console (the report itself writes nothing there).
func dumpDOM(t *testing.T, browser, url string) (dom string, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--user-data-dir="+t.TempDir(),
		"--enable-logging=stderr", "--v=0",
		"--virtual-time-budget=5000",
		"--dump-dom", url)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", browser, err, stderr.String())
	}
	if stdout.Len() == 0 {
		t.Fatalf("%s dumped no DOM:\n%s", browser, stderr.String())
	}
	return stdout.String(), consoleLine.FindAllString(stderr.String(), -1)
}

// TestBrowser opens the report of the fixture in headless Chromium and
// checks, in the DOM after its scripts ran, that the operation view (card,
// attribution, story, graph of hosts and processes), the summary, the
// chart and the table are there, that the script ran without errors (none caught
// by the page into #js-errors, none on the console), that the hostile
// evidence stayed text, and that the filters in the address apply.
func TestBrowser(t *testing.T) {
	browser := chromium(t)
	r := fixture()
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, []byte(render(t, r, Options{})), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + filepath.ToSlash(path)

	noErrors := func(t *testing.T, dom string, console []string) {
		t.Helper()
		for _, line := range console {
			t.Errorf("console: %s", line)
		}
		m := regexp.MustCompile(`(?s)<div id="js-errors"[^>]*>(.*?)</div>`).FindStringSubmatch(dom)
		if m == nil {
			t.Fatal("no #js-errors in the DOM")
		}
		if strings.TrimSpace(m[1]) != "" {
			t.Errorf("the page caught script errors: %s", m[1])
		}
		if !regexp.MustCompile(`<body[^>]* data-ready="1"`).MatchString(dom) {
			t.Error(`the report's script did not finish: no data-ready="1" on body`)
		}
		// The hostile strings' scripts would set this attribute.
		if regexp.MustCompile(`\sdata-pwned="`).MatchString(dom) {
			t.Error("hostile evidence ran as script: data-pwned is set")
		}
	}

	t.Run("render", func(t *testing.T) {
		dom, console := dumpDOM(t, browser, url)
		noErrors(t, dom, console)
		for _, want := range []string{
			`<span class="n">9</span> detections`,
			`<li class="lv lv-critical"><span class="n">2</span> Critical</li>`,
			`<dt>Events read</dt><dd>12,345</dd>`,
			`<svg id="chart"`,
			`<span class="count">3 detections / 1 rule</span>`,
			`Showing 9 of 9 detections`,
			// Hostile strings are in the DOM as text.
			`WS03&lt;img src=x onerror="document.body.setAttribute('data-pwned','2')"&gt;`,
			`&lt;script&gt;document.body.setAttribute('data-pwned','1')&lt;/script&gt;`,
		} {
			if !strings.Contains(dom, want) {
				t.Errorf("DOM lacks %q", want)
			}
		}
		if got := strings.Count(dom, `<g class="bucket"`); got != 37 {
			t.Errorf("chart has %d bar groups, want 37", got)
		}
		// The operation view: its card, the groups it resembles, its
		// story and its graph of hosts and processes.
		for _, want := range []string{
			`<a href="#operations">Operations</a>`,
			`<article class="operation lv-critical" id="operation-1"`,
			`Operation 1: 2 hosts, 5 detections`,
			`<span class="group">APT41 (G0096)</span>, confidence 0.42`,
			`<small>runner-up</small>`,
			`<svg class="opgraph"`,
			`<summary>Story: 3 steps</summary>`,
		} {
			if !strings.Contains(dom, want) {
				t.Errorf("DOM lacks %q", want)
			}
		}
		if strings.Index(dom, `id="operations"`) > strings.Index(dom, `id="summary"`) {
			t.Error("the operations are not first")
		}
		if got := strings.Count(dom, `<g class="lane">`); got != 2 {
			t.Errorf("operation graph has %d host lanes, want 2", got)
		}
		if got := strings.Count(dom, `<g class="proc`); got != 6 {
			t.Errorf("operation graph has %d processes, want 6", got)
		}
		if got := strings.Count(dom, `<path class="edge parent"`); got != 4 {
			t.Errorf("operation graph has %d parent edges, want 4", got)
		}
		if got := strings.Count(dom, `<path class="edge lateral"`); got != 1 {
			t.Errorf("operation graph has %d lateral edges, want 1", got)
		}
		bars := dom[strings.Index(dom, `<g class="bars">`):]
		if got := strings.Count(bars[:strings.Index(bars, "</svg>")], "<rect "); got != 7 {
			t.Errorf("chart has %d bar segments, want 7", got)
		}
		if got := strings.Count(dom, `<tr class="lv-`); got != len(r.Detections) {
			t.Errorf("table has %d rows, want %d", got, len(r.Detections))
		}
		if strings.Contains(dom, `<form id="filters" class="filters" hidden`) {
			t.Error("the filter form is still hidden")
		}
		if got := strings.Count(dom, `<button type="button" class="sort">`); got != 6 {
			t.Errorf("got %d sort buttons, want 6", got)
		}
	})

	// Without JavaScript, everything but the filters shows. Chromium's
	// --dump-dom needs scripts enabled, so the page is opened with its
	// scripts cut out instead.
	t.Run("no script", func(t *testing.T) {
		page := regexp.MustCompile(`(?s)<script>.*?</script>`).ReplaceAllString(render(t, r, Options{}), "")
		path := filepath.Join(t.TempDir(), "report-noscript.html")
		if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		dom, console := dumpDOM(t, browser, "file://"+filepath.ToSlash(path))
		for _, line := range console {
			t.Errorf("console: %s", line)
		}
		for _, want := range []string{`<span class="n">9</span> detections`, `<svg id="chart"`, `<form id="filters" class="filters" hidden="">`, `>9 detections</p>`,
			`<svg class="opgraph"`, `<details class="story" open="">`} {
			if !strings.Contains(dom, want) {
				t.Errorf("DOM lacks %q", want)
			}
		}
		if got := strings.Count(dom, `<g class="bucket"`); got != 37 {
			t.Errorf("chart has %d bar groups, want 37", got)
		}
		if got := strings.Count(dom, `<tr class="lv-`); got != len(r.Detections) {
			t.Errorf("table has %d rows, want %d", got, len(r.Detections))
		}
		if strings.Contains(dom, `data-ready="1"`) {
			t.Error("the script ran with scripts disabled")
		}
	})

	// The address's fragment sets the filters: a search, levels, a host.
	// Paged: the first rows show, and buttons for more.
	t.Run("paged", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "report-paged.html")
		if err := os.WriteFile(path, []byte(render(t, r, Options{PageRows: 4})), 0o644); err != nil {
			t.Fatal(err)
		}
		for hash, want := range map[string]string{
			"":              "Showing 9 of 9 detections; the first 4 are listed",
			"#q=reg%20save": "Showing 2 of 9 detections<",
		} {
			dom, console := dumpDOM(t, browser, "file://"+filepath.ToSlash(path)+hash)
			noErrors(t, dom, console)
			if !strings.Contains(dom, want) {
				t.Errorf("%s: DOM lacks %q", hash, want)
			}
			visible := len(regexp.MustCompile(`<tr class="lv-[a-z]+" data-t="\d+">`).FindAllString(dom, -1))
			moreHidden := strings.Contains(dom, `<button type="button" id="more" hidden="">`)
			if hash == "" && (visible != 4 || moreHidden) {
				t.Errorf("got %d rows shown and the more button hidden=%v; want 4 shown and the button", visible, moreHidden)
			}
			if hash != "" && (visible != 2 || !moreHidden) {
				t.Errorf("%s: got %d rows shown and the more button hidden=%v; want 2 shown and no button", hash, visible, moreHidden)
			}
		}
	})

	// first is the time of the first row in the table, when the test
	// checks the order.
	for _, tc := range []struct {
		hash  string
		shown int
		first string
	}{
		{"q=reg%20save", 2, ""},
		{"levels=critical,high", 4, ""},
		{"host=DC01.corp.local&levels=critical", 1, ""},
		{"q=%3Cscript%3E", 1, ""},
		{"rule=Reconnaissance%20burst&sort=-t", 3, "2024-05-14 15:10:30.000"},
		{"sort=level", 9, "2024-05-14 09:59:30.000"},
	} {
		t.Run(tc.hash, func(t *testing.T) {
			dom, console := dumpDOM(t, browser, url+"#"+tc.hash)
			noErrors(t, dom, console)
			want := "Showing " + num(tc.shown) + " of 9 detections"
			if !strings.Contains(dom, want) {
				m := regexp.MustCompile(`Showing \d+ of \d+ detections`).FindString(dom)
				t.Errorf("got %q, want %q", m, want)
			}
			rows := regexp.MustCompile(`<tr class="lv-[a-z]+" data-t="\d+"( hidden="")?>`).FindAllStringSubmatch(dom, -1)
			visible := 0
			for _, m := range rows {
				if m[1] == "" {
					visible++
				}
			}
			if len(rows) != 9 || visible != tc.shown {
				t.Errorf("got %d rows, %d visible; want 9, %d visible", len(rows), visible, tc.shown)
			}
			if tc.first != "" {
				m := regexp.MustCompile(`<tr class="lv-[a-z]+" data-t="\d+"[^>]*><td>([^<]*)</td>`).FindStringSubmatch(dom)
				if m == nil || m[1] != tc.first {
					t.Errorf("first row: got %q, want %q", m, tc.first)
				}
			}
		})
	}
}
