package stix

import (
	"fmt"
	"strings"
)

// TLP levels of TLP 2.0 (FIRST, 2022), the values of Options.TLP.
var TLPLevels = []string{"clear", "green", "amber", "amber+strict", "red"}

// DefaultTLP is the marking of an export that names none.
const DefaultTLP = "amber"

// tlpExtension is the extension definition OASIS published for TLP 2.0
// markings (cti-stix-common-objects); the specification itself defines
// only TLP 1.0's four (section 7.2.1.4), which have no CLEAR nor
// AMBER+STRICT.
const tlpExtension = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

// tlpIDs are the standard marking-definition ids of TLP 2.0's levels:
// every producer uses these, never its own.
var tlpIDs = map[string]string{
	"clear":        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
	"green":        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
	"amber":        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
	"amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
	"red":          "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

// TLPMarking returns the standard marking definition of a TLP 2.0 level
// (case-insensitive; "TLP:" may prefix it).
func TLPMarking(level string) (Object, error) {
	l := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(level)), "tlp:")
	id, ok := tlpIDs[l]
	if !ok {
		return nil, fmt.Errorf("TLP %q: want one of %s", level, strings.Join(TLPLevels, ", "))
	}
	return Object{
		"type":         "marking-definition",
		"spec_version": SpecVersion,
		"id":           id,
		"created":      "2022-10-01T00:00:00.000Z",
		"name":         "TLP:" + strings.ToUpper(l),
		"extensions": map[string]any{
			tlpExtension: map[string]any{"extension_type": "property-extension", "tlp_2_0": l},
		},
	}, nil
}
