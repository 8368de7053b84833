package bidi

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Value is a script value as the browser serialises it (the protocol's
// RemoteValue): a type, and a value for the types that have one; a node
// carries its shared ID.
type Value struct {
	Type     string          `json:"type"`
	Value    json.RawMessage `json:"value,omitempty"`
	SharedID string          `json:"sharedId,omitempty"`
}

// Node refers to a DOM node of a page by its shared ID, as commands such
// as input.setFiles and pointer actions take it.
type Node struct {
	SharedID string `json:"sharedId"`
}

// Node returns the node v is, if it is one.
func (v Value) Node() (Node, bool) {
	return Node{v.SharedID}, v.Type == "node" && v.SharedID != ""
}

// Decode stores v in dst as encoding/json would store v's JSON form:
// strings, numbers, booleans, null and undefined (as null), arrays and
// sets (as arrays), objects and maps with string keys (as objects), dates
// (as their string) and nodes (as {"sharedId": ...}, a Node). Other types
// (functions, promises, windows...) are errors.
func (v Value) Decode(dst any) error {
	g, err := v.native()
	if err != nil {
		return err
	}
	data, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("decode %s value: %w", v.Type, err)
	}
	if err := json.Unmarshal(data, dst); err != nil {
		return fmt.Errorf("decode %s value: %w", v.Type, err)
	}
	return nil
}

// native converts v to the Go values encoding/json makes of JSON.
func (v Value) native() (any, error) {
	switch v.Type {
	case "undefined", "null":
		return nil, nil
	case "string", "boolean", "date", "bigint":
		var x any
		if err := json.Unmarshal(v.Value, &x); err != nil {
			return nil, fmt.Errorf("decode %s value: %w", v.Type, err)
		}
		return x, nil
	case "number":
		return number(v.Value)
	case "node":
		return map[string]any{"sharedId": v.SharedID}, nil
	case "array", "set":
		var items []Value
		if err := json.Unmarshal(v.Value, &items); err != nil {
			return nil, fmt.Errorf("decode %s value: %w", v.Type, err)
		}
		out := make([]any, len(items))
		for i, it := range items {
			g, err := it.native()
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out[i] = g
		}
		return out, nil
	case "object", "map":
		// A list of [key, value] pairs; a key is a string or, in a map,
		// a Value.
		var pairs [][2]json.RawMessage
		if err := json.Unmarshal(v.Value, &pairs); err != nil {
			return nil, fmt.Errorf("decode %s value: %w", v.Type, err)
		}
		out := make(map[string]any, len(pairs))
		for _, p := range pairs {
			var key string
			if err := json.Unmarshal(p[0], &key); err != nil {
				var kv Value
				if json.Unmarshal(p[0], &kv) != nil || kv.Type != "string" || json.Unmarshal(kv.Value, &key) != nil {
					return nil, fmt.Errorf("decode %s value: a key that is not a string: %s", v.Type, p[0])
				}
			}
			var item Value
			if err := json.Unmarshal(p[1], &item); err != nil {
				return nil, fmt.Errorf("decode %s value, key %q: %w", v.Type, key, err)
			}
			g, err := item.native()
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", key, err)
			}
			out[key] = g
		}
		return out, nil
	}
	return nil, fmt.Errorf("decode a %s value: not a JSON-like value", v.Type)
}

// number decodes a number value: a JSON number or one of the strings the
// protocol writes for NaN, -0 and the infinities. JSON holds none of
// those, so they are errors when the value is decoded.
func number(raw json.RawMessage) (any, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return f, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("decode number value: %s", raw)
	}
	switch s {
	case "NaN", "-0", "Infinity", "-Infinity":
		if s == "-0" {
			return math.Copysign(0, -1), nil
		}
		return nil, fmt.Errorf("decode number value: %s has no JSON form", s)
	}
	return nil, fmt.Errorf("decode number value: %s", strconv.Quote(s))
}

// localValue is a Go argument as the protocol's LocalValue: a string,
// number, boolean, nil, or a Node.
func localValue(a any) (any, error) {
	type typed struct {
		Type  string `json:"type"`
		Value any    `json:"value"` // false, 0 and "" too
	}
	switch x := a.(type) {
	case nil:
		return map[string]string{"type": "null"}, nil
	case string:
		return typed{"string", x}, nil
	case bool:
		return typed{"boolean", x}, nil
	case int:
		return typed{"number", x}, nil
	case int64:
		return typed{"number", x}, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("argument %v: not a finite number", x)
		}
		return typed{"number", x}, nil
	case Node:
		return x, nil
	}
	return nil, fmt.Errorf("argument of type %T: not a string, number, boolean, nil or Node", a)
}
