package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spoor-hunt/spoor/internal/attack"
	"github.com/spoor-hunt/spoor/internal/outfile"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/rulepkg"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/internal/stix"
	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/rules"
)

// stixFlags are the flags of a STIX export (hunt --stix, case export).
type stixFlags struct {
	file     string
	identity string
	tlp      string
	redact   string
}

func (f *stixFlags) add(fl *pflag.FlagSet, fileUsage string) {
	fl.StringVar(&f.file, "stix", "", fileUsage)
	fl.StringVar(&f.identity, "identity", "", "the `NAME` of the organisation that shares the STIX bundle (default spoor)")
	fl.StringVar(&f.tlp, "tlp", stix.DefaultTLP, "the TLP 2.0 `LEVEL` the STIX bundle is marked with: clear, green, amber, amber+strict or red")
	fl.StringVar(&f.redact, "redact", "", "replace `WHAT` by stable pseudonyms in the STIX bundle: hosts, users, ips (comma-separated)")
}

// options checks the flags; an error is a usage error.
func (f *stixFlags) options() (stix.Options, error) {
	var opts stix.Options
	if _, err := stix.TLPMarking(f.tlp); err != nil {
		return opts, fmt.Errorf("--tlp: %w", err)
	}
	red, err := stix.ParseRedact(f.redact)
	if err != nil {
		return opts, fmt.Errorf("--redact: %w", err)
	}
	opts.Identity, opts.TLP, opts.Redact = f.identity, f.tlp, red
	return opts, nil
}

// ruleSources are where the Sigma rules of an export are looked up: the
// built-in set, the SigmaHQ package and rule paths.
type ruleSources struct {
	builtin bool
	sigmaHQ *rulepkg.Package
	paths   []string
}

// yaml returns the rule files, as written, of the rules with the given
// ids: a file holding one rule document, whose id line names it. A file of
// several documents (a rule collection) is not shared: one indicator holds
// one rule. A correlation rule is followed by the rules it references
// (found by name or id), as one collection, so that it stands alone.
func (rs ruleSources) yaml(ids map[string]bool) (map[string][]byte, error) {
	byKey := map[string][]byte{} // every single-document rule by id and by name
	look := func(data []byte) {
		if bytes.Contains(data, []byte("\n---")) {
			return
		}
		var kept []byte
		for line := range strings.Lines(string(data)) {
			for _, key := range []string{"id:", "name:"} {
				if v, ok := strings.CutPrefix(line, key); ok {
					if kept == nil {
						kept = bytes.Clone(data)
					}
					v = strings.Trim(strings.TrimSpace(v), `"'`)
					if byKey[v] == nil {
						byKey[v] = kept
					}
				}
			}
		}
	}
	scan := func(fsys fs.FS, files []string) error {
		for _, name := range files {
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				return err
			}
			look(data)
		}
		return nil
	}
	if rs.builtin {
		files, err := sigma.RuleFiles(rules.FS, ".")
		if err != nil {
			return nil, err
		}
		if err := scan(rules.FS, files); err != nil {
			return nil, err
		}
	}
	if rs.sigmaHQ != nil {
		files, err := rs.sigmaHQ.Files()
		if err != nil {
			return nil, err
		}
		if err := scan(rs.sigmaHQ.FS, files); err != nil {
			return nil, err
		}
	}
	for _, p := range rs.paths {
		files, err := sigma.RuleFiles(nil, p)
		if err != nil {
			return nil, err
		}
		for _, name := range files {
			data, err := sigma.ReadFile(name)
			if err != nil {
				return nil, err
			}
			look(data)
		}
	}
	out := map[string][]byte{}
	for id := range ids {
		data := byKey[id]
		if data == nil {
			continue
		}
		c := sigma.Parse(data, id)
		for _, corr := range c.Correlations {
			for _, ref := range corr.Rules {
				base := byKey[ref]
				if base == nil {
					data = nil // a correlation without its rules cannot run
					break
				}
				data = append(append(bytes.Clone(data), "\n---\n"...), base...)
			}
		}
		if data != nil {
			out[id] = data
		}
	}
	return out, nil
}

// exportSTIX writes the bundle of ops to w; kb names ATT&CK's objects
// (nil: the installed or embedded knowledge base is loaded).
func exportSTIX(w io.Writer, ops []stix.Operation, opts stix.Options, rs ruleSources, kb *attack.KB) error {
	ids := map[string]bool{}
	for _, op := range ops {
		for _, d := range op.Detections {
			if d.Rule != nil {
				ids[d.Rule.ID] = true
			}
		}
	}
	yaml, err := rs.yaml(ids)
	if err != nil {
		return fmt.Errorf("read rules: %w", err)
	}
	opts.RuleYAML = func(id string) []byte { return yaml[id] }
	opts.ATTACK = kb
	if kb == nil {
		if kb, _, err := loadKB(); err == nil {
			opts.ATTACK = kb
		} else if kb, err := attack.Load(); err == nil {
			opts.ATTACK = kb
		}
	}
	b, err := stix.Export(ops, opts)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(b)
}

