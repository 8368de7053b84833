package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// recording is one Windows recording of Security-Datasets' atomic folder
// as its metadata file describes it: the file and the ATT&CK techniques
// it is labelled with.
type recording struct {
	id, file   string
	techniques []string // T1003.001, or T1003 for a technique without sub-technique
}

// metadata is what techniques reads of a _metadata/*.yaml file.
type metadata struct {
	ID       string   `yaml:"id"`
	Platform []string `yaml:"platform"`
	Mappings []struct {
		Technique string `yaml:"technique"`
		Sub       string `yaml:"sub-technique"`
	} `yaml:"attack_mappings"`
	Files []struct {
		Link string `yaml:"link"`
	} `yaml:"files"`
}

// recordings reads the metadata of the Windows recordings under dir
// (datasets/atomic) and finds each one's file by its name.
func recordings(dir string) ([]recording, error) {
	local := map[string]string{} // file name -> path
	err := filepath.WalkDir(filepath.Join(dir, "windows"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			local[d.Name()] = p
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	metas, err := filepath.Glob(filepath.Join(dir, "_metadata", "*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []recording
	for _, m := range metas {
		b, err := os.ReadFile(m)
		if err != nil {
			return nil, err
		}
		var md metadata
		if err := yaml.Unmarshal(b, &md); err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		if !slices.ContainsFunc(md.Platform, func(p string) bool { return strings.EqualFold(p, "windows") }) || len(md.Mappings) == 0 {
			continue
		}
		r := recording{id: md.ID}
		for _, mp := range md.Mappings {
			t := strings.ToUpper(strings.TrimSpace(mp.Technique))
			if s := strings.TrimSpace(mp.Sub); s != "" {
				t += "." + s
			}
			if t != "" && !slices.Contains(r.techniques, t) {
				r.techniques = append(r.techniques, t)
			}
		}
		for _, f := range md.Files {
			if p, ok := local[path.Base(f.Link)]; ok {
				r.file = p
				break
			}
		}
		if r.file != "" && len(r.techniques) > 0 {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b recording) int { return strings.Compare(a.file, b.file) })
	return out, nil
}

// covers reports whether a rule's tags name a labelled technique: the same
// ID, a sub-technique of a labelled technique, or the parent of a labelled
// sub-technique.
func covers(tags, labels []string) bool {
	for _, tag := range tags {
		t, ok := strings.CutPrefix(strings.ToUpper(tag), "ATTACK.")
		if !ok || !strings.HasPrefix(t, "T") {
			continue
		}
		for _, l := range labels {
			if t == l || strings.HasPrefix(t, l+".") || strings.HasPrefix(l, t+".") {
				return true
			}
		}
	}
	return false
}

// techniques hunts each labelled Windows recording of Security-Datasets
// and counts those with a detection whose rule names one of the
// recording's techniques. The rules were not written against these
// labels: a check held out from the tactic folders.
func techniques(w io.Writer, spoor, dir string, args []string) error {
	fl := flag.NewFlagSet("techniques", flag.ExitOnError)
	files := fl.String("files", "", "write every recording with the rules that caught it to `FILE`")
	fl.Parse(args)
	recs, err := recordings(dir)
	if err != nil {
		return err
	}
	var list strings.Builder
	caught := 0
	for i, r := range recs {
		fmt.Fprintf(os.Stderr, "\r%d/%d", i+1, len(recs))
		res, err := hunt(spoor, r.file, fl.Args())
		if err != nil {
			return err
		}
		var by []string
		for _, d := range res.Detections {
			if covers(d.Rule.Tags, r.techniques) && !slices.Contains(by, d.Rule.Title) {
				by = append(by, d.Rule.Title)
			}
		}
		rel, _ := filepath.Rel(dir, r.file)
		if len(by) > 0 {
			caught++
			fmt.Fprintf(&list, "- `%s` (%s): %s\n", rel, strings.Join(r.techniques, ", "), strings.Join(by, "; "))
		} else {
			fmt.Fprintf(&list, "- `%s` (%s): **missed**\n", rel, strings.Join(r.techniques, ", "))
		}
	}
	fmt.Fprintln(os.Stderr)
	fmt.Fprintf(w, "%d of %d labelled Windows recordings (%s) yield a detection naming a labelled technique\n", caught, len(recs), pct(caught, len(recs)))
	if *files != "" {
		return os.WriteFile(*files, []byte("# Labelled techniques of Security-Datasets' Windows recordings\n\n"+list.String()), 0o644)
	}
	return nil
}
