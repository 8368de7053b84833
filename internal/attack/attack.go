// Package attack is spoor's MITRE ATT&CK knowledge base: tactics,
// techniques, groups, software and campaigns with the relationships between
// them, and group attribution from observed techniques and software.
//
// The knowledge comes from a STIX 2.0 or 2.1 bundle (the ATT&CK Enterprise
// bundle), converted by the generator in cmd/attackgen into a compact
// binary file embedded in the package (data/enterprise-attack.bin, see
// Encode, with MITRE's licence in data/LICENSE.txt). A newer bundle can be installed
// into the user's cache (Install), where it takes precedence over the
// embedded one (LoadDefault).
//
// Revoked objects are not listed among the active ones: they are kept in
// KB.Revoked with their final replacement, and look-ups by a revoked ID
// return the replacement with a note. Deprecated objects are kept with
// Deprecated set and are left out of attribution.
//
// A KB is read-only once loaded and safe for concurrent use.
package attack

//go:generate go run ./cmd/attackgen -in ../../../shared/datasets/attack/enterprise-attack-18.1-without-campaigns.json -out data/enterprise-attack.bin

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// FormatVersion is the version of the compact data format; Decode rejects
// other versions. Version 1 was gzip'd JSON.
const FormatVersion = 3

// Errors of the look-ups and loaders.
var (
	// ErrNotFound: no object has the ID or name asked for.
	ErrNotFound = errors.New("not found in ATT&CK")
	// ErrFormat: compact data that is not of this package's format.
	ErrFormat = errors.New("not spoor ATT&CK data")
	// ErrBundle: input that is not a usable STIX bundle of ATT&CK.
	ErrBundle = errors.New("not an ATT&CK STIX bundle")
)

// KB is the ATT&CK knowledge base. Its exported fields are what the compact
// form holds besides the texts; the slices are sorted by ID except Tactics, which is in kill-chain
// order. Build one with Load, LoadBundle or Decode; do not modify it.
type KB struct {
	Format int `json:"format"`
	// Domain is the ATT&CK domain, such as "enterprise-attack".
	Domain string `json:"domain"`
	// Modified is the latest modification time of any object in the
	// bundle (RFC 3339), which identifies the release.
	Modified   string      `json:"modified"`
	Tactics    []Tactic    `json:"tactics"`
	Techniques []Technique `json:"techniques"`
	Groups     []Group     `json:"groups"`
	Software   []Software  `json:"software"`
	Campaigns  []Campaign  `json:"campaigns,omitempty"`
	// Revoked lists revoked objects with their final replacement.
	Revoked []Revoked `json:"revoked"`
	// Procedures are the artefacts of the groups' procedure texts, by
	// group, then artefact (see Procedure).
	Procedures []Procedure `json:"procedures,omitempty"`

	once sync.Once
	idx  *index

	// Descriptions and detections are the bulk of the data and most
	// commands do not need them: they are decoded on first use from src.
	textOnce sync.Once
	text     *texts
	textErr  error
	src      []byte // the texts, gzip'd JSON

	// rels are the "uses" relationships the lists were built from,
	// sorted by ID; LoadBundle keeps them, the compact form does not.
	rels []Relationship
}

// texts are the long fields of the compact form.
type texts struct {
	// Desc maps IDs of every kind to plain-text descriptions.
	Desc map[string]string `json:"desc"`
	// Detections maps technique IDs to their detection strategies.
	Detections map[string][]Detection `json:"detections,omitempty"`
}

// Tactic is an ATT&CK tactic (TA0001...).
type Tactic struct {
	ID string `json:"id"`
	// ShortName is the kill-chain phase name used by techniques, such as
	// "credential-access".
	ShortName string `json:"short"`
	Name      string `json:"name"`
}

