package bidi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// Context is a browsing context's ID: a tab, or a frame in one.
type Context string

// Session is what a session asks of the browser (session.new's
// capabilities).
type Session struct {
	// AcceptInsecureCerts: tests of a server with a self-signed
	// certificate accept it.
	AcceptInsecureCerts bool
	// Prompts is what the browser does with a user prompt (alert,
	// confirm, prompt) that opens: "dismiss" (the protocol's default when
	// empty), "accept", or "ignore", leaving it open for HandlePrompt.
	Prompts string
}

// NewSession starts the connection's session (session.new).
func (c *Conn) NewSession(ctx context.Context, s Session) error {
	caps := map[string]any{"acceptInsecureCerts": s.AcceptInsecureCerts}
	if s.Prompts != "" {
		caps["unhandledPromptBehavior"] = map[string]string{"default": s.Prompts}
	}
	return c.Call(ctx, "session.new", map[string]any{"capabilities": map[string]any{"alwaysMatch": caps}}, nil)
}

// Subscribe asks the browser for events (session.subscribe), such as
// "log.entryAdded"; OnEvent or OnLog receive them.
func (c *Conn) Subscribe(ctx context.Context, events ...string) error {
	return c.Call(ctx, "session.subscribe", map[string]any{"events": events}, nil)
}

// Tabs returns the browser's top-level browsing contexts
// (browsingContext.getTree).
func (c *Conn) Tabs(ctx context.Context) ([]Context, error) {
	var tree struct {
		Contexts []struct {
			Context Context `json:"context"`
		} `json:"contexts"`
	}
	if err := c.Call(ctx, "browsingContext.getTree", map[string]any{"maxDepth": 0}, &tree); err != nil {
		return nil, err
	}
	out := make([]Context, len(tree.Contexts))
	for i, x := range tree.Contexts {
		out[i] = x.Context
	}
	return out, nil
}

// NewTab opens a tab (browsingContext.create).
func (c *Conn) NewTab(ctx context.Context) (Context, error) {
	var r struct {
		Context Context `json:"context"`
	}
	err := c.Call(ctx, "browsingContext.create", map[string]any{"type": "tab"}, &r)
	return r.Context, err
}

// Navigate loads url in bc and waits until the page has loaded
// (browsingContext.navigate, wait "complete").
func (c *Conn) Navigate(ctx context.Context, bc Context, url string) error {
	return c.Call(ctx, "browsingContext.navigate", map[string]any{"context": bc, "url": url, "wait": "complete"}, nil)
}

// Screenshot returns a PNG of bc's viewport
// (browsingContext.captureScreenshot).
func (c *Conn) Screenshot(ctx context.Context, bc Context) ([]byte, error) {
	var r struct {
		Data string `json:"data"`
	}
	if err := c.Call(ctx, "browsingContext.captureScreenshot", map[string]any{"context": bc}, &r); err != nil {
		return nil, err
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		return nil, fmt.Errorf("browsingContext.captureScreenshot: %w", err)
	}
	return png, nil
}

// Exception is a script that threw (or whose promise was rejected).
type Exception struct {
	Text   string // the browser's text of the exception
	Line   int    // zero-based, in the script
	Column int
}

func (e *Exception) Error() string {
	return fmt.Sprintf("script threw at %d:%d: %s", e.Line+1, e.Column+1, e.Text)
}

// scriptResult is script.evaluate's and script.callFunction's answer.
type scriptResult struct {
	Type      string `json:"type"` // success or exception
	Result    Value  `json:"result"`
	Exception struct {
		Text   string `json:"text"`
		Line   int    `json:"lineNumber"`
		Column int    `json:"columnNumber"`
	} `json:"exceptionDetails"`
}

func (r *scriptResult) value() (Value, error) {
	if r.Type == "exception" {
		return Value{}, &Exception{r.Exception.Text, r.Exception.Line, r.Exception.Column}
	}
	return r.Result, nil
}

// Evaluate runs a script expression in bc's page and returns its value,
// awaited if it is a promise (script.evaluate). An exception is an
// *Exception.
func (c *Conn) Evaluate(ctx context.Context, bc Context, expression string) (Value, error) {
	var r scriptResult
	err := c.Call(ctx, "script.evaluate", map[string]any{
		"expression": expression, "target": map[string]any{"context": bc},
		"awaitPromise": true, "resultOwnership": "none",
	}, &r)
	if err != nil {
		return Value{}, err
	}
	return r.value()
}

