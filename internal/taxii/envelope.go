package taxii

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrTooManyObjects: an envelope holds more objects than one add may.
var ErrTooManyObjects = errors.New("too many objects")

// ParseEnvelope reads the body of an add (the envelope resource: an
// object whose "objects" is a list; "more" and "next" are allowed and
// mean nothing in a request) and returns its objects, each a JSON value
// of its own, at most max of them. It reads the list one object at a
// time, so a body of many tiny objects costs no more than max of them.
func ParseEnvelope(body []byte, max int) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("envelope: want a JSON object (%v)", errOr(err, "got something else"))
	}
	var objs []json.RawMessage
	seen := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("envelope at byte %d: %w", dec.InputOffset(), err)
		}
		key, _ := t.(string)
		switch key {
		case "objects":
			if seen {
				return nil, errors.New(`envelope: "objects" twice`)
			}
			seen = true
			if objs, err = readObjects(dec, max); err != nil {
				return nil, err
			}
		case "more", "next":
			var v any
			if err := dec.Decode(&v); err != nil {
				return nil, fmt.Errorf("envelope %q at byte %d: %w", key, dec.InputOffset(), err)
			}
		default:
			return nil, fmt.Errorf("envelope: unknown property %q", key)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("envelope at byte %d: %w", dec.InputOffset(), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("envelope: data after it at byte %d", dec.InputOffset())
	}
	if !seen || len(objs) == 0 {
		return nil, errors.New(`envelope: no "objects" to add`)
	}
	return objs, nil
}

func readObjects(dec *json.Decoder, max int) ([]json.RawMessage, error) {
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return nil, fmt.Errorf(`envelope: "objects" must be a list (%v)`, errOr(err, "it is not"))
	}
	var objs []json.RawMessage
	for dec.More() {
		if len(objs) == max {
			return nil, fmt.Errorf("%w: more than %d in one add", ErrTooManyObjects, max)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("envelope object %d at byte %d: %w", len(objs), dec.InputOffset(), err)
		}
		objs = append(objs, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("envelope at byte %d: %w", dec.InputOffset(), err)
	}
	return objs, nil
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// page is an envelope (section 3.7) as the client reads it.
type page struct {
	More    bool
	Next    string
	Objects []json.RawMessage
}

// readPage reads an envelope of at most max objects, one at a time, so a
// page of many tiny objects costs no more than max of them. Properties
// other than more, next and objects are skipped.
func readPage(body []byte, max int) (page, error) {
	var p page
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return p, fmt.Errorf("want a JSON object (%v)", errOr(err, "got something else"))
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return p, err
		}
		switch t {
		case "objects":
			p.Objects, err = readObjects(dec, max)
		case "more":
			err = dec.Decode(&p.More)
		case "next":
			err = dec.Decode(&p.Next)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return p, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return p, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return p, fmt.Errorf("data after it at byte %d", dec.InputOffset())
	}
	return p, nil
}
