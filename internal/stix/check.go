package stix

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Check reports where a bundle breaks the rules of the specification that
// its JSON schemas do not express: timestamps (section 3.2: RFC 3339 in
// UTC with "Z"; created and modified to the millisecond, section 3.2 and
// 3.3; modified not before created; valid_until after valid_from, last
// after first), the types a reference property may point to (sections
// 3.2, 4 to 7), references that name no object of the bundle, objects
// sharing an id, the properties each type requires, and that every
// indicator of pattern_type stix parses. It returns nil for a bundle that
// follows them; each error names the object and the property.
func Check(data []byte) []error {
	var b struct {
		Type    string           `json:"type"`
		ID      string           `json:"id"`
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return []error{fmt.Errorf("bundle: %w", err)}
	}
	var errs []error
	fail := func(o map[string]any, prop, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%v %s: %s", o["id"], prop, fmt.Sprintf(format, args...)))
	}
	if b.Type != "bundle" || !strings.HasPrefix(b.ID, "bundle--") {
		errs = append(errs, fmt.Errorf("bundle: type %q, id %q: want bundle and bundle--UUID", b.Type, b.ID))
	}
	ids := map[string]bool{}
	for _, o := range b.Objects {
		id, _ := o["id"].(string)
		if ids[id] {
			fail(o, "id", "two objects have this id")
		}
		ids[id] = true
	}
	for _, o := range b.Objects {
		typ, _ := o["type"].(string)
		id, _ := o["id"].(string)
		if !strings.HasPrefix(id, typ+"--") || !uuidRE.MatchString(strings.TrimPrefix(id, typ+"--")) {
			fail(o, "id", "want %s--UUID", typ)
		}
		for _, p := range required[typ] {
			if _, ok := o[p]; !ok {
				fail(o, p, "required for %s", typ)
			}
		}
		times := map[string]time.Time{}
		for prop, v := range o {
			s, ok := v.(string)
			if !ok || !timeProps[prop] {
				continue
			}
			t, err := parseTimestamp(s, prop == "created" || prop == "modified")
			if err != nil {
				fail(o, prop, "%v", err)
				continue
			}
			times[prop] = t
		}
		for _, pair := range [][2]string{{"created", "modified"}, {"valid_from", "valid_until"}, {"first_seen", "last_seen"}, {"first_observed", "last_observed"}} {
			a, okA := times[pair[0]]
			z, okZ := times[pair[1]]
			if !okA || !okZ {
				continue
			}
			// valid_until must be later than valid_from; the others may be
			// equal (sections 4.7, 4.4, 5.2, 4.14, 3.2).
			if z.Before(a) || (pair[0] == "valid_from" && !z.After(a)) {
				fail(o, pair[1], "%s is before %s", o[pair[1]], pair[0])
			}
		}
		for prop, v := range o {
			want, ok := refTypes[prop]
			if !ok && !strings.HasSuffix(prop, "_ref") && !strings.HasSuffix(prop, "_refs") {
				continue
			}
			var refs []string
			switch v := v.(type) {
			case string:
				refs = []string{v}
			case []any:
				for _, r := range v {
					s, _ := r.(string)
					refs = append(refs, s)
				}
			}
			for _, r := range refs {
				rt, _, _ := strings.Cut(r, "--")
				if len(want) > 0 && !slices.Contains(want, rt) && !(slices.Contains(want, "SDO") && sdoTypes[rt]) && !(slices.Contains(want, "SCO") && scoTypes[rt]) {
					fail(o, prop, "%s: want a reference to %s", r, strings.Join(want, " or "))
				}
				if !ids[r] {
					fail(o, prop, "%s is not in the bundle", r)
				}
			}
		}
		if typ == "relationship" {
			for _, p := range []string{"source_ref", "target_ref"} {
				r, _ := o[p].(string)
				rt, _, _ := strings.Cut(r, "--")
				if rt == "bundle" || rt == "relationship" || rt == "sighting" || rt == "marking-definition" || rt == "language-content" {
					fail(o, p, "a relationship cannot link a %s", rt)
				}
			}
		}
		if typ == "indicator" && o["pattern_type"] == "stix" {
			p, _ := o["pattern"].(string)
			if _, err := ParsePattern(p); err != nil {
				fail(o, "pattern", "%v", err)
			}
		}
		if c, ok := o["confidence"].(float64); ok && (c < 0 || c > 100 || c != float64(int(c))) {
			fail(o, "confidence", "%v: want an integer from 0 to 100", c)
		}
	}
	return errs
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// timestampRE is section 3.2's timestamp: RFC 3339, UTC, upper-case T
// and Z, optional fraction.
var timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$`)

func parseTimestamp(s string, millis bool) (time.Time, error) {
	if !timestampRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("%q is not a STIX timestamp (RFC 3339 in UTC ending in Z)", s)
	}
	if millis {
		dot := strings.IndexByte(s, '.')
		if dot < 0 || len(s)-dot-2 != 3 {
			return time.Time{}, fmt.Errorf("%q: created and modified are precise to the millisecond (3 decimals)", s)
		}
	}
	return time.Parse(time.RFC3339Nano, s)
}

// timeProps are the timestamp properties of the types spoor writes and
// reads.
var timeProps = map[string]bool{"created": true, "modified": true, "valid_from": true, "valid_until": true,
	"first_seen": true, "last_seen": true, "first_observed": true, "last_observed": true, "published": true,
	"start_time": true, "stop_time": true}

// required are the properties each type must have (the specification's
// tables; the common ones of section 3.2 for the domain objects).
var required = map[string][]string{
	"attack-pattern":       {"spec_version", "created", "modified", "name"},
	"campaign":             {"spec_version", "created", "modified", "name"},
	"identity":             {"spec_version", "created", "modified", "name"},
	"indicator":            {"spec_version", "created", "modified", "pattern", "pattern_type", "valid_from"},
	"intrusion-set":        {"spec_version", "created", "modified", "name"},
	"malware":              {"spec_version", "created", "modified", "is_family"},
	"tool":                 {"spec_version", "created", "modified", "name"},
	"observed-data":        {"spec_version", "created", "modified", "first_observed", "last_observed", "number_observed", "object_refs"},
	"report":               {"spec_version", "created", "modified", "name", "published", "object_refs"},
	"relationship":         {"spec_version", "created", "modified", "relationship_type", "source_ref", "target_ref"},
	"sighting":             {"spec_version", "created", "modified", "sighting_of_ref"},
	"marking-definition":   {"spec_version", "created"},
	"file":                 {},
	"directory":            {"path"},
	"ipv4-addr":            {"value"},
	"domain-name":          {"value"},
	"windows-registry-key": {},
	"url":                  {"value"},
	"ipv6-addr":            {"value"},
}

// refTypes are the object types each reference property may name; "SDO"
// and "SCO" stand for any domain or cyber-observable object. A property
// not listed but ending in _ref(s) may name any object.
var refTypes = map[string][]string{
	"created_by_ref":       {"identity"},
	"object_marking_refs":  {"marking-definition"},
	"sighting_of_ref":      {"SDO"},
	"observed_data_refs":   {"observed-data"},
	"where_sighted_refs":   {"identity", "location"},
	"parent_directory_ref": {"directory"},
	"contains_refs":        {"SCO"},
	"source_ref":           nil,
	"target_ref":           nil,
	"object_refs":          nil,
	"sample_refs":          {"artifact", "file"},
	"resolves_to_refs":     {"ipv4-addr", "ipv6-addr", "domain-name", "mac-addr"},
}

var sdoTypes = map[string]bool{"attack-pattern": true, "campaign": true, "course-of-action": true, "grouping": true,
	"identity": true, "incident": true, "indicator": true, "infrastructure": true, "intrusion-set": true, "location": true,
	"malware": true, "malware-analysis": true, "note": true, "observed-data": true, "opinion": true, "report": true,
	"threat-actor": true, "tool": true, "vulnerability": true}

var scoTypes = map[string]bool{"artifact": true, "autonomous-system": true, "directory": true, "domain-name": true,
	"email-addr": true, "email-message": true, "file": true, "ipv4-addr": true, "ipv6-addr": true, "mac-addr": true,
	"mutex": true, "network-traffic": true, "process": true, "software": true, "url": true, "user-account": true,
	"windows-registry-key": true, "x509-certificate": true}