// CallFunction calls a function declaration, such as
// "(sel) => document.querySelector(sel)", in bc's page with args (strings,
// numbers, booleans, nil or Nodes) and returns its value, awaited if it is
// a promise (script.callFunction). An exception is an *Exception.
func (c *Conn) CallFunction(ctx context.Context, bc Context, function string, args ...any) (Value, error) {
	local := make([]any, len(args))
	for i, a := range args {
		v, err := localValue(a)
		if err != nil {
			return Value{}, fmt.Errorf("script.callFunction: %w", err)
		}
		local[i] = v
	}
	var r scriptResult
	err := c.Call(ctx, "script.callFunction", map[string]any{
		"functionDeclaration": function, "arguments": local, "target": map[string]any{"context": bc},
		"awaitPromise": true, "resultOwnership": "none",
	}, &r)
	if err != nil {
		return Value{}, err
	}
	return r.value()
}

// SetFiles chooses files for a file input, as a person would in the file
// picker (input.setFiles). The browser reads the paths itself.
func (c *Conn) SetFiles(ctx context.Context, bc Context, input Node, paths []string) error {
	return c.Call(ctx, "input.setFiles", map[string]any{"context": bc, "element": input, "files": paths}, nil)
}

// Click moves the mouse to the centre of el and presses and releases its
// main button (input.performActions): a real click, hit-tested by the
// browser. el must be in the viewport.
func (c *Conn) Click(ctx context.Context, bc Context, el Node) error {
	mouse := map[string]any{
		"type": "pointer", "id": "mouse", "parameters": map[string]any{"pointerType": "mouse"},
		"actions": []any{
			map[string]any{"type": "pointerMove", "x": 0, "y": 0, "origin": map[string]any{"type": "element", "element": el}},
			map[string]any{"type": "pointerDown", "button": 0},
			map[string]any{"type": "pointerUp", "button": 0},
		},
	}
	return c.Call(ctx, "input.performActions", map[string]any{"context": bc, "actions": []any{mouse}}, nil)
}

// Type presses and releases a key for each character of text, into
// whatever has the focus in bc (input.performActions).
func (c *Conn) Type(ctx context.Context, bc Context, text string) error {
	keys := make([]any, 0, 2*len(text))
	for _, r := range text {
		keys = append(keys, map[string]any{"type": "keyDown", "value": string(r)}, map[string]any{"type": "keyUp", "value": string(r)})
	}
	keyboard := map[string]any{"type": "key", "id": "keyboard", "actions": keys}
	return c.Call(ctx, "input.performActions", map[string]any{"context": bc, "actions": []any{keyboard}}, nil)
}

// LogEntry is a log.entryAdded event: a console message (Type "console")
// or an uncaught exception (Type "javascript").
type LogEntry struct {
	Type   string `json:"type"`
	Level  string `json:"level"` // debug, info, warn or error
	Text   string `json:"text"`
	Method string `json:"method"` // a console message's: log, error...
	Source struct {
		Context Context `json:"context"`
	} `json:"source"`
}

func (e LogEntry) String() string {
	what := e.Type
	if e.Method != "" {
		what += "." + e.Method
	}
	return fmt.Sprintf("%s %s: %s", e.Level, what, strings.TrimSpace(e.Text))
}

// OnLog calls fn with every log entry, once the session subscribed to
// "log.entryAdded". An entry the browser sends malformed is passed with
// its Type "malformed" and its JSON as Text, not dropped.
func (c *Conn) OnLog(fn func(LogEntry)) {
	c.OnEvent("log.entryAdded", func(params json.RawMessage) {
		var e LogEntry
		if err := json.Unmarshal(params, &e); err != nil {
			e = LogEntry{Type: "malformed", Level: "error", Text: string(params)}
		}
		fn(e)
	})
}

// Prompt is a user prompt that opened (browsingContext.userPromptOpened).
type Prompt struct {
	Context Context `json:"context"`
	Type    string  `json:"type"` // alert, beforeunload, confirm or prompt
	Message string  `json:"message"`
	Handler string  `json:"handler"` // what the browser does with it: accept, dismiss or ignore
}

// OnPrompt calls fn with every user prompt that opens, once the session
// subscribed to "browsingContext.userPromptOpened".
func (c *Conn) OnPrompt(fn func(Prompt)) {
	c.OnEvent("browsingContext.userPromptOpened", func(params json.RawMessage) {
		var p Prompt
		if err := json.Unmarshal(params, &p); err != nil {
			p = Prompt{Type: "malformed", Message: string(params)}
		}
		fn(p)
	})
}

// HandlePrompt accepts or dismisses the user prompt open in bc
// (browsingContext.handleUserPrompt).
func (c *Conn) HandlePrompt(ctx context.Context, bc Context, accept bool) error {
	return c.Call(ctx, "browsingContext.handleUserPrompt", map[string]any{"context": bc, "accept": accept}, nil)
}

// CloseBrowser ends the session and closes the browser (browser.close).
func (c *Conn) CloseBrowser(ctx context.Context) error {
	return c.Call(ctx, "browser.close", nil, nil)
}
