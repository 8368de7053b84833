package bidi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const testPage = `<!doctype html><title>bidi test</title>
<input id=text> <button id=go onclick="document.getElementById('out').textContent = 'clicked ' + event.isTrusted">go</button>
<input id=file type=file multiple>
<p id=out></p>`

// TestFirefox drives a real headless Firefox over a TLS server with a
// self-signed certificate: each command the console's test uses.
func TestFirefox(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	path := NeedFirefox(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(testPage))
	}))
	defer srv.Close()
	// A guard against a hang, not a measurement.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	ff, err := LaunchFirefox(ctx, path, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := ff.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	logs := make(chan LogEntry, 16)
	ff.OnLog(func(e LogEntry) { logs <- e })
	prompts := make(chan Prompt, 4)
	ff.OnPrompt(func(p Prompt) { prompts <- p })
	if err := ff.Subscribe(ctx, "log.entryAdded", "browsingContext.userPromptOpened"); err != nil {
		t.Fatal(err)
	}
	tabs, err := ff.Tabs(ctx)
	if err != nil || len(tabs) != 1 {
		t.Fatalf("tabs %v, %v; want one", tabs, err)
	}
	tab := tabs[0]
	if err := ff.Navigate(ctx, tab, srv.URL); err != nil {
		t.Fatal(err)
	}

	eval := func(expr string, dst any) {
		t.Helper()
		v, err := ff.Evaluate(ctx, tab, expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if err := v.Decode(dst); err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
	}
	var title string
	eval(`document.title`, &title)
	if title != "bidi test" {
		t.Errorf("title %q, want %q", title, "bidi test")
	}
	var obj struct {
		A int
		B []any
		M map[string]int
	}
	eval(`Promise.resolve({A: 1, B: [true, "x", null, undefined], M: new Map([["k", 2]])})`, &obj)
	if obj.A != 1 || len(obj.B) != 4 || obj.B[0] != true || obj.B[1] != "x" || obj.B[2] != nil || obj.M["k"] != 2 {
		t.Errorf("object %+v", obj)
	}
	var ex *Exception
	if _, err := ff.Evaluate(ctx, tab, `(async () => { throw new Error("no luck") })()`); !errors.As(err, &ex) || !bytes.Contains([]byte(ex.Text), []byte("no luck")) {
		t.Errorf("a rejected promise: %v, want an *Exception saying no luck", err)
	}
	var joined string
	v, err := ff.CallFunction(ctx, tab, `(s, n, b, z) => [s, n + 1, b, z].join(",")`, "a", 41, false, nil)
	if err != nil || v.Decode(&joined) != nil || joined != "a,42,false," {
		t.Errorf("callFunction: %q, %v", joined, err)
	}

	node := func(sel string) Node {
		t.Helper()
		v, err := ff.CallFunction(ctx, tab, `(sel) => document.querySelector(sel)`, sel)
		if err != nil {
			t.Fatal(err)
		}
		n, ok := v.Node()
		if !ok {
			t.Fatalf("%s: %s, not a node", sel, v.Type)
		}
		return n
	}
	// A real click: the browser says the event is trusted.
	if err := ff.Click(ctx, tab, node("#go")); err != nil {
		t.Fatal(err)
	}
	var out string
	eval(`document.getElementById("out").textContent`, &out)
	if out != "clicked true" {
		t.Errorf("after the click: %q, want %q", out, "clicked true")
	}
	if err := ff.Click(ctx, tab, node("#text")); err != nil {
		t.Fatal(err)
	}
	if err := ff.Type(ctx, tab, "héllo wörld"); err != nil {
		t.Fatal(err)
	}
	eval(`document.getElementById("text").value`, &out)
	if out != "héllo wörld" {
		t.Errorf("typed %q, want %q", out, "héllo wörld")
	}
	file := filepath.Join(t.TempDir(), "evidence.evtx")
	if err := os.WriteFile(file, []byte("ElfFile"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ff.SetFiles(ctx, tab, node("#file"), []string{file}); err != nil {
		t.Fatal(err)
	}
	eval(`(async () => { const f = document.getElementById("file").files[0]; return f.name + " " + await f.text() })()`, &out)
	if out != "evidence.evtx ElfFile" {
		t.Errorf("file chosen: %q", out)
	}

	// A console error and an uncaught exception are both logged as errors.
	if _, err := ff.Evaluate(ctx, tab, `console.error("bad", 1); setTimeout(() => { throw new TypeError("worse") }); 0`); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"console": "bad 1", "javascript": "TypeError: worse"}
	for len(want) > 0 {
		select {
		case e := <-logs:
			if w, ok := want[e.Type]; ok && e.Level == "error" && bytes.Contains([]byte(e.Text), []byte(w)) {
				delete(want, e.Type)
			}
		case <-ctx.Done():
			t.Fatalf("log entries not seen: %v", want)
		}
	}

	// A confirm stays open until answered, then returns the answer.
	for _, accept := range []bool{true, false} {
		answer := make(chan any, 1)
		go func() {
			var b any
			v, err := ff.Evaluate(ctx, tab, `confirm("sure?")`)
			if err == nil {
				err = v.Decode(&b)
			}
			if err != nil {
				b = err
			}
			answer <- b
		}()
		select {
		case p := <-prompts:
			if p.Type != "confirm" || p.Message != "sure?" || p.Context != tab || p.Handler != "ignore" {
				t.Errorf("prompt %+v", p)
			}
		case <-ctx.Done():
			t.Fatal("no prompt seen")
		}
		if err := ff.HandlePrompt(ctx, tab, accept); err != nil {
			t.Fatal(err)
		}
		if got := <-answer; got != accept {
			t.Errorf("confirm answered %v: %v", accept, got)
		}
	}

	png, err := ff.Screenshot(ctx, tab)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot: %d bytes, %v; want a PNG", len(png), err)
	}
	second, err := ff.NewTab(ctx)
	if err != nil || second == "" || second == tab {
		t.Errorf("new tab %q, %v", second, err)
	}
}
