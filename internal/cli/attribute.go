package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/attack"
	"github.com/spoor-hunt/spoor/internal/report"
)

// attributeFlags are the flags of `spoor attribute`.
type attributeFlags struct {
	techniques []string
	software   []string
	hints      []string
	texts      []string
	top        int
	json       bool
}

func newAttribute(env Env) *cobra.Command {
	var f attributeFlags
	cmd := &cobra.Command{
		Use:   "attribute --technique ID,... [--software ID|NAME,...] [--group-hint ID,...] [--seen TEXT...]",
		Short: "Rank ATT&CK groups by how much the evidence resembles their known activity",
		Long: `Attribute ranks the groups of MITRE ATT&CK by how well each explains the
observed techniques and software, and shows what the best candidates share
with the evidence (most distinctive first), what they are known for that was
not seen, and the runners-up.

Rare techniques weigh more than common ones, software more than techniques,
and what many reports document about a group more than what one does. An
observed sub-technique gives partial credit to groups known for its parent,
and the other way round. The score is the evidence's log-likelihood ratio in
bits against what an actor ATT&CK does not know would show, plus what a
classifier learned from ATT&CK's reports says of the evidence as a whole
(from about ten items on; less on fewer); the confidence
is a probability, calibrated on real reports held out of ATT&CK one at a
time (BENCHMARKS.md), shared with the alternative that the evidence is none
of these groups' (an unknown actor or unrelated activity), so that thin or
common evidence stays with it. Groups ATT&CK relates to a candidate (APT41
and Winnti Group) are shown beside it with their share. A resemblance is
not an attribution: actors share tools, and ATT&CK records only what has
been reported.

Techniques and software are ATT&CK IDs (any case; revoked IDs are replaced,
with a note); software may also be given by name or alias. Unknown items are
reported on stderr and left out. --seen gives what was observed as text (a
command line, a file path): software named in it is evidence, and so are the
artefacts of ATT&CK's procedure texts it shows ("net config Workstation":
a group documented doing exactly that), each weighted by how few groups'
procedures name it and shown with ATT&CK's sources; the commands one report
quotes a group running count once for it, as their strongest.

Exit status: 0 when groups were ranked (some items may have been unknown),
1 when no item of the evidence is known (as for spoor attack group), 2 for a
bad command line.`,
		Example: `  spoor attribute --technique T1059.003,T1003.002 --software S0154
  spoor attribute --technique T1195.002,T1542.003 --software "Winnti for Linux" --top 3
  spoor attribute --technique T1574.001 --group-hint G0096 --json
  spoor attribute --technique T1016 --seen 'cmd /c net config Workstation'`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if len(f.techniques)+len(f.software)+len(f.texts) == 0 {
				return &usageError{errors.New("give the evidence: --technique, --software and/or --seen")}
			}
			if f.top < 1 {
				return &usageError{errors.New("--top must be at least 1")}
			}
			return runAttribute(env, f)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.techniques, "technique", nil, "observed technique `IDs`, comma-separated (repeatable)")
	fl.StringSliceVar(&f.software, "software", nil, "observed software `IDs or names`, comma-separated (repeatable)")
	fl.StringSliceVar(&f.hints, "group-hint", nil, "groups the evidence itself points to, such as rule tags attack.g0096 (`IDs`)")
	fl.StringArrayVar(&f.texts, "seen", nil, "observed `TEXT`, such as a command line or a file path: software and documented procedures in it are evidence (repeatable)")
	fl.IntVar(&f.top, "top", 5, "show the best `N` candidates (the terminal shows at least 3)")
	fl.BoolVar(&f.json, "json", false, "print the attribution as JSON, in the shape of a hunt's attributions")
	return cmd
}

func runAttribute(env Env, f attributeFlags) error {
	kb, _, err := loadKB()
	if err != nil {
		return err
	}
	trim := func(ss []string) []string {
		var out []string
		for _, s := range ss {
			if s = strings.TrimSpace(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "attack.")); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	ev := attack.Evidence{Techniques: trim(f.techniques), GroupHints: trim(f.hints)}
	for _, s := range f.software {
		if s = strings.TrimSpace(s); s != "" {
			ev.Software = append(ev.Software, strings.TrimPrefix(s, "attack."))
		}
	}
	var seen []attack.SoftwareSeen
	var procs []attack.ProcedureSeen
	for _, text := range f.texts {
		for _, id := range kb.RecognizeSoftware(text, attack.TextFree) {
			if !slices.Contains(ev.Software, id) {
				ev.Software = append(ev.Software, id)
				sw, _, _ := kb.SoftwareByID(id)
				seen = append(seen, attack.SoftwareSeen{ID: id, Name: sw.Name, In: text})
			}
		}
		for _, a := range kb.RecognizeProcedures(text) {
			if !slices.Contains(ev.Procedures, a) {
				ev.Procedures = append(ev.Procedures, a)
				procs = append(procs, attack.ProcedureSeen{Artefact: a, In: text})
			}
		}
	}
	ins, resolved := kb.ResolveEvidence(ev)
	unknown := 0
	for _, in := range ins {
		switch {
		case in.ID == "":
			unknown++
			fmt.Fprintf(env.Stderr, "spoor: warning: %s %q is not in ATT&CK (%s, modified %s); left out\n", in.Kind, in.Given, kb.Domain, kb.Modified[:min(10, len(kb.Modified))])
		case in.Note != "":
			fmt.Fprintf(env.Stderr, "spoor: note: %s\n", in.Note)
		}
	}
	if len(resolved.Techniques)+len(resolved.Software)+len(resolved.Procedures) == 0 {
		what := "the technique or software given is not known to ATT&CK"
		switch n := len(ev.Techniques) + len(ev.Software); {
		case n == 0:
			// Only --seen, and it named nothing ATT&CK knows.
			what = "the text given names no ATT&CK software and no documented procedure"
		case n > 1:
			what = fmt.Sprintf("none of the %d techniques and software given is known to ATT&CK", n)
		}
		return &exitError{code: ExitFailure, err: fmt.Errorf("%s: nothing to attribute", what)}
	}
	n := f.top
	if !f.json {
		n = max(n, 3)
	}
	sum := attack.Summarize(kb, ev, n)
	sum.Evidence.Seen, sum.Evidence.Procedures = seen, procs
	if f.json {
		return writeJSON(env.Stdout, sum)
	}
	report.Attribution(env.Stdout, kb, resolved, sum)
	return nil
}
