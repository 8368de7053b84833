package stix

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Head is what tells one version of a STIX object from another: its id,
// type, spec_version, and version (modified, else created; zero for an
// object with neither, as a cyber-observable).
type Head struct {
	ID, Type, SpecVersion string
	Version               time.Time
}

// typeRE is section 3.1's type name: 3 to 250 lower-case letters, digits
// and hyphens, beginning with a letter.
var typeRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,248}[a-z0-9]$`)

// ReadHead reads the head of one STIX 2.1 object, refusing what is not
// one: not a JSON object, a type not of section 3.1's form, an id not of
// section 2.9's, a timestamp not of section 2.16's, another spec_version.
// An object that has created but no spec_version is STIX 2.0, and
// refused; one without either (a cyber-observable) is 2.1, the default
// section 3.2 gives SCOs. An error quotes at most 100 characters of a
// value, whatever its size.
func ReadHead(raw []byte) (Head, error) {
	var o struct {
		Type        string `json:"type"`
		ID          string `json:"id"`
		SpecVersion string `json:"spec_version"`
		Created     string `json:"created"`
		Modified    string `json:"modified"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return Head{}, fmt.Errorf("not a STIX object: %w", err)
	}
	h := Head{ID: o.ID, Type: o.Type, SpecVersion: o.SpecVersion}
	if !typeRE.MatchString(o.Type) {
		return h, fmt.Errorf("type %.100q: want 3 to 250 of a-z, 0-9 and -, beginning with a letter", o.Type)
	}
	if !strings.HasPrefix(o.ID, o.Type+"--") || !uuidRE.MatchString(o.ID[len(o.Type)+2:]) {
		return h, fmt.Errorf("id %.100q: want %s--UUID", o.ID, o.Type)
	}
	switch {
	case o.SpecVersion == "" && o.Created == "":
		h.SpecVersion = SpecVersion
	case o.SpecVersion != SpecVersion:
		return h, fmt.Errorf("spec_version %.100q: only STIX %s is taken", o.SpecVersion, SpecVersion)
	}
	for _, v := range []string{o.Modified, o.Created} {
		if v == "" {
			continue
		}
		if !timestampRE.MatchString(v) {
			return h, fmt.Errorf("%.100q is not a STIX timestamp (RFC 3339 in UTC ending in Z)", v)
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return h, fmt.Errorf("timestamp %q: %w", v, err)
		}
		h.Version = t
		break
	}
	return h, nil
}
