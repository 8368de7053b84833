package exposure

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// maxJewelsFile bounds the crown-jewels file read (it lists locations, not
// data).
const maxJewelsFile = 1 << 20

// Jewels are the locations that hold valuable data (--crown-jewels).
type Jewels struct {
	Entries []Jewel
}

// Jewel is one valuable location: a path glob (D:\Shares\CAD\**), a share
// (\\FS03\Engineering) or a host (FS03), with an optional label.
type Jewel struct {
	Path  string `yaml:"path"`
	Share string `yaml:"share"`
	Host  string `yaml:"host"`
	Label string `yaml:"label"`
}

// ErrJewels is wrapped by every error reading a crown-jewels file.
var ErrJewels = errors.New("crown jewels")

// LoadJewels reads a crown-jewels file: YAML (.yml, .yaml: a list of
// entries with path, share or host and an optional label, or a map with
// the list under `jewels`), or else lines, each a path glob, a share
// (\\host\share) or a host name, optionally followed by `|` and a label;
// blank lines and lines starting with # are skipped.
func LoadJewels(name string) (*Jewels, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJewels, err)
	}
	defer f.Close()
	buf := make([]byte, maxJewelsFile+1)
	n, _ := readFull(f, buf)
	if n > maxJewelsFile {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrJewels, name, maxJewelsFile)
	}
	return ParseJewels(name, buf[:n])
}

