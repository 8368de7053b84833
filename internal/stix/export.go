package stix

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/attack"
	"github.com/spoor-hunt/spoor/internal/result"
)

// Options configures an export.
type Options struct {
	// Identity names the producing organisation ("spoor" when empty).
	Identity string
	// TLP is the TLP 2.0 level every object is marked with (DefaultTLP
	// when empty): clear, green, amber, amber+strict or red.
	TLP string
	// Redact says what is replaced by pseudonyms.
	Redact Redact
	// RuleYAML returns the Sigma rule with this id as written, or nil;
	// a rule without it is shared as attack patterns only, not as a Sigma
	// indicator. nil for none.
	RuleYAML func(id string) []byte
	// ATTACK names techniques, software and groups; nil leaves the names
	// to the IDs.
	ATTACK *attack.KB
}

// Operation is an operation to export with its detections (those its
// Detections index, resolved by the caller).
type Operation struct {
	Op         *result.Operation
	Detections []result.Detection
}

// epoch is the created time of objects that are the same in every export
// (the producer, ATT&CK's techniques and software, the groups): their
// content does not depend on an operation, so neither may their version.
var epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Export makes one bundle of the given operations: per operation a report
// holding everything found, a campaign attributed to the ATT&CK groups its
// evidence resembles, attack patterns, software, Sigma and atomic
// indicators with their observed data and sightings; the producer's
// identity and the TLP marking once. The bundle's objects are sorted by
// id; its id is derived from theirs, so the same operations give the
// same bundle.
func Export(ops []Operation, opts Options) (*Bundle, error) {
	tlp := cmp.Or(opts.TLP, DefaultTLP)
	marking, err := TLPMarking(tlp)
	if err != nil {
		return nil, err
	}
	name := cmp.Or(strings.TrimSpace(opts.Identity), "spoor")
	e := &exporter{opts: opts, objects: map[string]Object{}, marking: marking.ID()}
	e.producer = sdoID("identity", name)
	e.put(marking)
	e.put(e.common(Object{
		"type": "identity", "id": e.producer, "name": name, "identity_class": "organization",
	}, epoch))
	for _, op := range ops {
		if op.Op == nil {
			continue
		}
		e.operation(op)
	}
	return e.bundle(), nil
}

