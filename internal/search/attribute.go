package search

import (
	"slices"
	"strings"

	"github.com/spoor-hunt/spoor/internal/event"
)

// iocIndex tells which indicators a hit holds. The engine has decided
// that the event holds one (one rule per kind, every value ORed); the
// index names them, by the fields and forms the rules match, looked up
// lower-cased as Sigma compares: a hash in a hash field or a Hashes list,
// an address (or its ::ffff: form) in an address field, a domain or a
// parent of it in a name field, a path or the last element of one in a
// path field, a name in OriginalFileName.
type iocIndex struct {
	byKind [FileName + 1]map[string][]int // lower-cased value → indexes in the list
}

func newIOCIndex(iocs []IOC) iocIndex {
	var x iocIndex
	for i, ioc := range iocs {
		if x.byKind[ioc.Kind] == nil {
			x.byKind[ioc.Kind] = map[string][]int{}
		}
		k := strings.ToLower(ioc.Value)
		if ioc.Kind == Domain {
			k = strings.TrimSuffix(k, ".")
		}
		x.byKind[ioc.Kind][k] = append(x.byKind[ioc.Kind][k], i)
	}
	return x
}

// attribute appends to dst the indicators ev holds, in list order, each
// once.
func (x *iocIndex) attribute(dst []*IOC, iocs []IOC, ev *event.Event) []*IOC {
	var found []int
	look := func(kind Kind, v string) {
		if m := x.byKind[kind]; m != nil {
			found = append(found, m[strings.ToLower(v)]...)
		}
	}
	for i := range ev.Fields {
		f := &ev.Fields[i]
		text := f.Value.Text()
		switch {
		case slices.Contains(hashFields, f.Name):
			look(Hash, text)
		case slices.Contains(hashListFields, f.Name):
			for _, part := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '=' || r == ';' || r == ' ' }) {
				look(Hash, part)
			}
		case slices.Contains(ipFields, f.Name):
			look(IP, text)
			if rest, ok := strings.CutPrefix(strings.ToLower(text), "::ffff:"); ok {
				look(IP, rest)
			}
		case slices.Contains(domainFields, f.Name):
			d := strings.TrimSuffix(text, ".")
			for d != "" {
				look(Domain, d)
				_, d, _ = strings.Cut(d, ".")
			}
		case slices.Contains(pathFields, f.Name):
			look(FileName, text)
			if i := strings.LastIndexAny(text, `\/`); i >= 0 {
				look(FileName, text[i+1:])
			}
		case slices.Contains(fileNameFields, f.Name):
			look(FileName, text)
		}
	}
	slices.Sort(found)
	for _, i := range slices.Compact(found) {
		dst = append(dst, &iocs[i])
	}
	return dst
}
