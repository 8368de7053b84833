package cli

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/attack"
	"github.com/spoor-hunt/spoor/internal/report"
	"github.com/spoor-hunt/spoor/internal/termsafe"
)

func newAttackGroup(env Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "group NAME|ID|ALIAS",
		Short: "Show an ATT&CK group by name, alias or ID",
		Long: `Group shows an ATT&CK group: its aliases, the groups ATT&CK relates to it but
keeps as separate groups, its techniques by tactic, its software and its
description. The query is matched case-insensitively against IDs (G0096;
revoked IDs lead to their replacement), names and aliases (BARIUM finds
APT41); when nothing matches exactly, against the start of words in names
and aliases (Winnti finds Winnti Group). When several groups match, they are
listed.

Exit status: 0 when a group was found, 1 when none was, 2 for a bad command
line.`,
		Example: `  spoor attack group BARIUM
  spoor attack group winnti
  spoor attack group G0045 --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			kb, _, err := loadKB()
			if err != nil {
				return err
			}
			q := strings.Join(args, " ")
			ms := kb.FindGroups(q)
			switch {
			case len(ms) == 0:
				return fmt.Errorf("no ATT&CK group is named %q (try: spoor attack search %s)", q, q)
			case len(ms) > 1:
				if asJSON {
					out := make([]report.GroupView, 0, len(ms))
					for _, m := range ms {
						out = append(out, groupOut(kb, m))
					}
					return writeJSON(env.Stdout, out)
				}
				fmt.Fprintf(env.Stdout, "%d groups match %q:\n", len(ms), q)
				tw := tabwriter.NewWriter(termsafe.NewWriter(env.Stdout), 0, 0, 2, ' ', 0)
				for _, m := range ms {
					fmt.Fprintf(tw, "  %s\t%s\t%s %q\n", m.Group.ID, m.Group.Name, m.By, m.Matched)
				}
				return tw.Flush()
			}
			g := groupOut(kb, ms[0])
			if g.Note != "" {
				fmt.Fprintf(env.Stderr, "spoor: note: %s\n", g.Note)
			}
			if asJSON {
				return writeJSON(env.Stdout, g)
			}
			report.Group(env.Stdout, kb, ms[0].Group, g)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func groupOut(kb *attack.KB, m attack.GroupMatch) report.GroupView {
	g := m.Group
	out := report.GroupView{ID: g.ID, Name: g.Name, Aliases: g.Aliases, MatchedBy: m.By, Matched: m.Matched,
		Note: m.Resolution.Note(), Deprecated: g.Deprecated, Description: kb.Description(g.ID),
		Related: []report.RelatedGroup{}, Techniques: []report.Ref{}, Software: []report.Ref{}}
	if out.Aliases == nil {
		out.Aliases = []string{}
	}
	for _, r := range kb.RelatedGroups(g) {
		out.Related = append(out.Related, report.RelatedGroup{ID: r.Group.ID, Name: r.Group.Name, Direction: r.Direction})
	}
	for _, id := range g.Techniques {
		if t, _, err := kb.Technique(id); err == nil {
			out.Techniques = append(out.Techniques, report.Ref{ID: t.ID, Name: t.Name})
		}
	}
	for _, id := range g.Software {
		if s, _, err := kb.SoftwareByID(id); err == nil {
			out.Software = append(out.Software, report.Ref{ID: s.ID, Name: s.Name})
		}
	}
	return out
}

func newAttackTechnique(env Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "technique ID",
		Short: "Show an ATT&CK technique or sub-technique by ID",
		Long: `Technique shows an ATT&CK technique or sub-technique (T1059, T1059.003, any
case): its tactics, platforms, parent or sub-techniques, the groups known to
use it, ATT&CK's detection strategies with the logs they read, and its
description. A revoked ID leads to its replacement, with a note on stderr.

Exit status: 0 when found, 1 when not, 2 for a bad command line.`,
		Example: `  spoor attack technique T1003.002
  spoor attack technique t1073   # revoked: shows its replacement`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			kb, _, err := loadKB()
			if err != nil {
				return err
			}
			t, res, err := kb.Technique(args[0])
			if err != nil {
				return fmt.Errorf("no ATT&CK technique has the ID %q (try: spoor attack search %s)", args[0], args[0])
			}
			out := report.TechniqueView{ID: t.ID, Name: t.Name, Note: res.Note(), Deprecated: t.Deprecated,
				Tactics: t.Tactics, Platforms: t.Platforms, Groups: []report.Ref{}, Detections: kb.Detections(t.ID),
				Description: kb.Description(t.ID)}
			if out.Note != "" {
				fmt.Fprintf(env.Stderr, "spoor: note: %s\n", out.Note)
			}
			if p, _, err := kb.Technique(t.Parent()); err == nil {
				out.Parent = &report.Ref{ID: p.ID, Name: p.Name}
			}
			for _, id := range kb.SubTechniques(t.ID) {
				if s, _, err := kb.Technique(id); err == nil {
					out.SubTechniques = append(out.SubTechniques, report.Ref{ID: s.ID, Name: s.Name})
				}
			}
			for _, id := range kb.GroupsUsingTechnique(t.ID) {
				if g, _, err := kb.Group(id); err == nil {
					out.Groups = append(out.Groups, report.Ref{ID: g.ID, Name: g.Name})
				}
			}
			if out.Detections == nil {
				out.Detections = []attack.Detection{}
			}
			if asJSON {
				return writeJSON(env.Stdout, out)
			}
			report.Technique(env.Stdout, kb, out)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// hitJSON is one element of the --json output of `spoor attack search`.
type hitJSON struct {
	Kind       string `json:"kind"`
	ID         string `json:"id"`
	Name       string `json:"name"`
	Field      string `json:"field"`
	Snippet    string `json:"snippet,omitempty"`
	Deprecated bool   `json:"deprecated,omitempty"`
}

func newAttackSearch(env Env) *cobra.Command {
	var (
		asJSON bool
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "search TEXT...",
		Short: "Search ATT&CK names, aliases and descriptions",
		Long: `Search finds tactics, techniques, groups, software and campaigns whose ID,
name, aliases or description contain every word of TEXT, whatever the case.
Matches in IDs, names and aliases come first, then matches in descriptions,
shown with the text around them.

Exit status: 0 when something was found, 1 when nothing was, 2 for a bad
command line.`,
		Example: `  spoor attack search lsass
  spoor attack search "dll side-loading" --limit 5`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if limit < 0 {
				return &usageError{errors.New("--limit must not be negative")}
			}
			q := strings.Join(args, " ")
			if strings.TrimSpace(q) == "" {
				return &usageError{errors.New("search needs some TEXT, not only spaces")}
			}
			kb, _, err := loadKB()
			if err != nil {
				return err
			}
			hits := kb.Search(q, limit)
			if len(hits) == 0 {
				return fmt.Errorf("nothing in ATT&CK matches %q", q)
			}
			out := make([]hitJSON, 0, len(hits))
			for _, h := range hits {
				out = append(out, hitJSON{Kind: h.Kind.String(), ID: h.ID, Name: h.Name, Field: h.Field, Snippet: h.Snippet, Deprecated: h.Deprecated})
			}
			if asJSON {
				return writeJSON(env.Stdout, out)
			}
			tw := tabwriter.NewWriter(termsafe.NewWriter(env.Stdout), 0, 0, 2, ' ', 0)
			for _, h := range out {
				name := h.Name
				if h.Deprecated {
					name += " [deprecated]"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Kind, h.ID, name, h.Snippet)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	cmd.Flags().IntVar(&limit, "limit", 25, "show at most `N` results (0: all)")
	return cmd
}
