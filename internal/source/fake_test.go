package source

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/evtx"
)

// Fake readers, so that this package is tested on its own: "JSON" is one
// flat object per line; "EVTX" is the magic "ElfFile\x00" followed by the
// same lines, read through the io.ReaderAt it is given.

var (
	errFatal    = errors.New("fatal reader error")
	fakeEVTXTag = []byte("ElfFile\x00")
)

// fatalLine ends a fake reader with errFatal; panicLine makes it panic.
const (
	fatalLine = `{"fatal":true}`
	panicLine = `{"panic":true}`
)

var fakeFormats = formats{
	sniffEVTX: func(head []byte) bool { return bytes.HasPrefix(head, fakeEVTXTag) },
	openEVTX: func(r io.ReaderAt, size int64, opts evtx.Options) (event.Reader, error) {
		if size < int64(len(fakeEVTXTag)) {
			return nil, errors.New("too short")
		}
		return newFakeReader(io.NewSectionReader(r, int64(len(fakeEVTXTag)), size), opts.Source), nil
	},
	sniffJSON: func(head []byte) bool {
		head = bytes.TrimLeft(head, " \t\r\n")
		return len(head) > 0 && head[0] == '{'
	},
	openJSON: func(r io.Reader, source string) (event.Reader, error) {
		return newFakeReader(r, source), nil
	},
}

type fakeReader struct {
	sc     *bufio.Scanner
	source string
	line   int64
	ev     event.Event
	closed bool
}

func newFakeReader(r io.Reader, source string) *fakeReader {
	return &fakeReader{sc: bufio.NewScanner(r), source: source}
}

func (r *fakeReader) Next() (*event.Event, error) {
	for r.sc.Scan() {
		r.line++
		text := bytes.TrimSpace(r.sc.Bytes())
		switch string(text) {
		case "":
			continue
		case fatalLine:
			return nil, errFatal
		case panicLine:
			panic("fake reader panic")
		}
		r.ev.Reset()
		r.ev.Source = r.source
		r.ev.Locator = r.line
		if err := parseFlat(text, &r.ev); err != nil {
			return nil, &event.SkipError{Source: r.source, Where: "line " + strconv.FormatInt(r.line, 10), Records: 1, Err: err}
		}
		return &r.ev, nil
	}
	if err := r.sc.Err(); err != nil {
		return nil, err
	}
	return nil, io.EOF
}

func (r *fakeReader) Close() error {
	r.closed = true
	return nil
}

// parseFlat decodes one flat JSON object into ev, keeping the key order.
func parseFlat(text []byte, ev *event.Event) error {
	d := json.NewDecoder(bytes.NewReader(text))
	d.UseNumber()
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("want an object, got %v (%v)", t, err)
	}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			return err
		}
		v, err := d.Token()
		if err != nil {
			return err
		}
		var val event.Value
		switch v := v.(type) {
		case string:
			val = event.StringValue(v)
		case json.Number:
			n, err := v.Int64()
			if err != nil {
				return err
			}
			val = event.IntValue(n)
		case bool:
			val = event.BoolValue(v)
		default:
			return fmt.Errorf("unsupported value %v", v)
		}
		ev.Add(k.(string), val)
	}
	if _, err := d.Token(); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}