// resultOperations are the operations of a hunt with their detections.
func resultOperations(res *result.Result) []stix.Operation {
	ops := make([]stix.Operation, 0, len(res.Operations))
	for i := range res.Operations {
		op := &res.Operations[i]
		ds := make([]result.Detection, 0, len(op.Detections))
		for _, k := range op.Detections {
			if k >= 0 && k < len(res.Detections) {
				ds = append(ds, res.Detections[k])
			}
		}
		ops = append(ops, stix.Operation{Op: op, Detections: ds})
	}
	return ops
}

// caseOperations reads the operations of a case (one, with id) and their
// detections, which a stored operation names by store detection id; one
// operation's detections are held at a time while they are read.
func caseOperations(ctx context.Context, s *store.Store, tenant, caseName, id string) ([]stix.Operation, error) {
	var stored []store.Operation
	if id != "" {
		o, err := s.GetOperation(ctx, tenant, caseName, id)
		if err != nil {
			return nil, err
		}
		stored = []store.Operation{o}
	} else {
		var err error
		if stored, err = s.Operations(ctx, tenant, caseName); err != nil {
			return nil, err
		}
	}
	ops := make([]stix.Operation, len(stored))
	for i, o := range stored {
		op := new(result.Operation)
		if err := json.Unmarshal(o.JSON, op); err != nil {
			return nil, fmt.Errorf("operation %s: %w", o.ID, err)
		}
		ids := make([]int64, len(op.Detections))
		for j, k := range op.Detections {
			ids[j] = int64(k)
		}
		sds, err := s.DetectionsByID(ctx, tenant, caseName, ids)
		if err != nil {
			return nil, fmt.Errorf("operation %s: %w", o.ID, err)
		}
		ds := make([]result.Detection, len(sds))
		for j, sd := range sds {
			if err := json.Unmarshal(sd.JSON, &ds[j]); err != nil {
				return nil, fmt.Errorf("detection %d: %w", sd.ID, err)
			}
		}
		ops[i] = stix.Operation{Op: op, Detections: ds}
	}
	return ops, nil
}

// writeSTIXFile writes the bundle of ops to path, whole or not at all.
func writeSTIXFile(path string, ops []stix.Operation, opts stix.Options, rs ruleSources) error {
	f, err := outfile.Create(path)
	if err != nil {
		return err
	}
	defer f.Discard()
	if err := exportSTIX(f, ops, opts, rs, nil); err != nil {
		return err
	}
	return f.Commit()
}

func newCaseExport(env Env, f *caseFlags) *cobra.Command {
	var (
		sf    stixFlags
		opID  string
		paths []string
	)
	cmd := &cobra.Command{
		Use:   "export CASE --stix FILE",
		Short: "Share the operations of a case as a STIX 2.1 bundle",
		Long: `Export writes the operations of a case (or the one --operation names) as a
STIX 2.1 bundle, as "spoor hunt --stix" does: per operation a report, a
campaign attributed to the ATT&CK groups its evidence resembles (with
confidence), attack patterns, software, the Sigma rules that fired and the
atomic indicators of what it saw, with their observed data and sightings,
marked TLP 2.0 (--tlp). Identifiers are derived from the content: exporting
again does not duplicate anything downstream. The Sigma rules are looked up
in the built-in set, the SigmaHQ package and --rules. FILE "-" is the
standard output; a file is written whole or not at all.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sf.file == "" {
				return &usageError{errors.New("export needs --stix FILE")}
			}
			opts, err := sf.options()
			if err != nil {
				return &usageError{err}
			}
			pkg, err := rulepkg.Open()
			if err != nil {
				return err
			}
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			ops, err := caseOperations(cmd.Context(), s, f.tenant, args[0], opID)
			if err != nil {
				return err
			}
			if len(ops) == 0 {
				return fmt.Errorf("case %s has no operations to export", args[0])
			}
			rs := ruleSources{builtin: true, sigmaHQ: pkg, paths: paths}
			if sf.file == "-" {
				return exportSTIX(env.Stdout, ops, opts, rs, nil)
			}
			return writeSTIXFile(sf.file, ops, opts, rs)
		},
	}
	fl := cmd.Flags()
	sf.add(fl, "write the STIX 2.1 bundle to `FILE` (- for the standard output)")
	fl.StringVar(&opID, "operation", "", "only the operation with this `ID`")
	fl.StringArrayVar(&paths, "rules", nil, "also look up the Sigma rules that fired in `PATH` (file or folder; repeatable)")
	return cmd
}
