package stix

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Indicator is an indicator of a partner's bundle, as an import reads it.
type Indicator struct {
	// ID is the indicator's id; Object the whole object as received.
	ID     string
	Name   string
	Object json.RawMessage
	// PatternType is stix or sigma; Pattern its text.
	PatternType string
	Pattern     string
	// Refs are the objects of the bundle the indicator references (its
	// creator, its markings), sent back with it so that a sightings bundle
	// holds what its objects name.
	Refs []json.RawMessage
}

// Limits of what an import reads.
const (
	MaxBundleBytes = 256 << 20
	// MaxIndicators bounds the indicators taken from one bundle: each is
	// a rule or a matcher every event of a retro-hunt goes through.
	MaxIndicators = 100_000
	// MaxBundleObjects bounds the objects of a bundle: a tiny one ({})
	// costs some 70 bytes once read, so a bundle of MaxBundleBytes of
	// them was gigabytes.
	MaxBundleObjects = 1 << 20
	// maxBundleErrors bounds the errors kept of one bundle (the others
	// are counted): every object of a bundle may be wrong.
	maxBundleErrors = 100
)

// Indicators returns the indicators of a bundle (a bundle object, or a
// bare list of objects as some feeds send). An object that is not an
// indicator is left out; an indicator without a pattern is an error of
// its own, and the others are still returned. The first 100 errors are
// returned, then one that counts the rest.
func Indicators(data []byte) ([]Indicator, []error) {
	var b bundleObjects
	if err := b.read(data); err != nil {
		return nil, []error{fmt.Errorf("not a STIX bundle: %w", err)}
	}
	if b.Type != "bundle" {
		return nil, []error{fmt.Errorf("not a STIX bundle: type %q", b.Type)}
	}
	var out []Indicator
	var errs []error
	left := 0
	note := func(err error) {
		if len(errs) < maxBundleErrors {
			errs = append(errs, err)
		} else {
			left++
		}
	}
	byID := map[string]json.RawMessage{}
	for _, raw := range b.Objects {
		var o struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &o) == nil && o.ID != "" {
			byID[o.ID] = raw
		}
	}
	for i, raw := range b.Objects {
		var o struct {
			Type        string   `json:"type"`
			ID          string   `json:"id"`
			Name        string   `json:"name"`
			Pattern     string   `json:"pattern"`
			PatternType string   `json:"pattern_type"`
			Revoked     bool     `json:"revoked"`
			CreatedBy   string   `json:"created_by_ref"`
			Markings    []string `json:"object_marking_refs"`
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			note(fmt.Errorf("object %d: %w", i, err))
			continue
		}
		if o.Type != "indicator" || o.Revoked {
			continue
		}
		if len(out) == MaxIndicators {
			errs = append(errs, fmt.Errorf("more than %d indicators: the rest are left out", MaxIndicators))
			break
		}
		if o.Pattern == "" {
			note(fmt.Errorf("indicator %s: no pattern", o.ID))
			continue
		}
		// pattern_type is required in 2.1; a 2.0 indicator has none and
		// is a STIX pattern.
		ind := Indicator{ID: o.ID, Name: o.Name, Object: raw, PatternType: cmp.Or(o.PatternType, "stix"), Pattern: o.Pattern}
		for _, ref := range append([]string{o.CreatedBy}, o.Markings...) {
			if r, ok := byID[ref]; ok {
				ind.Refs = append(ind.Refs, r)
			}
		}
		out = append(out, ind)
	}
	if left > 0 {
		errs = append(errs, fmt.Errorf("%d more errors left out", left))
	}
	return out, errs
}

// Sighted is an indicator seen in the evidence of a case.
type Sighted struct {
	Indicator   Indicator
	First, Last time.Time
	Count       int
	// Hosts are the computers it was seen on.
	Hosts []string
}