// Technique is an ATT&CK technique or sub-technique (T1059, T1059.003).
type Technique struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Tactics are the tactic short names, in kill-chain order.
	Tactics    []string `json:"tactics,omitempty"`
	Platforms  []string `json:"platforms,omitempty"`
	Deprecated bool     `json:"deprecated,omitempty"`
}

// IsSub reports whether t is a sub-technique.
func (t *Technique) IsSub() bool { return strings.Contains(t.ID, ".") }

// Parent returns the parent technique ID of a sub-technique, or "".
func (t *Technique) Parent() string { return parentID(t.ID) }

// parentID returns the technique ID before the dot, or "" when id has none.
func parentID(id string) string {
	if i := strings.IndexByte(id, '.'); i > 0 {
		return id[:i]
	}
	return ""
}

// Detection is an ATT&CK detection strategy (DET0001...) of a technique.
type Detection struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// LogSources are the log sources its analytics read, as "name channel",
	// such as "WinEventLog:Security EventCode=4688".
	LogSources []string `json:"logs,omitempty"`
}

// Group is an ATT&CK group (G0001...), an intrusion set.
type Group struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Aliases    []string `json:"aliases,omitempty"`
	Deprecated bool     `json:"deprecated,omitempty"`
	// Techniques and Software are the IDs the group uses (group-level
	// "uses" relationships), sorted.
	Techniques []string `json:"techniques,omitempty"`
	Software   []string `json:"software,omitempty"`
	// Mentions are other groups the description links to, sorted.
	Mentions []string `json:"mentions,omitempty"`
	// Associated is software that ATT&CK's prose links to the group
	// without a "uses" relationship: the group's description links the
	// software, or the software's description links the group, in a
	// sentence citing a report (see describedLinks). Sorted.
	Associated []string `json:"associated,omitempty"`
	// Reports is the number of distinct reports ATT&CK cites for each
	// item of Techniques, Software and Associated (at least 1): how well
	// documented the group's use of it is, which attribution weighs.
	Reports map[string]int `json:"reports,omitempty"`
	// Regression is the group's weights in the report classifier
	// (regression.go), by technique or software ID, in nats: what the
	// items of a report say for the group against the other groups. Nil
	// in a view made by Without or WithoutReport, which cannot hold a
	// report out of it.
	Regression map[string]float32 `json:"regression,omitempty"`
	// Intercept is the group's intercept in the report classifier: how
	// often reports are about it, the items aside.
	Intercept float32 `json:"intercept,omitempty"`
}

// Software is ATT&CK software (S0001...): malware or a tool.
type Software struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Type       string   `json:"type"` // "malware" or "tool"
	Aliases    []string `json:"aliases,omitempty"`
	Platforms  []string `json:"platforms,omitempty"`
	Deprecated bool     `json:"deprecated,omitempty"`
	Techniques []string `json:"techniques,omitempty"`
}

// Campaign is an ATT&CK campaign (C0001...). Bundles without campaigns
// leave KB.Campaigns empty.
type Campaign struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Aliases    []string `json:"aliases,omitempty"`
	FirstSeen  string   `json:"first_seen,omitempty"`
	LastSeen   string   `json:"last_seen,omitempty"`
	Deprecated bool     `json:"deprecated,omitempty"`
	// Groups are the groups the campaign is attributed to.
	Groups     []string `json:"groups,omitempty"`
	Techniques []string `json:"techniques,omitempty"`
	Software   []string `json:"software,omitempty"`
}

// Revoked is a revoked object and the active object that replaces it,
// following chains of revocations to the end.
type Revoked struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	By   string `json:"by"`
}

// Kind is the kind of an ATT&CK object, told by its ID prefix.
type Kind int

// Kinds of objects.
const (
	KindUnknown Kind = iota
	KindTactic
	KindTechnique
	KindGroup
	KindSoftware
	KindCampaign
)

// String returns the kind in lower case ("technique").
func (k Kind) String() string {
	return [...]string{"unknown", "tactic", "technique", "group", "software", "campaign"}[k]
}

