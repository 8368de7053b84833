package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/spoor-hunt/spoor/internal/attack"
)

// Ref is an ATT&CK object named in JSON output.
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// RelatedGroup is a group ATT&CK relates to another but keeps apart.
type RelatedGroup struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Direction string `json:"direction"` // "mentions" or "mentioned by"
}

// GroupView is a group as `spoor attack group` shows it (also its --json
// output).
type GroupView struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Aliases     []string       `json:"aliases"`
	MatchedBy   string         `json:"matched_by"`
	Matched     string         `json:"matched"`
	Note        string         `json:"note,omitempty"`
	Deprecated  bool           `json:"deprecated,omitempty"`
	Related     []RelatedGroup `json:"related"`
	Techniques  []Ref          `json:"techniques"`
	Software    []Ref          `json:"software"`
	Description string         `json:"description"`
}

// TechniqueView is a technique as `spoor attack technique` shows it (also
// its --json output).
type TechniqueView struct {
	ID            string             `json:"id"`
	Name          string             `json:"name"`
	Note          string             `json:"note,omitempty"`
	Deprecated    bool               `json:"deprecated,omitempty"`
	Parent        *Ref               `json:"parent,omitempty"`
	SubTechniques []Ref              `json:"sub_techniques,omitempty"`
	Tactics       []string           `json:"tactics"`
	Platforms     []string           `json:"platforms"`
	Groups        []Ref              `json:"groups"`
	Detections    []attack.Detection `json:"detections"`
	Description   string             `json:"description"`
}

// Group writes a group for `spoor attack group`: its aliases, related
// groups, techniques by tactic, software and description.
func Group(w io.Writer, kb *attack.KB, g *attack.Group, out GroupView) {
	fmt.Fprintf(w, "%s (%s)", g.Name, g.ID)
	if g.Deprecated {
		fmt.Fprint(w, " [deprecated in ATT&CK]")
	}
	fmt.Fprintln(w)
	switch out.MatchedBy {
	case "alias":
		fmt.Fprintf(w, "  matched the alias %q\n", out.Matched)
	case "partial name":
		fmt.Fprintf(w, "  matched the name or alias %q\n", out.Matched)
	}
	if len(g.Aliases) > 0 {
		fmt.Fprintf(w, "  aliases: %s\n", strings.Join(g.Aliases, ", "))
	}
	if len(out.Related) > 0 {
		fmt.Fprintf(w, "  ATT&CK keeps %s apart from these related groups:\n", g.Name)
		for _, r := range out.Related {
			how := "named in " + g.Name + "'s description"
			if r.Direction == "mentioned by" {
				how = "its description names " + g.Name
			}
			fmt.Fprintf(w, "    %s (%s): %s\n", r.Name, r.ID, how)
		}
	}
	fmt.Fprintf(w, "  techniques (%d):\n", len(g.Techniques))
	for _, ta := range kb.Tactics {
		var line []string
		for _, id := range g.Techniques {
			if t, _, err := kb.Technique(id); err == nil && len(t.Tactics) > 0 && t.Tactics[0] == ta.ShortName {
				line = append(line, t.ID+" "+t.Name)
			}
		}
		if len(line) > 0 {
			fmt.Fprintf(w, "    %s:\n", ta.Name)
			wrapText(w, strings.Join(line, "; "), "      ", "      ", 100)
		}
	}
	fmt.Fprintf(w, "  software (%d):\n", len(out.Software))
	var sw []string
	for _, s := range out.Software {
		sw = append(sw, s.ID+" "+s.Name)
	}
	if len(sw) > 0 {
		wrapText(w, strings.Join(sw, "; "), "    ", "    ", 100)
	}
	if out.Description != "" {
		fmt.Fprintln(w)
		wrapText(w, out.Description, "  ", "  ", 100)
	}
}

// Technique writes a technique for `spoor attack technique`.
func Technique(w io.Writer, kb *attack.KB, t TechniqueView) {
	fmt.Fprintf(w, "%s %s", t.ID, t.Name)
	if t.Deprecated {
		fmt.Fprint(w, " [deprecated in ATT&CK]")
	}
	fmt.Fprintln(w)
	if t.Parent != nil {
		fmt.Fprintf(w, "  sub-technique of %s %s\n", t.Parent.ID, t.Parent.Name)
	}
	if len(t.SubTechniques) > 0 {
		var s []string
		for _, r := range t.SubTechniques {
			s = append(s, r.ID+" "+r.Name)
		}
		fmt.Fprintln(w, "  sub-techniques:")
		wrapText(w, strings.Join(s, "; "), "    ", "    ", 100)
	}
	var tactics []string
	for _, sn := range t.Tactics {
		if ta, err := kb.Tactic(sn); err == nil {
			tactics = append(tactics, ta.Name+" ("+ta.ID+")")
		}
	}
	fmt.Fprintf(w, "  tactics: %s\n", strings.Join(tactics, ", "))
	fmt.Fprintf(w, "  platforms: %s\n", strings.Join(t.Platforms, ", "))
	active := 0
	for _, g := range kb.Groups {
		if !g.Deprecated {
			active++
		}
	}
	fmt.Fprintf(w, "  used by %d of %d groups", len(t.Groups), active)
	if len(t.Groups) > 0 && len(t.Groups) <= 12 {
		var gs []string
		for _, g := range t.Groups {
			gs = append(gs, g.Name+" ("+g.ID+")")
		}
		fmt.Fprintf(w, ": %s", strings.Join(gs, ", "))
	}
	fmt.Fprintln(w)
	for _, d := range t.Detections {
		fmt.Fprintf(w, "  detection %s: %s\n", d.ID, d.Name)
		if len(d.LogSources) > 0 {
			wrapText(w, strings.Join(d.LogSources, "; "), "    logs: ", "          ", 100)
		}
	}
	if t.Description != "" {
		fmt.Fprintln(w)
		wrapText(w, t.Description, "  ", "  ", 100)
	}
}

