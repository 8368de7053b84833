package cli

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/spoor-hunt/spoor/internal/metrics"
	"github.com/spoor-hunt/spoor/internal/server"
	"github.com/spoor-hunt/spoor/internal/store"
)

// TestConsoleMetricsManyDays: the Metrics tab draws the events over time
// of a hunt whose evidence spans 200,000 days (an event a day, its times
// made up): its histogram found the busiest bucket by spreading every
// bucket into Math.max's arguments, past what the browser's stack holds,
// and the tab showed an error instead.
func TestConsoleMetricsManyDays(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	browser := consoleBrowser(t)
	ctx := t.Context()
	dir := consoleStore(t, [2]string{"vic", "viewer"})
	st, err := store.Open(ctx, dir)
	must(t, err)
	_, err = st.AddCase(ctx, store.DefaultTenant, "intrusion", "", "test")
	must(t, err)
	w, err := st.BeginHunt(ctx, store.DefaultTenant, "intrusion", store.HuntSpec{By: "test", Paths: []string{"made-up.json"}})
	must(t, err)
	must(t, w.Finish(ctx, json.RawMessage(`{}`)))
	m := metrics.Result{Events: 200_000, Timeline: metrics.Timeline{Per: "day"}}
	day0 := time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 200_000 {
		m.Timeline.Buckets = append(m.Timeline.Buckets, metrics.Bucket{Start: day0.AddDate(0, 0, i), Events: 1 + int64(i%7)})
	}
	body, err := json.Marshal(m)
	must(t, err)
	must(t, st.SaveSummary(ctx, store.DefaultTenant, "intrusion", w.Hunt(), "metrics", body))
	must(t, st.Close())
	t.Setenv(server.AdminPasswordEnv, "")
	home := startServe(t, "--data", dir).url + "/"

	bctx := browserContext(t, browser, time.Minute)
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			page, _ := chromedp.Run(bctx, chromedp.OuterHTML(css(`main`)))
			t.Fatalf("%s: %v\npage: %.2000s", what, err, page)
		}
	}
	check("log in", chromedp.Do(bctx, consoleLogin(home, "vic")...))
	check("open the metrics", chromedp.Do(bctx, chromedp.Navigate(home+"#/case/intrusion/metrics")))
	// The timeline drawn, or the error shown instead.
	drawn, err := chromedp.Run(bctx, chromedp.Evaluate[string](`new Promise((done) => {
		const look = () => {
			const e = document.querySelector("#metrics-timeline, #view [role=alert]");
			if (e) done(e.id || e.textContent); else setTimeout(look, 50);
		};
		look();
	})`, chromedp.EvalAwaitPromise))
	check("wait for the metrics", err)
	rows, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#metrics-timeline tr").length`))
	check("count the timeline's rows", err)
	if drawn != "metrics-timeline" || rows != 501 {
		t.Errorf("the metrics page shows %.300q, its timeline %d rows; want the timeline, 500 buckets and its header", drawn, rows)
	}
}
