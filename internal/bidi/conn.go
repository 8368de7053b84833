// Package bidi is a small WebDriver BiDi client (W3C WebDriver BiDi) for
// driving a browser from tests: the console's Firefox test uses it. It
// speaks the protocol's JSON messages over one WebSocket: commands with
// their responses, and events. It covers what the tests need, not the
// whole protocol.
package bidi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/coder/websocket"
)

// maxMessage bounds one message from the browser: a screenshot of a page
// is the largest a test asks for.
const maxMessage = 64 << 20

// Conn is a connection to a browser's BiDi endpoint. Its methods may be
// called from several goroutines; event handlers run on the connection's
// reader goroutine, one at a time, in the order the browser sent them, and
// must not call the connection themselves.
type Conn struct {
	ws *websocket.Conn

	mu       sync.Mutex
	next     int64
	pending  map[int64]chan message
	handlers map[string][]func(json.RawMessage)
	err      error         // why reading stopped
	done     chan struct{} // closed when reading stops
}

// message is any message from the browser: a command's response (success
// or error) or an event.
type message struct {
	Type    string          `json:"type"` // success, error or event
	ID      *int64          `json:"id"`
	Result  json.RawMessage `json:"result"`
	Method  string          `json:"method"` // an event's
	Params  json.RawMessage `json:"params"` // an event's
	Error   string          `json:"error"`
	Message string          `json:"message"`
}

// Error is an error the browser answered a command with.
type Error struct {
	Method  string // the command
	Code    string // the protocol's error code, such as "no such element"
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Method, e.Code, e.Message)
}

// ErrClosed is returned by calls on a connection that has stopped.
var ErrClosed = errors.New("bidi: connection closed")

// Dial connects to a BiDi WebSocket endpoint, such as
// ws://127.0.0.1:PORT/session.
func Dial(ctx context.Context, url string) (*Conn, error) {
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	ws.SetReadLimit(maxMessage)
	c := &Conn{
		ws:       ws,
		pending:  make(map[int64]chan message),
		handlers: make(map[string][]func(json.RawMessage)),
		done:     make(chan struct{}),
	}
	go c.read()
	return c, nil
}

// read hands each response to its caller and each event to its handlers
// until the connection fails or closes.
func (c *Conn) read() {
	var err error
	for {
		var data []byte
		_, data, err = c.ws.Read(context.Background())
		if err != nil {
			break
		}
		var m message
		if err = json.Unmarshal(data, &m); err != nil {
			err = fmt.Errorf("bidi: bad message from the browser: %w", err)
			break
		}
		if m.Type == "event" {
			c.mu.Lock()
			hs := c.handlers[m.Method]
			c.mu.Unlock()
			for _, h := range hs {
				h(m.Params)
			}
			continue
		}
		if m.ID == nil {
			// An error about a message the browser could not read at all.
			err = &Error{Method: "(unknown)", Code: m.Error, Message: m.Message}
			break
		}
		c.mu.Lock()
		ch := c.pending[*m.ID]
		delete(c.pending, *m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
	c.mu.Lock()
	c.err = err
	c.pending = nil
	c.mu.Unlock()
	close(c.done)
	c.ws.CloseNow()
}

// OnEvent calls fn with the params of every event named method (such as
// "log.entryAdded") that the browser sends from now on. The browser sends
// only the events a session subscribed to (Session.Subscribe).
func (c *Conn) OnEvent(method string, fn func(params json.RawMessage)) {
	c.mu.Lock()
	c.handlers[method] = append(c.handlers[method], fn)
	c.mu.Unlock()
}

// Call sends a command and decodes its result into result (unless nil).
// An error answer is an *Error.
func (c *Conn) Call(ctx context.Context, method string, params, result any) error {
	if params == nil {
		params = struct{}{}
	}
	ch := make(chan message, 1)
	c.mu.Lock()
	if c.pending == nil {
		err := c.closed(method)
		c.mu.Unlock()
		return err
	}
	c.next++
	id := c.next
	c.pending[id] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		if c.pending != nil {
			delete(c.pending, id)
		}
		c.mu.Unlock()
	}

	data, err := json.Marshal(struct {
		ID     int64  `json:"id"`
		Method string `json:"method"`
		Params any    `json:"params"`
	}{id, method, params})
	if err != nil {
		forget()
		return fmt.Errorf("%s: %w", method, err)
	}
	if err := c.ws.Write(ctx, websocket.MessageText, data); err != nil {
		forget()
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Type == "error" {
			return &Error{Method: method, Code: m.Error, Message: m.Message}
		}
		if result == nil {
			return nil
		}
		if err := json.Unmarshal(m.Result, result); err != nil {
			return fmt.Errorf("%s: decode result: %w", method, err)
		}
		return nil
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.closed(method)
	case <-ctx.Done():
		forget()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// closed is the error of a call on a stopped connection; c.mu is held.
func (c *Conn) closed(method string) error {
	if c.err == nil || errors.Is(c.err, ErrClosed) {
		return fmt.Errorf("%s: %w", method, ErrClosed)
	}
	return fmt.Errorf("%s: %w: %w", method, ErrClosed, c.err)
}

// Close closes the connection; calls waiting for an answer return
// ErrClosed.
func (c *Conn) Close() error {
	err := c.ws.Close(websocket.StatusNormalClosure, "")
	<-c.done
	return err
}
