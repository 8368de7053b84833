package stix

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
)

// Exposure (what the intruders touched, staged and sent out; package
// exposure) is shared with the objects STIX has for it: per item an
// observed-data of the files, directories, URL and destination address or
// domain it moved data between, with the item's strength as confidence;
// the report's description saying it in words (the summary, the size
// bounds, each item with its strength and evidence; not a note object:
// the OASIS bundle schema admits no note); the archives written and the destinations as indicators in the collection
// and exfiltration phases.

// strengthConfidence maps an item's strength to the None/Low/Med/High
// scale of the specification's Appendix A.
var strengthConfidence = map[string]int{"strong": 85, "medium": 50, "weak": 15}

// uncHostRE finds the computer of a UNC path (\\host\share).
var uncHostRE = regexp.MustCompile(`\\\\([^\\/\s"'*?]+)\\`)

// exposureRedactions records the hosts, accounts and addresses that an
// operation's exposure names beyond its detections' fields: the
// computers of UNC paths and of destinations inside the organisation.
func (e *exporter) exposureRedactions(in Operation, orgDomains map[string]bool) {
	x := in.Op.Exposure
	if x == nil {
		return
	}
	r := e.opts.Redact
	texts := exposureTexts(x)
	for _, s := range texts {
		if r.IPs {
			e.red.addIPsIn(s)
		}
		if r.Hosts {
			for _, m := range uncHostRE.FindAllStringSubmatch(s, -1) {
				if _, err := netip.ParseAddr(m[1]); err != nil && m[1] != "." && m[1] != "?" {
					e.red.addHost(m[1])
				}
			}
		}
	}
	for _, it := range x.Items {
		if r.Hosts {
			e.red.addHost(it.Host)
			// A destination in the organisation's domains, or a bare
			// computer name, is one of its own hosts.
			h := destinationHost(it.Destination)
			if _, err := netip.ParseAddr(h); h != "" && err != nil && (!strings.Contains(h, ".") || orgDomain(strings.ToLower(h), orgDomains)) {
				e.red.addHost(h)
			}
		}
		if r.Users && it.Account != "" {
			e.red.addUser(it.Account)
		}
	}
}

// exposureTexts are every text of an exposure.
func exposureTexts(x *result.Exposure) []string {
	out := []string{x.Summary, x.SizeNote, x.Raised}
	out = append(out, x.Destinations...)
	out = append(out, x.CrownJewels...)
	for _, it := range x.Items {
		out = append(out, it.Host, it.Process, it.Account, it.CommandLine, it.Destination, it.SizeNote, it.Why)
		out = append(out, it.Sources...)
		out = append(out, it.Files...)
		out = append(out, it.Valuable...)
	}
	return out
}

// orgDomainsOf are the DNS domains of the operation's computers.
func orgDomainsOf(in Operation) map[string]bool {
	org := map[string]bool{}
	for _, d := range in.Detections {
		if _, dom, ok := strings.Cut(strings.ToLower(d.Computer), "."); ok {
			org[dom] = true
		}
	}
	return org
}

// exposure adds the observed-data of each exposure item.
func (e *exporter) exposure(in Operation, created time.Time, refs *[]string) {
	x := in.Op.Exposure
	if x == nil {
		return
	}
	for _, it := range x.Items {
		if it.Time.IsZero() {
			continue
		}
		scos := e.exposureObservables(&it)
		if len(scos) == 0 {
			continue
		}
		var obs []string
		for _, o := range scos {
			obs = append(obs, e.put(o))
		}
		od := Object{"type": "observed-data",
			"id": sdoID("observed-data", e.producer, in.Op.ID, "exposure", it.Kind, it.Tool, Timestamp(it.Time),
				e.red.text(it.Host), e.red.text(it.Destination), e.red.text(strings.Join(it.Sources, "\n"))),
			"first_observed": Timestamp(it.Time), "last_observed": Timestamp(it.Time), "number_observed": 1,
			"object_refs": dedupSorted(obs), "labels": []string{"exposure", it.Kind}}
		if c, ok := strengthConfidence[it.Strength]; ok {
			od["confidence"] = c
		}
		id := e.put(e.common(od, created))
		*refs = append(*refs, id)
		*refs = append(*refs, obs...)
	}
}

func dedupSorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// exposureObservables are the objects an item moved data between:
// sources (files without wildcards), the archive volumes written or the
// destination (a file when its name has an extension, else a folder), a
// URL and the destination's domain or public address. A file's size is
// given only when the item moved that one file and its size is exact.
func (e *exporter) exposureObservables(it *result.ExposureItem) []Object {
	var out []Object
	exact := int64(0)
	if it.SizeMin > 0 && it.SizeMin == it.SizeMax {
		exact = it.SizeMin
	}
	addFile := func(p string, size int64) {
		if !observablePath(p) {
			return
		}
		f, dir := fileObjects(e.red.text(p))
		if size > 0 {
			f["size"] = size
		}
		out = append(out, f, dir)
	}
	addDest := func(p string, size int64) {
		if len(p) > 3 {
			p = strings.TrimRight(p, `\`) // a folder written C:\x\
		}
		if !observablePath(p) {
			return
		}
		if _, base, _ := strings.Cut(lastElem(p), "."); base != "" {
			addFile(p, size)
			return
		}
		d := e.red.text(p)
		out = append(out, Object{"type": "directory", "spec_version": SpecVersion, "id": scoID("directory", map[string]any{"path": d}), "path": d})
	}
	one := func(n int) int64 {
		if n == 1 {
			return exact
		}
		return 0
	}
	switch it.Kind {
	case result.ExposureStaged:
		for _, s := range it.Sources {
			addFile(s, 0)
		}
		if len(it.Files) > 0 {
			for _, f := range it.Files {
				addFile(f, one(len(it.Files)))
			}
		} else {
			addDest(it.Destination, exact)
		}
	case result.ExposureCollected:
		for _, s := range it.Sources {
			addFile(s, one(len(it.Sources)))
		}
		addDest(it.Destination, one(len(it.Sources)))
		for _, f := range it.Files {
			addFile(f, 0)
		}
	case result.ExposureExfiltrated:
		for _, s := range it.Sources {
			addFile(s, one(len(it.Sources)))
		}
		if observablePath(it.Destination) {
			addDest(it.Destination, 0)
		}
		if strings.Contains(it.Destination, "://") {
			v := e.red.text(it.Destination)
			out = append(out, Object{"type": "url", "spec_version": SpecVersion, "id": scoID("url", map[string]any{"value": v}), "value": v})
		}
		if o := e.destinationObject(destinationHost(it.Destination)); o != nil {
			out = append(out, o)
		}
	}
	return out
}

// destinationObject is the ipv4-addr, ipv6-addr or domain-name of a
// destination host; nil for the organisation's own addresses and for
// redacted names (a pseudonym is no domain).
func (e *exporter) destinationObject(h string) Object {
	if h == "" {
		return nil
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		if internal(ip) {
			return nil
		}
		typ := "ipv4-addr"
		if !ip.Unmap().Is4() {
			typ = "ipv6-addr"
		}
		v := ip.Unmap().String()
		return Object{"type": typ, "spec_version": SpecVersion, "id": scoID(typ, map[string]any{"value": v}), "value": v}
	}
	dom := strings.ToLower(strings.TrimSuffix(h, "."))
	if !strings.Contains(dom, ".") || e.red.text(dom) != dom {
		return nil
	}
	return Object{"type": "domain-name", "spec_version": SpecVersion, "id": scoID("domain-name", map[string]any{"value": dom}), "value": dom}
}

// destinationHost is the host of an exfiltration destination: a URL's,
// host:port's or a bare host's; "" for a path.
func destinationHost(dest string) string {
	dest = strings.TrimSpace(dest)
	if dest == "" || strings.ContainsAny(dest, `\`) {
		return ""
	}
	if strings.Contains(dest, "://") {
		u, err := url.Parse(dest)
		if err != nil {
			return ""
		}
		return u.Hostname()
	}
	if h, _, err := net.SplitHostPort(dest); err == nil {
		return h
	}
	if strings.ContainsAny(dest, "/ @:") {
		return ""
	}
	return dest
}

// observablePath reports whether p is an absolute Windows path (drive or
// UNC) of one file or folder, without wildcards.
func observablePath(p string) bool {
	if strings.ContainsAny(p, "*?<>|\"") || lastElem(p) == "" {
		return false
	}
	if len(p) >= 4 && p[1] == ':' && p[2] == '\\' {
		return true
	}
	rest, ok := strings.CutPrefix(p, `\\`)
	return ok && strings.Count(rest, `\`) >= 2 && !strings.HasPrefix(rest, `?\`) && !strings.HasPrefix(rest, `.\`)
}

func lastElem(p string) string {
	return p[strings.LastIndexByte(p, '\\')+1:]
}

// exposureText is the exposure in words, for the report: the summary, what
// was sent and its bounds, the crown jewels, then each item with its
// strength and what supports it.
func exposureText(opID string, x *result.Exposure) string {
	var b strings.Builder
	fmt.Fprintf(&b, "What spoor's evidence says operation %s touched, staged and sent out: %s.\n", opID, x.Summary)
	if len(x.Destinations) > 0 {
		fmt.Fprintf(&b, "Sent to: %s.\n", strings.Join(x.Destinations, ", "))
	}
	if x.SentMin > 0 || x.SentMax > 0 {
		fmt.Fprintf(&b, "Bytes sent: at least %d, at most %s (%s).\n", x.SentMin, orUnknown(x.SentMax), x.SizeNote)
	}
	if len(x.CrownJewels) > 0 {
		how := "named by the crown-jewels file"
		if x.Inferred {
			how = "inferred by spoor, no crown-jewels file named them"
		}
		fmt.Fprintf(&b, "Valuable data touched (%s): %s.\n", how, strings.Join(x.CrownJewels, ", "))
	}
	if x.Raised != "" {
		fmt.Fprintf(&b, "Severity raised: %s.\n", x.Raised)
	}
	b.WriteString("Items (strength as STIX confidence: strong 85, medium 50, weak 15):\n")
	for i, it := range x.Items {
		fmt.Fprintf(&b, "%d. %s %s on %s by %s", i+1, it.Kind, Timestamp(it.Time), it.Host, it.Tool)
		if it.Account != "" {
			fmt.Fprintf(&b, " as %s", it.Account)
		}
		if len(it.Sources) > 0 {
			fmt.Fprintf(&b, ": %s", strings.Join(it.Sources, ", "))
		}
		if it.Destination != "" {
			fmt.Fprintf(&b, " -> %s", it.Destination)
		}
		var facts []string
		if len(it.Files) > 0 {
			facts = append(facts, "files written "+strings.Join(it.Files, ", "))
		}
		if it.Password {
			facts = append(facts, "password")
		}
		if it.HeadersEncrypted {
			facts = append(facts, "file names encrypted")
		}
		if it.VolumeSize > 0 {
			facts = append(facts, fmt.Sprintf("%d volume(s) of %d bytes", it.Volumes, it.VolumeSize))
		}
		if it.SizeMin > 0 || it.SizeMax > 0 {
			facts = append(facts, fmt.Sprintf("size at least %d, at most %s bytes (%s)", it.SizeMin, orUnknown(it.SizeMax), it.SizeNote))
		}
		if len(it.Valuable) > 0 {
			facts = append(facts, "valuable: "+strings.Join(it.Valuable, ", "))
		}
		if len(facts) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(facts, "; "))
		}
		fmt.Fprintf(&b, "; %s: %s", it.Strength, it.Why)
		if it.CommandLine != "" {
			fmt.Fprintf(&b, "; command: %s", it.CommandLine)
		}
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func orUnknown(n int64) string {
	if n <= 0 {
		return "unknown"
	}
	return fmt.Sprint(n)
}

// exposure puts the exposure's archives and destinations among the
// atomic indicators in the collection and exfiltration phases: the
// archive volumes file events show written, and the exfiltration
// destinations (public addresses, domains outside the organisation's).
// An indicator the detections already gave is only given the phase; a
// new one is sighted once per item, at its time and host.
func (a *atomSet) exposure(x *result.Exposure, orgDomains map[string]bool) {
	if x == nil {
		return
	}
	for _, it := range x.Items {
		at := &result.Detection{Time: it.Time, Computer: it.Host}
		switch it.Kind {
		case result.ExposureStaged:
			for _, f := range it.Files {
				if p := windowsPath(f); p != "" {
					key := "file " + strings.ToLower(a.red.text(p))
					if a.byKey[key] == nil {
						a.file(at, p)
					}
					a.phase(key, "collection")
				}
			}
		case result.ExposureCollected:
			for _, p := range append([]string{it.Destination}, it.Files...) {
				a.phase("file "+strings.ToLower(a.red.text(p)), "collection")
			}
		case result.ExposureExfiltrated:
			for _, s := range it.Sources {
				a.phase("file "+strings.ToLower(a.red.text(s)), "exfiltration")
			}
			h := destinationHost(it.Destination)
			if ip, err := netip.ParseAddr(h); err == nil {
				if ip = ip.Unmap(); ip.Zone() == "" && !internal(ip) {
					if a.byKey["ip "+ip.String()] == nil {
						a.ip(at, ip)
					}
					a.phase("ip "+ip.String(), "exfiltration")
				}
				continue
			}
			dom := strings.ToLower(strings.TrimSuffix(h, "."))
			if !strings.Contains(dom, ".") || orgDomain(dom, orgDomains) || a.red.text(dom) != dom {
				continue
			}
			if a.byKey["domain "+dom] == nil {
				a.domain(at, dom)
			}
			a.phase("domain "+dom, "exfiltration")
		}
	}
}

// phase adds an ATT&CK tactic to the kill-chain phases of the indicator
// of key, when there is one.
func (a *atomSet) phase(key, tactic string) {
	if ind := a.byKey[key]; ind != nil && !slices.Contains(ind.tactics, tactic) {
		ind.tactics = append(ind.tactics, tactic)
	}
}