// Sightings makes the bundle that reports sightings back to whoever
// shared the indicators: the indicators as received, and per indicator a
// sighting by the identity named (where_sighted_refs), marked with the
// TLP level. Ids are derived from the content, as Export's.
func Sightings(seen []Sighted, identity, tlp string, red Redact) (*Bundle, error) {
	marking, err := TLPMarking(cmp.Or(tlp, DefaultTLP))
	if err != nil {
		return nil, err
	}
	name := cmp.Or(strings.TrimSpace(identity), "spoor")
	e := &exporter{objects: map[string]Object{}, marking: marking.ID()}
	e.producer = sdoID("identity", name)
	e.put(marking)
	e.put(e.common(Object{"type": "identity", "id": e.producer, "name": name, "identity_class": "organization"}, epoch))
	if red.Hosts {
		for _, s := range seen {
			for _, h := range s.Hosts {
				e.red.addHost(h)
			}
		}
		e.red.compile()
	}
	for _, s := range seen {
		var ind Object
		if err := json.Unmarshal(s.Indicator.Object, &ind); err != nil {
			return nil, fmt.Errorf("indicator %s: %w", s.Indicator.ID, err)
		}
		e.put(ind)
		for _, raw := range s.Indicator.Refs {
			var ref Object
			if err := json.Unmarshal(raw, &ref); err != nil {
				return nil, fmt.Errorf("indicator %s: %w", s.Indicator.ID, err)
			}
			e.put(ref)
		}
		created := cmp.Or(s.Last, epoch)
		o := Object{"type": "sighting", "id": sdoID("sighting", e.producer, s.Indicator.ID, Timestamp(s.First), Timestamp(s.Last)),
			"sighting_of_ref": s.Indicator.ID, "count": s.Count, "where_sighted_refs": []string{e.producer}}
		if !s.First.IsZero() {
			o["first_seen"] = Timestamp(s.First)
			o["last_seen"] = Timestamp(s.Last)
		}
		if len(s.Hosts) > 0 {
			hosts := make([]string, len(s.Hosts))
			for i, h := range s.Hosts {
				hosts[i] = e.red.text(h)
			}
			slices.Sort(hosts)
			o["description"] = "seen by spoor on " + strings.Join(slices.Compact(hosts), ", ")
		}
		e.put(e.common(o, created))
	}
	return e.bundle(), nil
}

// bundleObjects is a bundle's type and objects; a bare list of objects
// is a bundle.
type bundleObjects struct {
	Type    string
	Objects []json.RawMessage
}

// read reads a bundle one object at a time, at most MaxBundleObjects of
// them. Properties other than type and objects are skipped.
func (b *bundleObjects) read(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	list := func() error {
		b.Objects = b.Objects[:0]
		for dec.More() {
			if len(b.Objects) == MaxBundleObjects {
				return fmt.Errorf("more than %d objects", MaxBundleObjects)
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			b.Objects = append(b.Objects, raw)
		}
		_, err := dec.Token()
		return err
	}
	t, err := dec.Token()
	switch {
	case err != nil:
	case t == json.Delim('['):
		b.Type = "bundle"
		err = list()
	case t == json.Delim('{'):
		for err == nil && dec.More() {
			if t, err = dec.Token(); err != nil {
				break
			}
			switch t {
			case "type":
				err = dec.Decode(&b.Type)
			case "objects":
				if t, err = dec.Token(); err == nil && t != nil {
					if t != json.Delim('[') {
						err = errors.New(`"objects" is not a list`)
					} else {
						err = list()
					}
				}
			default:
				var skip json.RawMessage
				err = dec.Decode(&skip)
			}
		}
		if err == nil {
			_, err = dec.Token()
		}
	default:
		err = errors.New("neither a bundle object nor a list of objects")
	}
	if err == nil {
		if _, end := dec.Token(); end != io.EOF {
			err = fmt.Errorf("data after it at byte %d", dec.InputOffset())
		}
	}
	return err
}
