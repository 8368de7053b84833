// Package stix shares what a hunt found as STIX 2.1 (OASIS, with errata
// 01): it turns an operation of the result model into a bundle (Export),
// checks a bundle against the rules of the specification that its JSON
// schemas cannot express (Check), and parses STIX patterns and compiles
// them into matchers over the fields of events (ParsePattern, Compile).
//
// Objects are plain JSON maps: a bundle is written once and read by other
// tools, never matched against events, so a struct per type would only
// mirror the specification. Identifiers are UUIDv5 over an object's
// content (the specification's namespace and ID-contributing properties
// for cyber-observables, spoor's own namespace for the rest), so exporting
// the same operation twice yields the same objects.
package stix

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Object is one STIX object: its properties by name.
type Object map[string]any

// ID returns the object's id ("" when it has none).
func (o Object) ID() string { s, _ := o["id"].(string); return s }

// Type returns the object's type ("" when it has none).
func (o Object) Type() string { s, _ := o["type"].(string); return s }

// Bundle is a STIX bundle: a container of objects with no meaning of its
// own (section 8).
type Bundle struct {
	Type    string   `json:"type"`
	ID      string   `json:"id"`
	Objects []Object `json:"objects"`
}

// SpecVersion is the STIX version of every object exported.
const SpecVersion = "2.1"

// scoNamespace is the namespace the specification gives for the UUIDv5 of
// cyber-observables (section 2.9); other objects must not use it.
var scoNamespace = mustUUID("00abedb4-aa42-466c-9c01-fed23315a9b7")

// spoorNamespace is spoor's namespace for the UUIDv5 of the objects that
// are not cyber-observables (a UUIDv4 drawn once).
var spoorNamespace = mustUUID("415ca37a-2243-4814-ade4-ed73a058faff")

func mustUUID(s string) [16]byte {
	var u [16]byte
	b, err := hex.DecodeString(s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:])
	if err != nil || len(b) != 16 {
		panic("stix: bad namespace " + s)
	}
	copy(u[:], b)
	return u
}

// NameUUID is the UUIDv5 of name in spoor's namespace: the same name,
// the same identifier (a bundle made again of the same objects).
func NameUUID(name string) string { return uuid5(spoorNamespace, []byte(name)) }

// uuid5 is RFC 9562's name-based UUID (SHA-1) of name in namespace ns.
func uuid5(ns [16]byte, name []byte) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write(name)
	sum := h.Sum(nil)
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], sum[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], sum[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], sum[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], sum[8:10])
	b[23] = '-'
	hex.Encode(b[24:], sum[10:16])
	return string(b[:])
}

// canonical is v as JSON with sorted keys, no insignificant space and no
// HTML escaping: RFC 8785 for the strings, maps and lists used here.
func canonical(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("stix: canonical: " + err.Error()) // only maps, lists and strings reach here
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// scoID is the deterministic id of a cyber-observable of type typ with
// the given ID-contributing properties (section 2.9).
func scoID(typ string, contributing map[string]any) string {
	return typ + "--" + uuid5(scoNamespace, canonical(contributing))
}

// sdoID is the id of a non-observable object of type typ, a UUIDv5 in
// spoor's namespace over key (what makes the object what it is).
func sdoID(typ string, key ...string) string {
	return typ + "--" + uuid5(spoorNamespace, canonical(append([]string{typ}, key...)))
}

// Timestamp formats t as the specification's timestamp (section 3.2): UTC,
// "Z", and milliseconds, the precision created and modified require.
func Timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
