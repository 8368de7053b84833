package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/rulepkg"
	"github.com/spoor-hunt/spoor/internal/ruleset"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/internal/termsafe"
)

// rulesListFlags are the flags of `spoor rules list`.
type rulesListFlags struct {
	level     string
	tags      []string
	logsource string
	status    []string
	json      bool
	noSigmaHQ bool
}

func newRulesList(env Env) *cobra.Command {
	var f rulesListFlags
	cmd := &cobra.Command{
		Use:   "list [PATH...]",
		Short: "List rules with their level, status, logsource and ATT&CK tags",
		Long: `List prints one line per rule: id, level, status, logsource
(product/category/service), ATT&CK tags (without the "attack." prefix) and
title. Without PATH it lists the rules a hunt uses by default: the built-in
rules, then the SigmaHQ rules (embedded in spoor, or the package "spoor
rules update" installed when it is newer; --no-sigmahq leaves them out),
with their version, licence and attribution at the end (on stderr with
--json, where each rule has a "source" and the SigmaHQ rules a hunt leaves
out as too noisy are marked "noisy"). A PATH is a rule file or a folder
walked for *.yml and *.yaml (test files, *.test.yml, are left out).
Correlation rules and filters are listed too.

Filters combine with AND; the values of a repeated flag with OR:
  --level L        rules of level L or more severe
                   (informational < low < medium < high < critical)
  --tag T          a tag starting with T, such as attack.t1003 (which takes
                   attack.t1003.001 too) or attack.credential-access; case,
                   and "_" against "-", do not matter; "attack." may be left
                   out
  --logsource S    product/category/service parts, each equal to one of
                   the rule's (windows/process_creation, windows/security,
                   process_creation), or key=value pairs separated by
                   commas (category=process_creation,product=windows)
  --status S       the status (stable, test, experimental, deprecated,
                   unsupported)

Rules that cannot be loaded are not listed; their number is reported on
stderr ("spoor rules lint" says why).

Exit status: 0 when the rules were listed, 1 when a PATH could not be read,
2 for a bad command line.`,
		Example: `  # The built-in rules, high and critical only
  spoor rules list --level high

  # Credential dumping rules of a SigmaHQ clone, for process creation
  spoor rules list --tag attack.t1003 --logsource windows/process_creation sigma/rules

  # As JSON, for jq
  spoor rules list --json | jq -r '.[].id'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			filter, err := f.filter()
			if err != nil {
				return &usageError{err}
			}
			return runRulesList(env, f, filter, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.level, "level", "", "only rules of at least `LEVEL`")
	fl.StringArrayVar(&f.tags, "tag", nil, "only rules with a tag starting with `TAG` (repeatable)")
	fl.StringVar(&f.logsource, "logsource", "", "only rules of logsource `SPEC` (windows/process_creation, category=process_creation)")
	fl.StringArrayVar(&f.status, "status", nil, "only rules of `STATUS` (repeatable)")
	fl.BoolVar(&f.json, "json", false, "print a JSON array instead of a table")
	fl.BoolVar(&f.noSigmaHQ, "no-sigmahq", false, "without PATH: list the built-in rules alone")
	return cmd
}

// ruleRow is one listed rule, correlation or filter; its JSON form is the
// output of --json.
type ruleRow struct {
	ID        string         `json:"id"`
	Title     string         `json:"title"`
	Kind      string         `json:"kind"` // rule, correlation or filter
	Level     string         `json:"level,omitempty"`
	Status    string         `json:"status,omitempty"`
	Logsource *logsourceJSON `json:"logsource,omitempty"`
	// Correlation is the correlation type of a correlation rule.
	Correlation string   `json:"correlation,omitempty"`
	Tags        []string `json:"tags"`
	File        string   `json:"file"`
	Line        int      `json:"line"`
	// Source is "builtin" or "sigmahq" when no PATH is given.
	Source string `json:"source,omitempty"`
	// Noisy marks the SigmaHQ rules a default hunt leaves out.
	Noisy bool `json:"noisy,omitempty"`

	meta *sigma.Meta // what the filter selects by
}

type logsourceJSON struct {
	Product  string `json:"product,omitempty"`
	Category string `json:"category,omitempty"`
	Service  string `json:"service,omitempty"`
}

// listFilter is the parsed filter flags of `spoor rules list`.
type listFilter struct {
	// rules selects by level, status and tags, as a hunt does.
	rules *ruleset.Filter
	// logsource: each term must hold. A term with a key compares that
	// key; a term without compares any of product, category, service.
	logsource []lsTerm
}

type lsTerm struct{ key, value string }

// filter parses the flags.
func (f *rulesListFlags) filter() (*listFilter, error) {
	sel := ruleset.Selection{MinLevel: f.level, Tags: f.tags, KeepRetired: true}
	if f.level != "" && sigma.LevelRank(f.level) < 0 {
		return nil, fmt.Errorf("--level %q: want one of %s", f.level, strings.Join(sigma.Levels, ", "))
	}
	for _, t := range f.tags {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("--tag: empty tag")
		}
	}
	for _, s := range f.status {
		s = strings.ToLower(s)
		if !slices.Contains(ruleset.Statuses, s) {
			return nil, fmt.Errorf("--status %q: want one of %s", s, strings.Join(ruleset.Statuses, ", "))
		}
		sel.Statuses = append(sel.Statuses, s)
	}
	rules, err := ruleset.NewFilter(sel)
	if err != nil {
		return nil, err
	}
	lf := &listFilter{rules: rules}
	if f.logsource != "" {
		for term := range strings.SplitSeq(strings.ToLower(f.logsource), ",") {
			if k, v, ok := strings.Cut(term, "="); ok {
				k, v = strings.TrimSpace(k), strings.TrimSpace(v)
				if k != "product" && k != "category" && k != "service" || v == "" {
					return nil, fmt.Errorf("--logsource %q: want product=, category= or service= with a value", term)
				}
				lf.logsource = append(lf.logsource, lsTerm{k, v})
				continue
			}
			for part := range strings.SplitSeq(term, "/") {
				if part = strings.TrimSpace(part); part == "" {
					return nil, fmt.Errorf("--logsource %q: empty part", f.logsource)
				}
				lf.logsource = append(lf.logsource, lsTerm{"", part})
			}
		}
	}
	return lf, nil
}

// match reports whether r passes the filter.
func (lf *listFilter) match(r *ruleRow) bool {
	if !lf.rules.Keep(r.meta) {
		return false
	}
	for _, t := range lf.logsource {
		ls := r.Logsource
		if ls == nil {
			return false
		}
		p, c, s := strings.ToLower(ls.Product), strings.ToLower(ls.Category), strings.ToLower(ls.Service)
		switch t.key {
		case "product":
			if p != t.value {
				return false
			}
		case "category":
			if c != t.value {
				return false
			}
		case "service":
			if s != t.value {
				return false
			}
		default:
			if t.value != p && t.value != c && t.value != s {
				return false
			}
		}
	}
	return true
}

// rows returns the rules, correlations and filters of s in file order.
func rows(s *ruleset.Set) []*ruleRow {
	var out []*ruleRow
	row := func(kind string, m *sigma.Meta) *ruleRow {
		r := &ruleRow{ID: m.ID, Title: m.Title, Kind: kind, Level: m.Level, Status: m.Status,
			Tags: m.Tags, File: m.Pos.File, Line: m.Pos.Line, meta: m}
		if r.Tags == nil {
			r.Tags = []string{}
		}
		out = append(out, r)
		return r
	}
	ls := func(l sigma.Logsource) *logsourceJSON {
		return &logsourceJSON{Product: l.Product, Category: l.Category, Service: l.Service}
	}
	for _, r := range s.Rules {
		row("rule", &r.Meta).Logsource = ls(r.Logsource)
	}
	for _, c := range s.Correlations {
		row("correlation", &c.Meta).Correlation = string(c.Type)
	}
	for _, f := range s.Filters {
		row("filter", &f.Meta).Logsource = ls(f.Logsource)
	}
	slices.SortStableFunc(out, func(a, b *ruleRow) int {
		if a.File != b.File {
			return strings.Compare(a.File, b.File)
		}
		return a.Line - b.Line
	})
	return out
}

func runRulesList(env Env, f rulesListFlags, filter *listFilter, paths []string) error {
	set, loadErr := loadRules(paths)
	all := rows(set)
	var pkg *rulepkg.Package
	if len(paths) == 0 && !f.noSigmaHQ {
		for _, r := range all {
			r.Source = "builtin"
		}
		var err error
		if pkg, err = rulepkg.Open(); err != nil {
			return err
		}
		files, err := pkg.Files()
		if err != nil {
			return fmt.Errorf("%s: %w", pkg.Name(), err)
		}
		pset, err := ruleset.LoadFSFiles(pkg.FS, files)
		if err != nil {
			return fmt.Errorf("%s: %w", pkg.Name(), err)
		}
		for _, r := range rows(pset) {
			r.Source, r.Noisy = "sigmahq", pkg.Noisy(r.ID)
			all = append(all, r)
		}
		set.Errors = append(set.Errors, pset.Errors...)
	}
	var list []*ruleRow
	for _, r := range all {
		if filter.match(r) {
			list = append(list, r)
		}
	}
	if f.json {
		if list == nil {
			list = []*ruleRow{}
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(list); err != nil {
			return err
		}
	} else {
		_, width := env.stdoutIsTerminal()
		if err := writeRuleTable(env.Stdout, list, width); err != nil {
			return err
		}
	}
	if n := loadFailures(set); n > 0 {
		fmt.Fprintf(env.Stderr, "spoor: %s could not be loaded (see spoor rules lint)\n", plural(n, "rule document"))
	}
	if pkg != nil {
		out := env.Stdout
		if f.json {
			out = env.Stderr
		}
		fmt.Fprintf(out, "\n%s\n", sigmaHQLine(pkg))
	}
	if loadErr != nil {
		return loadErr
	}
	return nil
}

// loadFailures counts the documents the loader rejected.
func loadFailures(s *ruleset.Set) int {
	n := 0
	for _, e := range s.Errors {
		if !e.Warning {
			n++
		}
	}
	return n
}

// writeRuleTable writes rows as aligned columns. When width is not 0 (a
// terminal), titles are cut to fit it.
func writeRuleTable(w io.Writer, list []*ruleRow, width int) error {
	type line struct{ id, level, status, ls, tags, title string }
	lines := []line{{"ID", "LEVEL", "STATUS", "LOGSOURCE", "ATT&CK", "TITLE"}}
	for _, r := range list {
		l := line{id: r.ID, level: r.Level, status: r.Status, title: r.Title}
		switch {
		case r.Correlation != "":
			l.ls = "correlation:" + r.Correlation
		case r.Logsource != nil:
			var parts []string
			for _, p := range []string{r.Logsource.Product, r.Logsource.Category, r.Logsource.Service} {
				if p != "" {
					parts = append(parts, p)
				}
			}
			l.ls = strings.Join(parts, "/")
			if r.Kind == "filter" {
				l.ls = "filter:" + l.ls
			}
		}
		var tags []string
		for _, t := range r.Tags {
			if rest, ok := strings.CutPrefix(strings.ToLower(t), "attack."); ok {
				tags = append(tags, rest)
			}
		}
		l.tags = strings.Join(tags, ",")
		for _, p := range []*string{&l.id, &l.level, &l.status, &l.ls, &l.tags} {
			if *p == "" {
				*p = "-"
			}
		}
		lines = append(lines, l)
	}
	// Cut titles to the terminal's width: measure the other columns first.
	if width > 0 {
		var wid [5]int
		for _, l := range lines {
			for i, s := range []string{l.id, l.level, l.status, l.ls, l.tags} {
				wid[i] = max(wid[i], len(s))
			}
		}
		used := 0
		for _, n := range wid {
			used += n + 2
		}
		room := max(width-used-1, 20)
		for i := range lines {
			if r := []rune(lines[i].title); len(r) > room {
				lines[i].title = string(r[:room-1]) + "…"
			}
		}
	}
	tw := tabwriter.NewWriter(termsafe.NewWriter(w), 0, 0, 2, ' ', 0)
	for _, l := range lines {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.id, l.level, l.status, l.ls, l.tags, l.title)
	}
	return tw.Flush()
}

// sigmaHQLine describes the SigmaHQ package a hunt uses: which, how many
// files, why it was chosen, and the licence and attribution its rules are
// shared under.
func sigmaHQLine(pkg *rulepkg.Package) string {
	s := fmt.Sprintf("SigmaHQ rules: %s, %s", pkg.Name(), plural(pkg.Info.Files, "rule file"))
	if pkg.Note != "" {
		s += " (" + pkg.Note + ")"
	}
	return s + "\n" + rulepkg.Attribution
}