// Attribution writes an attribution for `spoor attribute`: the evidence
// resolved, the candidates with what they share with it, and the unknown actor.
func Attribution(w io.Writer, kb *attack.KB, ev attack.Evidence, sum *attack.Summary) {
	fmt.Fprintf(w, "Evidence: %s, %d software", plural(len(ev.Techniques), "technique"), len(ev.Software))
	if len(ev.GroupHints) > 0 {
		fmt.Fprintf(w, ", hints %s", strings.Join(ev.GroupHints, ", "))
	}
	fmt.Fprintf(w, " (ATT&CK %s, modified %s)\n\n", kb.Domain, kb.Modified[:min(10, len(kb.Modified))])
	for i, c := range sum.Candidates {
		switch i {
		case 0:
			fmt.Fprintln(w, "The evidence most resembles:")
		case 1:
			fmt.Fprintln(w, "\nRunners-up:")
		}
		hint := ""
		if c.Hinted {
			hint = ", hinted"
		}
		fmt.Fprintf(w, "%2d. %s (%s)  confidence %.0f%%  score %+.1f bits%s\n", c.Rank, c.Name, c.ID, 100*c.Confidence, c.Score, hint)
		if len(c.Related) > 0 {
			var rs []string
			for _, r := range c.Related {
				rs = append(rs, fmt.Sprintf("%s (%s) %.0f%%", r.Name, r.ID, 100*r.Confidence))
			}
			fmt.Fprintf(w, "    related in ATT&CK: %s; together %.0f%%\n", strings.Join(rs, ", "), 100*c.ClusterConfidence)
		}
		var shared []string
		for _, e := range c.Shared {
			s := fmt.Sprintf("%s %s (%s)", e.ID, e.Name, plural(e.Groups, "group"))
			if e.Via != "" {
				s += " via " + e.Via
			}
			shared = append(shared, s)
		}
		if len(shared) > 0 {
			wrapText(w, strings.Join(shared, "; "), "    resembles it in: ", "        ", 100)
		} else {
			fmt.Fprintln(w, "    shares none of the evidence")
		}
		for _, p := range c.Procedures {
			wrapText(w, fmt.Sprintf("`%s`: documented (%s %s; %s; %s)%s", p.Text, p.Target, p.TargetName, plural(p.Groups, "group"), strings.Join(p.Sources, ", "), sameReport(p)),
				"    procedure: ", "        ", 100)
		}
		if len(c.Unexplained) > 0 {
			wrapText(w, strings.Join(c.Unexplained, ", "), "    not known for: ", "        ", 100)
		}
		if i == 0 && len(c.Unseen) > 0 {
			var us []string
			for _, u := range c.Unseen {
				us = append(us, fmt.Sprintf("%s %s (%s)", u.ID, u.Name, plural(u.Groups, "group")))
			}
			wrapText(w, strings.Join(us, "; "), "    known for, not seen: ", "        ", 100)
		}
	}
	fmt.Fprintf(w, "\nNone of ATT&CK's groups (an unknown actor, or unrelated activity): confidence %.0f%%\n", 100*sum.UnknownActor)
	fmt.Fprintln(w, "\nA resemblance, not an attribution: confidences are calibrated on real reports held out of")
	fmt.Fprintln(w, "ATT&CK; actors share tools and techniques, and ATT&CK records only what was reported.")
}

// wrapText writes s wrapped at width columns: the first line of each
// paragraph starts with first, the others with indent.
func wrapText(w io.Writer, s, first, indent string, width int) {
	for para := range strings.SplitSeq(s, "\n") {
		line, empty := first, true
		for word := range strings.FieldsSeq(para) {
			if !empty && len(line)+1+len(word) > width {
				fmt.Fprintln(w, line)
				line, empty = indent, true
			}
			if !empty {
				line += " "
			}
			line += word
			empty = false
		}
		if empty {
			line = strings.TrimRight(line, " ")
		}
		fmt.Fprintln(w, line)
	}
}

// sameReport notes a matched procedure that adds nothing of its own: a
// stronger one of a report it shares was counted (attack's
// procMatcher.counted).
func sameReport(p attack.ProcedureMatch) string {
	if p.Bits > 0 {
		return ""
	}
	return ", counted once with its report's other procedures"
}
