package rulepkg

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

// PackFolders are the folders of a SigmaHQ checkout whose rules Pack takes:
// the generic, emerging-threat, threat-hunting and compliance rules.
// rules-placeholder is left out: its rules need values for their
// placeholders (--placeholders), without which none compiles.
var PackFolders = []string{"rules", "rules-compliance", "rules-emerging-threats", "rules-threat-hunting"}

// PackInfo describes what Pack wrote.
type PackInfo struct {
	// Files is the number of rule files packed.
	Files int
	// Newest is the latest date or modified date of the rules packed
	// (YYYY-MM-DD): the date of the package.
	Newest string
	// Other counts the files left out because their logsource is of a
	// product spoor does not read (linux, macos, aws, ...); Placeholder
	// those left out because they use placeholders (|expand).
	Other, Placeholder int
}

// Pack writes a zip of the rule files under the PackFolders of the SigmaHQ
// checkout src that spoor can use: those of product windows or of no
// product, without placeholders. Files are stored unchanged under their
// path in the checkout (rules/windows/...), in lexical order, with the
// package's date as their time, so that the same checkout always gives the
// same bytes.
func Pack(w io.Writer, src string) (*PackInfo, error) {
	var files []string
	for _, dir := range PackFolders {
		root := filepath.Join(src, dir)
		found, err := sigma.RuleFiles(nil, root)
		files = append(files, found...)
		if errors.Is(err, fs.ErrNotExist) && missing(root) {
			continue // a checkout without that folder
		}
		if err != nil {
			return nil, err
		}
	}
	info := &PackInfo{}
	type member struct {
		name string
		data []byte
	}
	var kept []member
	now := time.Now()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(src, f)
		if err != nil {
			return nil, err
		}
		rel = filepath.ToSlash(rel)
		c := sigma.Parse(data, rel)
		switch {
		case bytes.Contains(data, []byte("|expand")):
			info.Placeholder++
			continue
		case !windowsOnly(c):
			info.Other++
			continue
		}
		for _, r := range c.Rules {
			info.Newest = newestDate(info.Newest, r, now)
		}
		kept = append(kept, member{rel, data})
	}
	slices.SortFunc(kept, func(a, b member) int { return strings.Compare(a.name, b.name) })
	when := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	if t, err := time.Parse(time.DateOnly, info.Newest); err == nil {
		when = t
	}
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	for _, m := range kept {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Deflate, Modified: when})
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write(m.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	info.Files = len(kept)
	if info.Files == 0 {
		return nil, fmt.Errorf("no rule files under %s in %s", strings.Join(PackFolders, ", "), src)
	}
	return info, nil
}

// missing reports whether the folder root is missing altogether (a checkout may
// lack a rules-* folder), as opposed to an error inside it.
func missing(root string) bool {
	_, err := os.Stat(root)
	return errors.Is(err, fs.ErrNotExist)
}

// windowsOnly reports whether every detection rule and filter of c is of
// product windows or of no product (correlations have no logsource).
func windowsOnly(c *sigma.Collection) bool {
	ok := func(ls sigma.Logsource) bool {
		return ls.Product == "" || strings.EqualFold(ls.Product, "windows")
	}
	for _, r := range c.Rules {
		if !ok(r.Logsource) {
			return false
		}
	}
	for _, f := range c.Filters {
		if !ok(f.Logsource) {
			return false
		}
	}
	return true
}

// dateRE matches a date as rules and versions write it: 2024-03-26 or
// 2024/03/26.
var dateRE = regexp.MustCompile(`20\d\d[-/]\d\d[-/]\d\d`)

// ruleDate returns the date in s as YYYY-MM-DD, or "" when s has none or
// it is no day of the calendar (2024-13-45).
func ruleDate(s string) string {
	d := strings.ReplaceAll(dateRE.FindString(s), "/", "-")
	if _, err := time.Parse(time.DateOnly, d); err != nil {
		return ""
	}
	return d
}

// newestDate returns the latest of cur and the date and modified date of
// r, but for a date after now's next day: one rule's typo (2099-01-01)
// would date its whole package, and a package dated in the future is
// newer than every package a later spoor embeds (Open).
func newestDate(cur string, r *sigma.Rule, now time.Time) string {
	limit := now.UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	for _, d := range [...]string{ruleDate(r.Date), ruleDate(r.Modified)} {
		if d <= limit {
			cur = max(cur, d)
		}
	}
	return cur
}

// Attribution is the notice that goes with the SigmaHQ rules spoor embeds:
// the Detection Rule License 1.1 asks that whoever shares the rules keep
// their authors' attribution (in every rule file, unchanged) and say where
// they come from and under which licence.
const Attribution = "SigmaHQ rules, https://github.com/SigmaHQ/sigma, by the SigmaHQ project and each rule's authors (named in the rule), under the Detection Rule License (DRL) 1.1, https://github.com/SigmaHQ/Detection-Rule-License"

// PackVersion is the version line of a package packed from a checkout: its
// date (the newest rule's), and the commit when known.
func PackVersion(newest, commit string) string {
	if commit == "" {
		return newest
	}
	return newest + " (" + commit + ")"
}