// bundle returns the objects made, sorted by id, in a bundle whose id is
// derived from theirs.
func (e *exporter) bundle() *Bundle {
	ids := make([]string, 0, len(e.objects))
	for id := range e.objects {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b := &Bundle{Type: "bundle", Objects: make([]Object, len(ids))}
	for i, id := range ids {
		b.Objects[i] = e.objects[id]
	}
	b.ID = "bundle--" + uuid5(spoorNamespace, canonical(ids))
	return b
}

// exporter builds a bundle's objects.
type exporter struct {
	opts     Options
	objects  map[string]Object
	producer string // the identity's id
	marking  string // the TLP marking's id
	red      redactor
}

// put adds o, keeping the first of two objects with one id.
func (e *exporter) put(o Object) string {
	id := o.ID()
	if _, ok := e.objects[id]; !ok {
		e.objects[id] = o
	}
	return id
}

// common sets the properties every domain object has.
func (e *exporter) common(o Object, created time.Time) Object {
	o["spec_version"] = SpecVersion
	ts := Timestamp(created)
	o["created"], o["modified"] = ts, ts
	if o.Type() != "identity" || o.ID() != e.producer {
		o["created_by_ref"] = e.producer
	}
	o["object_marking_refs"] = []string{e.marking}
	return o
}

// operation adds the objects of one operation.
func (e *exporter) operation(in Operation) {
	op := in.Op
	e.red = redactor{}
	e.redactions(in)
	e.red.compile()
	created := op.Last
	if created.IsZero() {
		created = epoch
	}
	var refs []string
	ref := func(id string) string { refs = append(refs, id); return id }
	ref(e.producer)
	ref(e.marking)

	campaign := sdoID("campaign", e.producer, op.ID)
	c := Object{"type": "campaign", "id": campaign, "name": "spoor " + op.ID,
		"description": e.red.text(strings.Join(op.Narrative, "\n"))}
	if !op.First.IsZero() {
		c["first_seen"] = Timestamp(op.First)
	}
	if !op.Last.IsZero() {
		c["last_seen"] = Timestamp(op.Last)
	}
	ref(e.put(e.common(c, created)))

	techniques := map[string]string{} // technique ID → attack-pattern id
	for _, t := range op.Techniques {
		id := e.attackPattern(t)
		techniques[t] = id
		ref(id)
		ref(e.relationship("uses", campaign, id, created, "", -1))
	}
	if a := op.Attribution; a != nil {
		for _, s := range a.Evidence.Software {
			if id := e.software(s); id != "" {
				ref(id)
				ref(e.relationship("uses", campaign, id, created, "", -1))
			}
		}
		for _, cand := range a.Candidates {
			id := e.intrusionSet(cand)
			ref(id)
			conf := int(math.Round(cand.Confidence * 100))
			ref(e.relationship("attributed-to", campaign, id, created, explain(cand, a), min(max(conf, 0), 100)))
		}
	}

	hosts := e.hostIdentities(in, &refs)
	// Before the indicators: an exposure file's SCO carries its size, and
	// the first object of an id is kept.
	e.exposure(in, created, &refs)
	for _, ind := range e.sigmaIndicators(in) {
		e.indicate(ind, techniques, hosts, created, op, &refs)
	}
	for _, ind := range e.atoms(in) {
		e.indicate(ind, techniques, hosts, created, op, &refs)
	}

	slices.Sort(refs)
	refs = slices.Compact(refs)
	description := strings.Join(op.Narrative, "\n")
	if op.Exposure != nil && op.Exposure.Summary != "" {
		description += "\n\nExposure. " + exposureText(op.ID, op.Exposure)
	}
	rep := Object{"type": "report", "id": sdoID("report", e.producer, op.ID),
		"name":         e.red.text(fmt.Sprintf("spoor %s: %s intrusion on %s", op.ID, op.Severity, strings.Join(op.Hosts, ", "))),
		"description":  e.red.text(description),
		"report_types": []string{"threat-report", "campaign"},
		"published":    Timestamp(created),
		"object_refs":  refs,
	}
	e.put(e.common(rep, created))
}

// redactions records the values of the operation that Options.Redact
// hides: its computers and those its events name (the target of a logon,
// the workstation it came from), accounts, the organisation's addresses.
func (e *exporter) redactions(in Operation) {
	r := e.opts.Redact
	if r.Hosts {
		for _, h := range in.Op.Hosts {
			e.red.addHost(h)
		}
		for _, d := range in.Detections {
			e.red.addHost(d.Computer)
		}
	}
	if r.Users {
		for _, u := range in.Op.Users {
			e.red.addUser(u)
		}
	}
	for _, d := range in.Detections {
		for _, f := range d.Fields {
			if r.Users && userField[f.Name] {
				e.red.addUser(f.Value)
			}
			if r.Hosts && hostField[f.Name] {
				if _, err := netip.ParseAddr(f.Value); err != nil && f.Value != "-" && !strings.EqualFold(f.Value, "localhost") {
					e.red.addHost(strings.TrimPrefix(f.Value, `\\`))
				}
			}
			if r.IPs {
				e.red.addIPsIn(f.Value)
			}
		}
	}
	if r.IPs {
		for _, s := range in.Op.Narrative {
			e.red.addIPsIn(s)
		}
		for _, c := range in.Op.Context {
			e.red.addIPsIn(c.Description)
		}
	}
	e.exposureRedactions(in, orgDomainsOf(in))
}

var (
	userField = map[string]bool{"User": true, "SubjectUserName": true, "TargetUserName": true, "AccountName": true, "UserName": true}
	// hostField are the fields that name a computer of the organisation
	// other than the event's own.
	hostField = map[string]bool{"TargetServerName": true, "WorkstationName": true, "Workstation": true, "SourceHostname": true,
		"TargetHostName": true, "ClientName": true}
)

// explain says why a group is a candidate, for the attributed-to
// relationship: what it shares with the evidence, and what it does not
// explain.
func explain(c result.Candidate, a *result.Attribution) string {
	var shared []string
	for _, s := range c.Shared {
		shared = append(shared, s.ID+" "+s.Name)
	}
	s := fmt.Sprintf("A resemblance, not an identification: rank %d of spoor's ATT&CK attribution (score %.2f, confidence %.0f%%; %.0f%% that it is none of ATT&CK's groups).",
		c.Rank, c.Score, c.Confidence*100, a.UnknownActor*100)
	if len(shared) > 0 {
		s += " Shared with the evidence: " + strings.Join(shared, ", ") + "."
	}
	if len(c.Unexplained) > 0 {
		s += " Observed but not known of the group: " + strings.Join(c.Unexplained, ", ") + "."
	}
	return s
}

// relationship adds a relationship; confidence < 0 leaves it out.
func (e *exporter) relationship(typ, from, to string, created time.Time, description string, confidence int) string {
	r := Object{"type": "relationship", "id": sdoID("relationship", e.producer, typ, from, to),
		"relationship_type": typ, "source_ref": from, "target_ref": to}
	if description != "" {
		r["description"] = description
	}
	if confidence >= 0 {
		r["confidence"] = confidence
	}
	return e.put(e.common(r, created))
}

// attackPattern adds the attack pattern of an ATT&CK technique.
func (e *exporter) attackPattern(tid string) string {
	id := sdoID("attack-pattern", e.producer, tid)
	name := tid
	var phases []map[string]string
	if kb := e.opts.ATTACK; kb != nil {
		if t, _, err := kb.Technique(tid); err == nil {
			name = t.Name
			for _, tac := range t.Tactics {
				phases = append(phases, killChain(tac))
			}
		}
	}
	o := Object{"type": "attack-pattern", "id": id, "name": name,
		"external_references": []map[string]string{{"source_name": "mitre-attack", "external_id": tid,
			"url": "https://attack.mitre.org/techniques/" + strings.ReplaceAll(tid, ".", "/") + "/"}}}
	if len(phases) > 0 {
		o["kill_chain_phases"] = phases
	}
	return e.put(e.common(o, epoch))
}

func killChain(tactic string) map[string]string {
	return map[string]string{"kill_chain_name": "mitre-attack", "phase_name": tactic}
}

// software adds the malware or tool of an ATT&CK software ID; "" when
// ATT&CK does not know it (without a knowledge base, nothing says which
// of the two it is).
func (e *exporter) software(sid string) string {
	kb := e.opts.ATTACK
	if kb == nil {
		return ""
	}
	s, _, err := kb.SoftwareByID(sid)
	if err != nil {
		return ""
	}
	typ := "tool"
	if s.Type == "malware" {
		typ = "malware"
	}
	o := Object{"type": typ, "id": sdoID(typ, e.producer, s.ID), "name": s.Name,
		"external_references": []map[string]string{{"source_name": "mitre-attack", "external_id": s.ID,
			"url": "https://attack.mitre.org/software/" + s.ID + "/"}}}
	if typ == "malware" {
		o["is_family"] = true
	}
	if len(s.Aliases) > 0 {
		o["aliases"] = s.Aliases
	}
	return e.put(e.common(o, epoch))
}

// intrusionSet adds the intrusion set of an ATT&CK group.
func (e *exporter) intrusionSet(c result.Candidate) string {
	o := Object{"type": "intrusion-set", "id": sdoID("intrusion-set", e.producer, c.ID), "name": c.Name,
		"external_references": []map[string]string{{"source_name": "mitre-attack", "external_id": c.ID,
			"url": "https://attack.mitre.org/groups/" + c.ID + "/"}}}
	if kb := e.opts.ATTACK; kb != nil {
		if g, _, err := kb.Group(c.ID); err == nil && len(g.Aliases) > 0 {
			o["aliases"] = g.Aliases
		}
	}
	return e.put(e.common(o, epoch))
}

// hostIdentities adds an identity (class system) per host of the
// operation, where its indicators were sighted; with Redact.Hosts their
// names are pseudonyms.
func (e *exporter) hostIdentities(in Operation, refs *[]string) map[string]string {
	out := map[string]string{}
	for _, d := range in.Detections {
		short, _, _ := strings.Cut(d.Computer, ".")
		key := strings.ToLower(short)
		if key == "" || out[key] != "" {
			continue
		}
		name := e.red.text(d.Computer)
		o := Object{"type": "identity", "id": sdoID("identity", e.producer, "host", name), "name": name, "identity_class": "system"}
		out[key] = e.put(e.common(o, epoch))
		*refs = append(*refs, out[key])
	}
	return out
}

// indicator is an indicator before it is written: a pattern and where
// it was seen.
type indicator struct {
	key         string // what makes it this indicator
	name        string
	description string
	pattern     string
	patternType string // stix or sigma
	techniques  []string
	tactics     []string
	externals   []map[string]string
	observables []Object // what was seen, for the observed-data
	seen        sighting
}

// sighting is when and where an indicator was seen.
type sighting struct {
	first, last time.Time
	count       int      // events, each once (several rules may detect one)
	hosts       []string // short names, lower-cased
	events      map[string]bool
}

func (s *sighting) add(d *result.Detection) {
	k := eventKey(d)
	if s.events[k] {
		return // the same event, detected by another rule
	}
	if s.events == nil {
		s.events = map[string]bool{}
	}
	s.events[k] = true
	if !d.Time.IsZero() {
		if s.first.IsZero() || d.Time.Before(s.first) {
			s.first = d.Time
		}
		if d.Time.After(s.last) {
			s.last = d.Time
		}
	}
	s.count++
	short, _, _ := strings.Cut(d.Computer, ".")
	if h := strings.ToLower(short); h != "" && !slices.Contains(s.hosts, h) {
		s.hosts = append(s.hosts, h)
	}
}

// eventKey tells the event of a detection: its place in its file, else
// its record on its computer; a correlation is its own.
func eventKey(d *result.Detection) string {
	switch {
	case d.Kind == result.KindCorrelation:
		id := ""
		if d.Rule != nil {
			id = d.Rule.ID
		}
		return fmt.Sprintf("correlation\x00%s\x00%s\x00%s", id, d.Computer, d.Time)
	case d.Source != "" && d.Locator != 0:
		return fmt.Sprintf("file\x00%s\x00%d\x00%v", d.Source, d.Locator, d.Carved)
	}
	return fmt.Sprintf("record\x00%s\x00%s\x00%d\x00%s", d.Computer, d.Channel, d.RecordID, d.Time)
}

// indicate adds an indicator, what it indicates, its observed data and
// its sighting.
func (e *exporter) indicate(ind *indicator, techniques, hosts map[string]string, created time.Time, op *result.Operation, refs *[]string) {
	validFrom := cmp.Or(ind.seen.first, created)
	id := sdoID("indicator", e.producer, ind.patternType, ind.pattern)
	o := Object{"type": "indicator", "id": id, "name": e.red.text(ind.name), "pattern": ind.pattern,
		"pattern_type": ind.patternType, "valid_from": Timestamp(validFrom),
		"indicator_types": []string{"malicious-activity"}}
	if ind.patternType == "stix" {
		o["pattern_version"] = SpecVersion
	}
	if ind.description != "" {
		o["description"] = e.red.text(ind.description)
	}
	if len(ind.tactics) > 0 {
		phases := make([]map[string]string, len(ind.tactics))
		for i, t := range ind.tactics {
			phases[i] = killChain(t)
		}
		o["kill_chain_phases"] = phases
	}
	if len(ind.externals) > 0 {
		o["external_references"] = ind.externals
	}
	*refs = append(*refs, e.put(e.common(o, validFrom)))
	for _, t := range ind.techniques {
		if ap := techniques[t]; ap != "" {
			*refs = append(*refs, e.relationship("indicates", id, ap, validFrom, "", -1))
		}
	}
	s := Object{"type": "sighting", "id": sdoID("sighting", e.producer, op.ID, id), "sighting_of_ref": id,
		"count": ind.seen.count, "description": "seen by spoor in operation " + op.ID}
	if !ind.seen.first.IsZero() {
		s["first_seen"] = Timestamp(ind.seen.first)
		s["last_seen"] = Timestamp(ind.seen.last)
	}
	var where []string
	for _, h := range ind.seen.hosts {
		if id := hosts[h]; id != "" {
			where = append(where, id)
		}
	}
	if len(where) > 0 {
		slices.Sort(where)
		s["where_sighted_refs"] = where
	}
	if len(ind.observables) > 0 && !ind.seen.first.IsZero() {
		var obs []string
		for _, sco := range ind.observables {
			obs = append(obs, e.put(sco))
		}
		slices.Sort(obs)
		obs = slices.Compact(obs)
		od := Object{"type": "observed-data", "id": sdoID("observed-data", e.producer, op.ID, id),
			"first_observed": Timestamp(ind.seen.first), "last_observed": Timestamp(ind.seen.last),
			"number_observed": max(ind.seen.count, 1), "object_refs": obs}
		odID := e.put(e.common(od, created))
		*refs = append(*refs, odID)
		*refs = append(*refs, obs...)
		s["observed_data_refs"] = []string{odID}
	}
	*refs = append(*refs, e.put(e.common(s, created)))
}

// sigmaIndicators are the Sigma rules that fired in the operation, as
// written, when Options.RuleYAML has them.
func (e *exporter) sigmaIndicators(in Operation) []*indicator {
	if e.opts.RuleYAML == nil {
		return nil
	}
	byRule := map[string]*indicator{}
	var out []*indicator
	for i := range in.Detections {
		d := &in.Detections[i]
		if d.Rule == nil || d.Rule.ID == "" {
			continue
		}
		ind := byRule[d.Rule.ID]
		if ind == nil {
			yaml := e.opts.RuleYAML(d.Rule.ID)
			if yaml == nil {
				byRule[d.Rule.ID] = &indicator{} // looked up once
				continue
			}
			ind = &indicator{key: d.Rule.ID, name: d.Rule.Title, pattern: e.red.text(string(yaml)), patternType: "sigma",
				techniques: d.Rule.Techniques, tactics: d.Rule.Tactics,
				description: "Sigma rule " + d.Rule.ID + " (level " + cmp.Or(d.Rule.Level, "none") + ")",
				externals:   []map[string]string{{"source_name": "sigma", "external_id": d.Rule.ID}}}
			byRule[d.Rule.ID] = ind
			out = append(out, ind)
		}
		if ind.pattern != "" {
			ind.seen.add(d)
		}
	}
	return out
}

// atoms are the atomic indicators of what the operation saw.
func (e *exporter) atoms(in Operation) []*indicator {
	a := atomSet{byKey: map[string]*indicator{}, red: &e.red}
	orgDomains := orgDomainsOf(in)
	dropped := map[string]bool{} // files the operation wrote, lower-cased paths
	for _, c := range in.Op.Context {
		switch c.Kind {
		case "file":
			dropped[strings.ToLower(c.Key)] = true
		}
	}
	for i := range in.Detections {
		d := &in.Detections[i]
		get := func(name string) string {
			for _, f := range d.Fields {
				if f.Name == name {
					return f.Value
				}
			}
			return ""
		}
		for _, f := range d.Fields {
			switch f.Name {
			case "Image", "ImageLoaded", "TargetFilename", "NewProcessName", "ServiceFileName", "ImagePath":
				p := windowsPath(f.Value)
				if p == "" || !(unusualPath(p) || dropped[strings.ToLower(p)]) {
					continue
				}
				a.file(d, p)
				if f.Name == "Image" || f.Name == "ImageLoaded" {
					a.hashes(d, p, get("Hashes"))
				}
			case "DestinationIp", "SourceIp", "IpAddress", "SourceAddress", "DestAddress":
				if ip, err := netip.ParseAddr(strings.TrimSpace(f.Value)); err == nil && ip.Zone() == "" && !internal(ip) {
					a.ip(d, ip.Unmap())
				}
			case "DestinationHostname", "QueryName":
				dom := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(f.Value), "."))
				if dom == "" || !strings.Contains(dom, ".") || orgDomain(dom, orgDomains) {
					continue
				}
				if _, err := netip.ParseAddr(dom); err == nil {
					continue
				}
				a.domain(d, dom)
			case "PipeName":
				a.pipe(d, f.Value)
			case "ServiceName":
				a.service(d, f.Value)
			case "TaskName":
				a.task(d, f.Value)
			}
		}
	}
	a.exposure(in.Op.Exposure, orgDomains)
	slices.SortFunc(a.list, func(x, y *indicator) int { return strings.Compare(x.key, y.key) })
	return a.list
}

