package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"

	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/intake"
	"github.com/spoor-hunt/spoor/internal/store"
)

// checkStore checks the flags of a hunt into a case: --store and --case go
// together, and the file and terminal outputs of a plain hunt do not
// apply (the case holds the result: spoor case reads it).
func (f *huntFlags) checkStore() error {
	if f.store == "" {
		if f.caseName != "" {
			return errors.New("--case needs --store DIR|URL")
		}
		return nil
	}
	if f.caseName == "" {
		return errors.New("--store needs --case NAME")
	}
	for _, o := range []struct {
		flag string
		set  bool
	}{{"--timeline", f.timeline != ""}, {"--html", f.html != ""}, {"--operations", f.operations != ""}, {"--json", f.json}, {"--fail-on", f.failOn != ""}, {"--events", f.events}} {
		if o.set {
			return fmt.Errorf("%s does not go with --store: the case holds the result (read it with spoor case)", o.flag)
		}
	}
	return nil
}

// StoreHuntMemory is the memory a hunt into a case aims to stay within
// (Env.LimitMemory): its detections go to the store, so what it holds is
// the rules, the entity index and the rebuild's refs; a soft limit below
// 256 MiB leaves room for what the Go runtime does not count (SQLite's
// own allocations, stacks).
const StoreHuntMemory = 200 << 20

// runHuntStore hunts paths into the case of f's store (see intake.Hunt) and
// says what it stored.
func runHuntStore(ctx context.Context, env Env, f huntFlags, opts hunt.Options, paths []string) error {
	if env.LimitMemory != nil {
		env.LimitMemory(StoreHuntMemory)
	}
	st, err := store.Open(ctx, f.store)
	if err != nil {
		return err
	}
	defer st.Close()
	actor := "cli"
	if u, err := user.Current(); err == nil && u.Username != "" {
		actor = u.Username
	}
	// The case's filters (false positives the console turned into Sigma
	// filters) apply to every hunt into it.
	var filters [][]byte
	switch fs, err := st.Filters(ctx, f.tenant, f.caseName); {
	case errors.Is(err, store.ErrNotFound): // a case (or tenant) made by this hunt
	case err != nil:
		return err
	default:
		for _, c := range fs {
			filters = append(filters, c.Body)
		}
	}
	dir, err := filterRules(filters)
	if err != nil {
		return err
	}
	if dir != "" {
		defer os.RemoveAll(dir)
		opts.Rules = append(slices.Clone(opts.Rules), dir)
	}
	prog := opts.Progress
	rep, err := intake.Hunt(ctx, st, f.tenant, f.caseName, actor, paths, intake.Options{Hunt: opts, RulesText: rulesText(opts)})
	if !f.quiet {
		if rep.TenantCreated {
			fmt.Fprintf(env.Stderr, "spoor: created tenant %q\n", f.tenant)
		}
		if rep.CaseCreated {
			fmt.Fprintf(env.Stderr, "spoor: created case %q\n", f.caseName)
		}
	}
	if ctx.Err() != nil {
		e := interrupted(ctx, prog, false)
		return fmt.Errorf("%w; the hunt is marked incomplete in case %q", e, f.caseName)
	}
	if err != nil {
		return err
	}
	res := rep.Result
	if rep.Oversize > 0 {
		fmt.Fprintf(env.Stderr, "spoor: warning: %s larger than the store takes (%d MiB) left out\n", plural64(rep.Oversize, "detection"), store.MaxDetectionSize>>20)
	}
	for _, x := range res.Rules.UnknownExcludes {
		fmt.Fprintf(env.Stderr, "spoor: warning: --exclude-rule %q names no rule loaded\n", x)
	}
	if !f.quiet {
		fmt.Fprintf(env.Stdout, "hunt %d of case %q: %s, %s of %s stored; %s; the case has %s\n",
			rep.Hunt.ID, f.caseName, rep.Hunt.State, plural64(rep.Hunt.Detections, "detection"),
			plural64(res.Evidence.Events, "event"), rulesLine(res, opts), plural(rep.Operations, "operation"))
	}
	named := 0
	for _, fl := range res.Evidence.Failed {
		if fl.Named {
			named++
		}
		if fl.Named || res.Evidence.Events == 0 {
			fmt.Fprintf(env.Stderr, "spoor: could not read %s: %s\n", fl.Name, fl.Error)
		}
	}
	switch {
	case res.Evidence.Logs == 0 && len(res.Evidence.Failed) == 0:
		return &exitError{ExitFailure, errors.New("no event logs found in the paths given")}
	case res.Evidence.Logs == 0:
		return &exitError{ExitFailure, errors.New("nothing could be read")}
	}
	if named > 0 {
		return unreadablePaths(named)
	}
	return nil
}

// rulesText describes the rule set a hunt asked for, for the store's
// record of it.
func rulesText(opts hunt.Options) string {
	s := fmt.Sprintf("builtin: %t, sigmahq: %t, noisy: %t", !opts.NoBuiltin, opts.SigmaHQ != nil, opts.Noisy)
	if len(opts.Rules) > 0 {
		s += fmt.Sprintf(", rules: %q", opts.Rules)
	}
	if opts.MinLevel != "" {
		s += ", min-level: " + opts.MinLevel
	}
	if len(opts.Statuses) > 0 {
		s += fmt.Sprintf(", status: %q", opts.Statuses)
	}
	if len(opts.Tags) > 0 {
		s += fmt.Sprintf(", tags: %q", opts.Tags)
	}
	if len(opts.Exclude) > 0 {
		s += fmt.Sprintf(", exclude: %q", opts.Exclude)
	}
	return s
}
