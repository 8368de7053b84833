package bidi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// fakeBrowser serves one BiDi connection, answering each command with
// answer(method, params); an answer of nil closes the connection.
func fakeBrowser(t *testing.T, answer func(id int64, method string, params json.RawMessage) []string) *Conn {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		for {
			_, data, err := ws.Read(r.Context())
			if err != nil {
				return
			}
			var cmd struct {
				ID     int64           `json:"id"`
				Method string          `json:"method"`
				Params json.RawMessage `json:"params"`
			}
			if err := json.Unmarshal(data, &cmd); err != nil {
				t.Errorf("the client sent %s: %v", data, err)
				return
			}
			msgs := answer(cmd.ID, cmd.Method, cmd.Params)
			if msgs == nil {
				ws.Close(websocket.StatusGoingAway, "bye")
				return
			}
			for _, m := range msgs {
				if err := ws.Write(r.Context(), websocket.MessageText, []byte(m)); err != nil {
					return
				}
			}
		}
	}))
	t.Cleanup(srv.Close)
	c, err := Dial(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/session")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func idString(id int64) string { b, _ := json.Marshal(id); return string(b) }

func TestCall(t *testing.T) {
	var events []string
	c := fakeBrowser(t, func(id int64, method string, params json.RawMessage) []string {
		switch method {
		case "session.new":
			if string(params) != `{"capabilities":{"alwaysMatch":{"acceptInsecureCerts":true}}}` {
				t.Errorf("session.new params %s", params)
			}
			// Events before the answer reach their handler before the
			// call returns.
			return []string{
				`{"type":"event","method":"log.entryAdded","params":{"type":"console","level":"error","text":"one","method":"error"}}`,
				`{"type":"event","method":"log.entryAdded","params":{"type":"javascript","level":"error","text":"two"}}`,
				`{"type":"event","method":"other.event","params":{}}`,
				`{"type":"success","id":` + idString(id) + `,"result":{}}`,
			}
		case "browsingContext.getTree":
			return []string{`{"type":"success","id":` + idString(id) + `,"result":{"contexts":[{"context":"A","children":[]},{"context":"B"}]}}`}
		case "script.evaluate":
			return []string{`{"type":"error","id":` + idString(id) + `,"error":"no such frame","message":"gone"}`}
		case "script.callFunction":
			return []string{`{"type":"success","id":` + idString(id) + `,"result":{"type":"exception","exceptionDetails":{"text":"ReferenceError: x","lineNumber":2,"columnNumber":4}}}`}
		}
		return nil
	})
	c.OnLog(func(e LogEntry) { events = append(events, e.String()) })
	ctx := t.Context()
	if err := c.NewSession(ctx, Session{AcceptInsecureCerts: true}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"error console.error: one", "error javascript: two"}; !reflect.DeepEqual(events, want) {
		t.Errorf("events %q, want %q", events, want)
	}
	tabs, err := c.Tabs(ctx)
	if err != nil || !reflect.DeepEqual(tabs, []Context{"A", "B"}) {
		t.Errorf("tabs %v, %v", tabs, err)
	}
	_, err = c.Evaluate(ctx, "A", "1")
	var be *Error
	if !errors.As(err, &be) || be.Code != "no such frame" || be.Method != "script.evaluate" {
		t.Errorf("error answer: %v, want a *Error no such frame", err)
	}
	_, err = c.CallFunction(ctx, "A", "() => x")
	var ex *Exception
	if !errors.As(err, &ex) || ex.Text != "ReferenceError: x" || ex.Error() != "script threw at 3:5: ReferenceError: x" {
		t.Errorf("exception: %v", err)
	}
	if _, err := c.CallFunction(ctx, "A", "(x) => x", []string{"a"}); err == nil || !strings.Contains(err.Error(), "[]string") {
		t.Errorf("an argument of no JS form: %v", err)
	}
	// The browser goes away: this call and later ones fail, none hangs.
	if err := c.Call(ctx, "browser.close", nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("call when the browser went away: %v, want ErrClosed", err)
	}
	if err := c.Call(ctx, "session.status", nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("call after: %v, want ErrClosed", err)
	}
}

func TestCallCancelled(t *testing.T) {
	c := fakeBrowser(t, func(int64, string, json.RawMessage) []string { return []string{} }) // never answers
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Call(ctx, "session.status", nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: %v", err)
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		remote string
		want   any
		err    string
	}{
		{`{"type":"string","value":"a\"b"}`, "a\"b", ""},
		{`{"type":"number","value":1.5}`, 1.5, ""},
		{`{"type":"number","value":"-0"}`, 0.0, ""},
		{`{"type":"number","value":"NaN"}`, nil, "no JSON form"},
		{`{"type":"number","value":"many"}`, nil, "decode number"},
		{`{"type":"boolean","value":false}`, false, ""},
		{`{"type":"undefined"}`, nil, ""},
		{`{"type":"null"}`, nil, ""},
		{`{"type":"bigint","value":"12345678901234567890"}`, "12345678901234567890", ""},
		{`{"type":"array","value":[{"type":"number","value":1},{"type":"set","value":[{"type":"string","value":"s"}]}]}`, []any{1.0, []any{"s"}}, ""},
		{`{"type":"object","value":[["a",{"type":"null"}],["b",{"type":"object","value":[]}]]}`, map[string]any{"a": nil, "b": map[string]any{}}, ""},
		{`{"type":"map","value":[[{"type":"string","value":"k"},{"type":"number","value":2}]]}`, map[string]any{"k": 2.0}, ""},
		{`{"type":"map","value":[[{"type":"number","value":1},{"type":"number","value":2}]]}`, nil, "not a string"},
		{`{"type":"node","sharedId":"n-1","value":{"nodeType":1}}`, map[string]any{"sharedId": "n-1"}, ""},
		{`{"type":"array","value":[{"type":"function"}]}`, nil, "item 0: decode a function value"},
		{`{"type":"array"}`, nil, "decode array value"},
	} {
		var v Value
		if err := json.Unmarshal([]byte(tc.remote), &v); err != nil {
			t.Fatal(err)
		}
		var got any
		err := v.Decode(&got)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.remote, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, %v; want %#v", tc.remote, got, err, tc.want)
		}
	}
	var n Node
	v := Value{Type: "node", SharedID: "n-2"}
	if err := v.Decode(&n); err != nil || n.SharedID != "n-2" {
		t.Errorf("node decoded %+v, %v", n, err)
	}
	if got, ok := v.Node(); !ok || got != n {
		t.Errorf("Node() %v %v", got, ok)
	}
	if _, ok := (Value{Type: "string"}).Node(); ok {
		t.Errorf("a string is a node")
	}
}

// FuzzDecode: whatever the browser sends as a value, decoding it returns
// a value or an error, never a panic.
func FuzzDecode(f *testing.F) {
	f.Add(`{"type":"object","value":[["a",{"type":"array","value":[{"type":"number","value":"-0"}]}]]}`)
	f.Add(`{"type":"map","value":[[{"type":"string","value":"k"},{"type":"date","value":"2026-12-07T00:00:00.000Z"}]]}`)
	f.Add(`{"type":"node","sharedId":"x"}`)
	f.Fuzz(func(t *testing.T, s string) {
		var v Value
		if json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		var got any
		_ = v.Decode(&got)
	})
}