func orgDomain(dom string, org map[string]bool) bool {
	for o := range org {
		if dom == o || strings.HasSuffix(dom, "."+o) {
			return true
		}
	}
	return false
}

// windowsPath cleans a logged path: quotes and arguments of a service's
// image path are cut, \??\ and \\?\ prefixes dropped; "" when it is not an
// absolute path with a drive.
func windowsPath(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, `"`) {
		if end := strings.IndexByte(s[1:], '"'); end >= 0 {
			s = s[1 : 1+end]
		}
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, `\??\`), `\\?\`)
	if len(s) < 4 || s[1] != ':' || s[2] != '\\' {
		return ""
	}
	if i := strings.Index(strings.ToLower(s), ".exe "); i > 0 {
		s = s[:i+4]
	}
	return s
}

// unusualDirs are folders where programs do not normally live: where
// intruders stage what they bring.
var unusualDirs = []string{`\temp\`, `\tmp\`, `\programdata\`, `\users\public\`, `\appdata\`, `\perflogs\`,
	`\$recycle.bin\`, `\windows\tasks\`, `\windows\debug\`, `\windows\fonts\`, `\system volume information\`, `\downloads\`,
	`\wwwroot\`, `\webapps\`, `\deploy\`} // the last three: where web shells are written

// unusualPath reports whether a file lives where programs do not.
func unusualPath(p string) bool {
	l := strings.ToLower(p)
	for _, d := range unusualDirs {
		if strings.Contains(l, d) {
			return true
		}
	}
	return false
}

// atomSet collects atomic indicators, one per pattern.
type atomSet struct {
	byKey map[string]*indicator
	list  []*indicator
	red   *redactor
}

// put returns the indicator of pattern, adding it the first time, and
// counts d as a sighting of it.
func (a *atomSet) put(d *result.Detection, key, name, pattern string, obs ...Object) {
	ind := a.byKey[key]
	if ind == nil {
		ind = &indicator{key: key, name: name, pattern: a.red.text(pattern), patternType: "stix", observables: obs}
		a.byKey[key] = ind
		a.list = append(a.list, ind)
	}
	ind.seen.add(d)
	if d.Rule != nil {
		for _, t := range d.Rule.Tactics {
			if !slices.Contains(ind.tactics, t) {
				ind.tactics = append(ind.tactics, t)
			}
		}
		for _, t := range d.Rule.Techniques {
			if !slices.Contains(ind.techniques, t) {
				ind.techniques = append(ind.techniques, t)
			}
		}
	}
}

// Quote writes s as a pattern's string literal (section 9.3): quotes and
// backslashes escaped.
func Quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func (a *atomSet) file(d *result.Detection, p string) {
	p = a.red.text(p)
	f, dirObj := fileObjects(p)
	a.put(d, "file "+strings.ToLower(p), "file "+p,
		fmt.Sprintf("[file:name = %s AND file:parent_directory_ref.path = %s]", Quote(f["name"].(string)), Quote(dirObj["path"].(string))), f, dirObj)
}

// fileObjects are the file SCO of a Windows path (drive or UNC) and the
// directory SCO it is in.
func fileObjects(p string) (file, dir Object) {
	d, base := path.Split(strings.ReplaceAll(p, `\`, "/"))
	d = strings.ReplaceAll(strings.TrimSuffix(d, "/"), "/", `\`)
	dir = Object{"type": "directory", "spec_version": SpecVersion, "id": scoID("directory", map[string]any{"path": d}), "path": d}
	file = Object{"type": "file", "spec_version": SpecVersion, "name": base, "parent_directory_ref": dir.ID()}
	file["id"] = scoID("file", map[string]any{"name": base, "parent_directory_ref": dir.ID()})
	return file, dir
}

// hashNames maps Sysmon's Hashes names to the specification's hash
// algorithm vocabulary (section 10.7).
var hashNames = map[string]string{"MD5": "MD5", "SHA1": "SHA-1", "SHA256": "SHA-256"}

func (a *atomSet) hashes(d *result.Detection, p, field string) {
	hashes := map[string]any{}
	for _, part := range strings.Split(field, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if alg := hashNames[strings.ToUpper(k)]; ok && alg != "" && isHex(v) {
			hashes[alg] = strings.ToLower(v)
		}
	}
	alg := ""
	for _, x := range []string{"SHA-256", "SHA-1", "MD5"} {
		if hashes[x] != nil {
			alg = x
			break
		}
	}
	if alg == "" {
		return
	}
	_, base := path.Split(strings.ReplaceAll(a.red.text(p), `\`, "/"))
	f := Object{"type": "file", "spec_version": SpecVersion, "hashes": hashes, "name": base}
	// A file's id takes one hash, the first of MD5, SHA-1, SHA-256
	// (section 6.7's ID contributing properties).
	for _, x := range []string{"MD5", "SHA-1", "SHA-256"} {
		if v := hashes[x]; v != nil {
			f["id"] = scoID("file", map[string]any{"hashes": map[string]any{x: v}, "name": base})
			break
		}
	}
	h := hashes[alg].(string)
	a.put(d, "hash "+h, base+" "+alg+" "+h, fmt.Sprintf("[file:hashes.%s = %s]", Quote(alg), Quote(h)), f)
}

func isHex(s string) bool {
	if len(s) < 32 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// ip adds a public address, IPv4 or IPv6 (sections 6.8, 6.9).
func (a *atomSet) ip(d *result.Detection, addr netip.Addr) {
	ip, typ := addr.String(), "ipv4-addr"
	if addr.Is6() {
		typ = "ipv6-addr"
	}
	o := Object{"type": typ, "spec_version": SpecVersion, "id": scoID(typ, map[string]any{"value": ip}), "value": ip}
	a.put(d, "ip "+ip, "address "+ip, "["+typ+":value = "+Quote(ip)+"]", o)
}

func (a *atomSet) domain(d *result.Detection, dom string) {
	o := Object{"type": "domain-name", "spec_version": SpecVersion, "id": scoID("domain-name", map[string]any{"value": dom}), "value": dom}
	a.put(d, "domain "+dom, "domain "+dom, "[domain-name:value = "+Quote(dom)+"]", o)
}

// pipeDir is the folder of named pipes in Windows' object namespace: the
// specification has no object for pipes, and a pipe is opened as a file
// there.
const pipeDir = `\\.\pipe`

func (a *atomSet) pipe(d *result.Detection, name string) {
	name = strings.TrimPrefix(strings.TrimSpace(name), `\`)
	if name == "" || name == "<Anonymous Pipe>" {
		return
	}
	a.put(d, "pipe "+strings.ToLower(name), "named pipe "+name,
		fmt.Sprintf("[file:name = %s AND file:parent_directory_ref.path = %s]", Quote(name), Quote(pipeDir)))
}

func (a *atomSet) service(d *result.Detection, name string) {
	name = strings.TrimSpace(name)
	if name == "" {
		return
	}
	a.put(d, "service "+strings.ToLower(name), "service "+name,
		"[process:extensions.'windows-service-ext'.service_name = "+Quote(name)+"]")
}

// TaskTree is where Windows registers a scheduled task by its path: the
// specification has no object for tasks, so a task is its registry key.
const TaskTree = `HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Schedule\TaskCache\Tree`

func (a *atomSet) task(d *result.Detection, name string) {
	name = strings.TrimSpace(name)
	if name == "" {
		return
	}
	key := TaskTree + `\` + strings.TrimPrefix(name, `\`)
	o := Object{"type": "windows-registry-key", "spec_version": SpecVersion, "id": scoID("windows-registry-key", map[string]any{"key": a.red.text(key)}), "key": a.red.text(key)}
	a.put(d, "task "+strings.ToLower(name), "scheduled task "+name, "[windows-registry-key:key = "+Quote(key)+"]", o)
}