func readFull(f *os.File, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// ParseJewels parses a crown-jewels file's bytes; name says its format
// (by extension) and places errors.
func ParseJewels(name string, data []byte) (*Jewels, error) {
	j := &Jewels{}
	ext := strings.ToLower(filepath.Ext(name))
	if ext == ".yml" || ext == ".yaml" {
		var list []Jewel
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&list); err != nil {
			var doc struct {
				Jewels []Jewel `yaml:"jewels"`
			}
			dec := yaml.NewDecoder(bytes.NewReader(data))
			dec.KnownFields(true)
			if err2 := dec.Decode(&doc); err2 != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrJewels, name, err)
			}
			list = doc.Jewels
		}
		for i, e := range list {
			e.Path, e.Share, e.Host, e.Label = strings.TrimSpace(e.Path), strings.TrimSpace(e.Share), strings.TrimSpace(e.Host), strings.TrimSpace(e.Label)
			set := 0
			for _, v := range []string{e.Path, e.Share, e.Host} {
				if strings.TrimSpace(v) != "" {
					set++
				}
			}
			if set != 1 {
				return nil, fmt.Errorf("%w: %s: entry %d: give one of path, share or host", ErrJewels, name, i+1)
			}
			j.Entries = append(j.Entries, e)
		}
	} else {
		for n, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			pat, label, _ := strings.Cut(line, "|")
			pat, label = strings.TrimSpace(pat), strings.TrimSpace(label)
			if pat == "" {
				return nil, fmt.Errorf("%w: %s:%d: a label without a location", ErrJewels, name, n+1)
			}
			e := Jewel{Label: label}
			switch {
			case strings.HasPrefix(pat, `\\`) && strings.Count(strings.TrimRight(pat[2:], `\`), `\`) == 1 && !hasWildcard(pat):
				e.Share = pat
			case strings.ContainsAny(pat, `\/*?:`):
				e.Path = pat
			default:
				e.Host = pat
			}
			j.Entries = append(j.Entries, e)
		}
	}
	if len(j.Entries) == 0 {
		return nil, fmt.Errorf("%w: %s: no entries", ErrJewels, name)
	}
	return j, nil
}

// label is what an entry is called in the report.
func (e Jewel) label() string {
	if e.Label != "" {
		return e.Label
	}
	return e.Path + e.Share + e.Host
}

// matches says whether the item's path p on host touches the entry.
func (e Jewel) matches(host, p string) bool {
	lp := strings.ToLower(strings.ReplaceAll(p, "/", `\`))
	switch {
	case e.Host != "":
		h := strings.ToLower(shortHost(strings.TrimPrefix(e.Host, `\\`)))
		return strings.EqualFold(host, h) || uncHost(lp) == h
	case e.Share != "":
		sh := strings.ToLower(strings.TrimRight(e.Share, `\`))
		return lp == sh || strings.HasPrefix(lp, sh+`\`)
	default:
		pat := strings.ToLower(strings.ReplaceAll(e.Path, "/", `\`))
		if globMatch(pat, lp) {
			return true
		}
		// The folder itself, or a wildcard source under it.
		stem := strings.TrimSuffix(strings.TrimSuffix(pat, `**`), `\`)
		if !hasWildcard(stem) && (lp == stem || strings.HasPrefix(lp, stem+`\`)) {
			return true
		}
		// A path on an administrative share of the host matches the local glob.
		if _, local, ok := adminLocal(lp); ok {
			return globMatch(pat, strings.ToLower(local))
		}
		return false
	}
}

// inferred are the kinds of data spoor takes for valuable without a
// crown-jewels file, by extension.
var inferred = []struct {
	label string
	exts  []string
}{
	{"CAD drawings", []string{".dwg", ".dxf", ".dgn", ".step", ".stp", ".iges", ".igs", ".sldprt", ".sldasm", ".slddrw", ".catpart", ".catproduct", ".ipt", ".iam", ".3dm", ".prt"}},
	{"source code", []string{".c", ".cc", ".cpp", ".h", ".hpp", ".cs", ".java", ".go", ".py", ".js", ".ts", ".rs", ".sln", ".csproj", ".vcxproj", ".kt", ".swift", ".scala", ".rb", ".php"}},
	{"office documents", []string{".doc", ".docx", ".xls", ".xlsx", ".xlsm", ".ppt", ".pptx", ".pdf", ".vsd", ".vsdx", ".odt", ".ods", ".msg", ".pst"}},
	{"databases", []string{".mdb", ".accdb", ".sqlite", ".db", ".mdf", ".ldf", ".bak", ".dmp", ".sql"}},
	{"directory database", []string{"ntds.dit"}},
	{"registry hives with credentials", []string{`\config\sam`, `\config\security`, `\config\system`, `hklm\sam`, `hklm\security`, `hklm\system`}},
}

// markValuable sets each item's Valuable labels: the jewels' entries it
// touches; with none given (or none touched, for the inference), data
// inferred valuable by its type, and shares an archiver read from.
func markValuable(items []*item, jewels *Jewels) {
	for _, it := range items {
		paths := append(append(slices.Clone(it.Sources), it.Files...), it.Destination)
		if jewels != nil {
			for _, e := range jewels.Entries {
				for _, p := range paths {
					if p != "" && e.matches(it.Host, p) || e.Host != "" && p == it.Destination && e.matches(it.Host, "") {
						addLabel(it, e.label())
						break
					}
				}
			}
			continue
		}
		for _, p := range paths {
			l := strings.ToLower(p)
			for _, k := range inferred {
				for _, e := range k.exts {
					// A file by its name's end; a registry key (hklm\...) and its subkeys.
					named := strings.HasSuffix(l, e) || strings.HasPrefix(e, `hklm\`) && strings.HasPrefix(l, e+`\`)
					if named && !(it.Kind == result.ExposureStaged && p == it.Destination) {
						addLabel(it, k.label+" (inferred)")
					}
				}
			}
		}
		if it.Kind == result.ExposureStaged {
			for _, s := range it.Sources {
				if strings.HasPrefix(s, `\\`) {
					parts := strings.SplitN(s[2:], `\`, 3)
					if len(parts) >= 2 {
						addLabel(it, `share \\`+parts[0]+`\`+parts[1]+" read by an archiver (inferred)")
					}
				}
			}
		}
	}
}

// carryValuable passes each item's labels on to the later items linked to
// it: data flows forward, from a listing or copy to its archive and
// upload. items are in time order.
func carryValuable(items []*item) {
	for i, it := range items {
		for _, li := range it.Linked {
			if li < i {
				for _, l := range items[li].Valuable {
					addLabel(it, l)
				}
			}
		}
	}
}

func addLabel(it *item, l string) {
	if !slices.Contains(it.Valuable, l) {
		it.Valuable = append(it.Valuable, l)
	}
}

// raise raises op's score by 2 and its severity one level (at least high,
// at most critical) when an item touched an entry of the crown-jewels
// file, and says so in exp.Raised.
func raise(op *result.Operation, exp *result.Exposure) {
	if len(exp.CrownJewels) == 0 {
		return
	}
	before := op.Severity
	levels := sigma.Levels
	r := sigma.LevelRank(op.Severity) + 1
	if hi := sigma.LevelRank("high"); r < hi {
		r = hi
	}
	if r >= len(levels) {
		r = len(levels) - 1
	}
	op.Severity = levels[r]
	op.Score += 2
	sev := fmt.Sprintf("severity %s → %s", before, op.Severity)
	if before == op.Severity {
		sev = "severity " + before + " (the highest already)"
	}
	exp.Raised = fmt.Sprintf("touched crown jewels (%s): %s, score +2", strings.Join(exp.CrownJewels, ", "), sev)
}