// MarshalText writes the kind as String does, so that it reads as a word
// in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads what MarshalText writes; other words are
// KindUnknown.
func (k *Kind) UnmarshalText(b []byte) error {
	*k = KindUnknown
	for i := KindTactic; i <= KindCampaign; i++ {
		if i.String() == string(b) {
			*k = i
		}
	}
	return nil
}

// KindOf returns the kind of an ATT&CK ID by its prefix (TA, T, G, S, C),
// whatever its case, or KindUnknown.
func KindOf(id string) Kind {
	id = strings.ToUpper(id)
	digitsFrom := func(n int) bool {
		if len(id) <= n {
			return false
		}
		for i, c := range id[n:] {
			if c == '.' && i > 0 {
				continue
			}
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	switch {
	case strings.HasPrefix(id, "TA") && digitsFrom(2):
		return KindTactic
	case strings.HasPrefix(id, "T") && digitsFrom(1):
		return KindTechnique
	case strings.HasPrefix(id, "G") && digitsFrom(1):
		return KindGroup
	case strings.HasPrefix(id, "S") && digitsFrom(1):
		return KindSoftware
	case strings.HasPrefix(id, "C") && digitsFrom(1):
		return KindCampaign
	}
	return KindUnknown
}

//go:embed data/enterprise-attack.bin
var embedded []byte

// magic starts the compact form, before its gob stream.
const magic = "spoor ATT&CK\n"

// compactForm is the compact form after its magic, in encoding/gob: the
// knowledge base (its exported fields) and its texts as gzip'd JSON, which
// are decoded on first use. Gob, the standard library's binary encoding,
// decodes the knowledge base about ten times faster than JSON (see
// BENCHMARKS.md) with no parser of our own; texts stay JSON because most
// commands never read them.
type compactForm struct {
	KB    *KB
	Texts []byte
}

// Load returns the knowledge base embedded in spoor.
func Load() (*KB, error) {
	kb, err := Decode(bytes.NewReader(embedded))
	if err != nil {
		return nil, fmt.Errorf("embedded ATT&CK data: %w", err)
	}
	return kb, nil
}

// Decode reads the compact form written by Encode.
func Decode(r io.Reader) (*KB, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	rest, ok := bytes.CutPrefix(src, []byte(magic))
	if !ok {
		return nil, fmt.Errorf("%w: no %q header", ErrFormat, strings.TrimSpace(magic))
	}
	var c compactForm
	if err := gob.NewDecoder(bytes.NewReader(rest)).Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if c.KB == nil || c.KB.Format != FormatVersion {
		return nil, fmt.Errorf("%w: format version %d, want %d", ErrFormat, c.KB.formatVersion(), FormatVersion)
	}
	c.KB.src = c.Texts
	return c.KB, nil
}

func (kb *KB) formatVersion() int {
	if kb == nil {
		return 0
	}
	return kb.Format
}

// texts returns the descriptions and detections, decoding them on first
// use.
func (kb *KB) texts() (*texts, error) {
	kb.textOnce.Do(func() {
		if kb.text != nil {
			return
		}
		kb.text = &texts{}
		if kb.src == nil {
			return
		}
		zr, err := gzip.NewReader(bytes.NewReader(kb.src))
		if err == nil {
			err = json.NewDecoder(zr).Decode(kb.text)
		}
		if err != nil {
			kb.textErr = fmt.Errorf("%w: texts: %w", ErrFormat, err)
		}
	})
	return kb.text, kb.textErr
}

// Description returns the plain-text description of the object with the
// ID (active IDs only, as in the slices), or "".
func (kb *KB) Description(id string) string {
	t, err := kb.texts()
	if err != nil {
		return ""
	}
	return t.Desc[id]
}

// Detections returns ATT&CK's detection strategies for the technique with
// the ID.
func (kb *KB) Detections(id string) []Detection {
	t, err := kb.texts()
	if err != nil {
		return nil
	}
	return t.Detections[id]
}

// Encode writes the compact form to w: a header line, then in
// encoding/gob the knowledge base and its texts (gzip'd JSON).
func (kb *KB) Encode(w io.Writer) error {
	t, err := kb.texts()
	if err != nil {
		return err
	}
	var tz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&tz, gzip.BestCompression)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(zw).Encode(t); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if _, err := io.WriteString(w, magic); err != nil {
		return err
	}
	return gob.NewEncoder(w).Encode(compactForm{KB: kb, Texts: tz.Bytes()})
}

// index holds the look-up tables built on first use.
type index struct {
	tactics    map[string]int // by ID and short name, upper case
	techniques map[string]int // by ID, upper case
	groups     map[string]int
	software   map[string]int
	campaigns  map[string]int
	revoked    map[string]int
	// names maps upper-case group names and aliases to group indexes.
	groupNames map[string][]int
	// mentionedBy maps a group ID to the groups whose descriptions
	// mention it.
	mentionedBy map[string][]string
	// children maps a technique ID to its sub-technique IDs.
	children map[string][]string
	// softwareGroups maps a software ID to the groups using it.
	softwareGroups map[string][]string
	// techniqueGroups maps a technique ID to the groups using it.
	techniqueGroups map[string][]string

	// Built on first use: the attribution model, the software and the
	// procedure matchers.
	model lazy[*model]
	soft  lazy[*softMatcher]
	proc  lazy[*procMatcher]
}

// lazy is a value built once, on first use, by whichever caller comes first.
type lazy[T any] struct {
	once sync.Once
	v    T
}

// get returns the value, building it with build on first use.
func (l *lazy[T]) get(build func() T) T {
	l.once.Do(func() { l.v = build() })
	return l.v
}

func (kb *KB) index() *index {
	kb.once.Do(func() { kb.idx = buildIndex(kb) })
	return kb.idx
}

func buildIndex(kb *KB) *index {
	x := &index{
		tactics:         make(map[string]int, 2*len(kb.Tactics)),
		techniques:      make(map[string]int, len(kb.Techniques)),
		groups:          make(map[string]int, len(kb.Groups)),
		software:        make(map[string]int, len(kb.Software)),
		campaigns:       make(map[string]int, len(kb.Campaigns)),
		revoked:         make(map[string]int, len(kb.Revoked)),
		groupNames:      make(map[string][]int),
		mentionedBy:     make(map[string][]string),
		children:        make(map[string][]string),
		softwareGroups:  make(map[string][]string),
		techniqueGroups: make(map[string][]string),
	}
	for i, t := range kb.Tactics {
		x.tactics[strings.ToUpper(t.ID)] = i
		x.tactics[strings.ToUpper(t.ShortName)] = i
	}
	for i := range kb.Techniques {
		t := &kb.Techniques[i]
		x.techniques[strings.ToUpper(t.ID)] = i
		if p := t.Parent(); p != "" {
			x.children[p] = append(x.children[p], t.ID)
		}
	}
	for i := range kb.Groups {
		g := &kb.Groups[i]
		x.groups[strings.ToUpper(g.ID)] = i
		for _, n := range append([]string{g.Name}, g.Aliases...) {
			k := strings.ToUpper(n)
			if !slices.Contains(x.groupNames[k], i) {
				x.groupNames[k] = append(x.groupNames[k], i)
			}
		}
		for _, m := range g.Mentions {
			x.mentionedBy[m] = append(x.mentionedBy[m], g.ID)
		}
		for _, s := range g.Software {
			x.softwareGroups[s] = append(x.softwareGroups[s], g.ID)
		}
		for _, t := range g.Techniques {
			x.techniqueGroups[t] = append(x.techniqueGroups[t], g.ID)
		}
	}
	for i, s := range kb.Software {
		x.software[strings.ToUpper(s.ID)] = i
	}
	for i, c := range kb.Campaigns {
		x.campaigns[strings.ToUpper(c.ID)] = i
	}
	for i, r := range kb.Revoked {
		x.revoked[strings.ToUpper(r.ID)] = i
	}
	return x
}

// Resolution says how an ID given to a look-up was resolved.
type Resolution struct {
	// Asked is the ID as given.
	Asked string
	// ID is the active ID it resolved to (upper case), or "" when unknown.
	ID string
	// Revoked is set when Asked was revoked; ID is then its replacement.
	Revoked *Revoked
}

// Note returns a line for the user when the ID was revoked, or "".
func (r Resolution) Note() string {
	if r.Revoked == nil {
		return ""
	}
	return fmt.Sprintf("%s (%s) was revoked in ATT&CK; it is replaced by %s", r.Revoked.ID, r.Revoked.Name, r.ID)
}

// Resolve resolves an ID of any kind, case-insensitively, following
// revocations to the active replacement. It returns ErrNotFound when the
// ID names nothing.
func (kb *KB) Resolve(id string) (Resolution, error) {
	x := kb.index()
	res := Resolution{Asked: id}
	k := strings.ToUpper(strings.TrimSpace(id))
	ok := x.has(k)
	if i, rev := x.revoked[k]; rev && !ok {
		r := kb.Revoked[i]
		res.Revoked = &r
		k = strings.ToUpper(r.By)
		ok = x.has(k)
	}
	if !ok {
		return Resolution{Asked: id}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	res.ID = k
	return res, nil
}

// has reports whether the upper-case ID names an active object.
func (x *index) has(k string) bool {
	var ok bool
	switch KindOf(k) {
	case KindTactic:
		_, ok = x.tactics[k]
	case KindTechnique:
		_, ok = x.techniques[k]
	case KindGroup:
		_, ok = x.groups[k]
	case KindSoftware:
		_, ok = x.software[k]
	case KindCampaign:
		_, ok = x.campaigns[k]
	}
	return ok
}

// Tactic returns the tactic with the ID (TA0006) or short name
// (credential-access), whatever the case.
func (kb *KB) Tactic(idOrShort string) (*Tactic, error) {
	if i, ok := kb.index().tactics[strings.ToUpper(strings.TrimSpace(idOrShort))]; ok {
		return &kb.Tactics[i], nil
	}
	return nil, fmt.Errorf("tactic %s: %w", idOrShort, ErrNotFound)
}

// Technique returns the technique with the ID, following a revocation to
// its replacement (told by the Resolution).
func (kb *KB) Technique(id string) (*Technique, Resolution, error) {
	res, err := kb.Resolve(id)
	if err != nil || KindOf(res.ID) != KindTechnique {
		return nil, res, fmt.Errorf("technique %s: %w", id, ErrNotFound)
	}
	return &kb.Techniques[kb.index().techniques[res.ID]], res, nil
}

// Group returns the group with the ID, following a revocation to its
// replacement.
func (kb *KB) Group(id string) (*Group, Resolution, error) {
	res, err := kb.Resolve(id)
	if err != nil || KindOf(res.ID) != KindGroup {
		return nil, res, fmt.Errorf("group %s: %w", id, ErrNotFound)
	}
	return &kb.Groups[kb.index().groups[res.ID]], res, nil
}

// SoftwareByID returns the software with the ID, following a revocation to
// its replacement.
func (kb *KB) SoftwareByID(id string) (*Software, Resolution, error) {
	res, err := kb.Resolve(id)
	if err != nil || KindOf(res.ID) != KindSoftware {
		return nil, res, fmt.Errorf("software %s: %w", id, ErrNotFound)
	}
	return &kb.Software[kb.index().software[res.ID]], res, nil
}

// Campaign returns the campaign with the ID.
func (kb *KB) Campaign(id string) (*Campaign, Resolution, error) {
	res, err := kb.Resolve(id)
	if err != nil || KindOf(res.ID) != KindCampaign {
		return nil, res, fmt.Errorf("campaign %s: %w", id, ErrNotFound)
	}
	return &kb.Campaigns[kb.index().campaigns[res.ID]], res, nil
}

// SubTechniques returns the IDs of the sub-techniques of a technique.
func (kb *KB) SubTechniques(id string) []string {
	return kb.index().children[strings.ToUpper(id)]
}

// GroupsUsingTechnique returns the IDs of the groups using the technique
// at group level.
func (kb *KB) GroupsUsingTechnique(id string) []string {
	return kb.index().techniqueGroups[strings.ToUpper(id)]
}

// GroupsUsingSoftware returns the IDs of the groups using the software.
func (kb *KB) GroupsUsingSoftware(id string) []string {
	return kb.index().softwareGroups[strings.ToUpper(id)]
}

// GroupMatch is a group found by FindGroups and how it matched.
type GroupMatch struct {
	Group *Group
	// By is what matched: "id", "revoked id", "name", "alias" or "partial
	// name" (a word-prefix of a name or alias).
	By string
	// Matched is the name, alias or ID that matched.
	Matched string
	// Resolution is set when the query was an ID.
	Resolution Resolution
}

// FindGroups finds groups by ID, name or alias, case-insensitively. An
// exact ID, name or alias wins; otherwise every group with a name or alias
// containing the query at a word start is returned, in ID order.
func (kb *KB) FindGroups(query string) []GroupMatch {
	q := strings.TrimSpace(query)
	if q == "" {
		return nil
	}
	if KindOf(q) == KindGroup {
		if g, res, err := kb.Group(q); err == nil {
			by := "id"
			if res.Revoked != nil {
				by = "revoked id"
			}
			return []GroupMatch{{Group: g, By: by, Matched: res.ID, Resolution: res}}
		}
	}
	x := kb.index()
	uq := strings.ToUpper(q)
	if is, ok := x.groupNames[uq]; ok {
		out := make([]GroupMatch, 0, len(is))
		for _, i := range is {
			g := &kb.Groups[i]
			m := GroupMatch{Group: g, By: "alias"}
			for _, n := range append([]string{g.Name}, g.Aliases...) {
				if strings.EqualFold(n, q) {
					m.Matched = n
					if n == g.Name {
						m.By = "name"
					}
					break
				}
			}
			out = append(out, m)
		}
		return out
	}
	var out []GroupMatch
	for i := range kb.Groups {
		g := &kb.Groups[i]
		for _, n := range append([]string{g.Name}, g.Aliases...) {
			if wordPrefix(strings.ToUpper(n), uq) {
				out = append(out, GroupMatch{Group: g, By: "partial name", Matched: n})
				break
			}
		}
	}
	return out
}

// wordPrefix reports whether q occurs in s at the start of a word.
func wordPrefix(s, q string) bool {
	for i := 0; i+len(q) <= len(s); i++ {
		if (i == 0 || !isAlnum(s[i-1])) && s[i:i+len(q)] == q {
			return true
		}
	}
	return false
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// Relation is another group ATT&CK links to a group but keeps apart.
type Relation struct {
	Group *Group
	// Direction is "mentions" when the group's description names Group,
	// "mentioned by" when Group's description names the group.
	Direction string
}

// RelatedGroups returns the groups ATT&CK relates to g in descriptions but
// keeps as separate objects: those g's description links to, then those
// whose descriptions link to g.
func (kb *KB) RelatedGroups(g *Group) []Relation {
	var out []Relation
	for _, id := range g.Mentions {
		if o, _, err := kb.Group(id); err == nil {
			out = append(out, Relation{Group: o, Direction: "mentions"})
		}
	}
	for _, id := range kb.index().mentionedBy[g.ID] {
		if slices.Contains(g.Mentions, id) {
			continue
		}
		if o, _, err := kb.Group(id); err == nil {
			out = append(out, Relation{Group: o, Direction: "mentioned by"})
		}
	}
	return out
}
