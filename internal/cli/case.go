package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/internal/termsafe"
)

// caseFlags are the flags every case command takes.
type caseFlags struct {
	store  string
	tenant string
	json   bool
}

func newCase(env Env) *cobra.Command {
	f := &caseFlags{}
	cmd := &cobra.Command{
		Use:   "case",
		Short: "Read the cases of a case store",
		Long: `A case store keeps investigations: per tenant, cases, the hunts run for
each case, the detections they found and the operations built from them.
It is a folder (SQLite inside) or a PostgreSQL URL, given by --store or
$SPOOR_STORE. These commands read it; a store that does not exist is an
error (they never create one).

With --json, detections and operations are printed exactly as
"spoor hunt --json" wrote them, in an object with the same key
("detections", "operations").`,
	}
	pf := cmd.PersistentFlags()
	f.addStore(pf)
	pf.BoolVar(&f.json, "json", false, "print JSON")
	cmd.AddCommand(newCaseList(env, f), newCaseShow(env, f), newCaseDetections(env, f), newCaseOperations(env, f), newCaseExport(env, f))
	return cmd
}

// addStore adds the flags that name the store and the tenant.
func (f *caseFlags) addStore(fl *pflag.FlagSet) {
	fl.StringVar(&f.store, "store", os.Getenv("SPOOR_STORE"), "the case store: a `DIR` or a postgres:// URL (default $SPOOR_STORE)")
	fl.StringVar(&f.tenant, "tenant", store.DefaultTenant, "the `TENANT` whose cases to read")
}

// withStore gives run the store of f, opened for the command and closed after.
func (f *caseFlags) withStore(run func(cmd *cobra.Command, args []string, s *store.Store) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, err := f.open(cmd.Context())
		if err != nil {
			return err
		}
		defer s.Close()
		return run(cmd, args, s)
	}
}

// open opens the store of f for reading: a folder must hold a store.
func (f *caseFlags) open(ctx context.Context) (*store.Store, error) {
	if f.store == "" {
		return nil, &usageError{errors.New("no case store: give --store DIR|URL or set SPOOR_STORE")}
	}
	if !strings.Contains(f.store, "://") {
		if _, err := os.Stat(f.store + "/" + store.FileName); err != nil {
			return nil, fmt.Errorf("no case store in %s: %w", f.store, err)
		}
	}
	return store.Open(ctx, f.store)
}

func newCaseList(env Env, f *caseFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the cases of a tenant with their hunts and detections",
		Args:  cobra.NoArgs,
		RunE: f.withStore(func(cmd *cobra.Command, _ []string, s *store.Store) error {
			cases, err := s.Cases(cmd.Context(), f.tenant)
			if err != nil {
				return err
			}
			out := make([]caseJSON, 0, len(cases))
			for _, c := range cases {
				hunts, err := s.Hunts(cmd.Context(), f.tenant, c.Name)
				if err != nil {
					return err
				}
				out = append(out, newCaseJSON(c, hunts))
			}
			if f.json {
				return writeCaseJSON(env.Stdout, out)
			}
			tw := tabwriter.NewWriter(termsafe.NewWriter(env.Stdout), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CASE\tHUNTS\tDETECTIONS\tCREATED\tDESCRIPTION")
			for _, c := range out {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", c.Name, len(c.Hunts), c.Detections, c.Created.Format(time.DateTime), c.Description)
			}
			return tw.Flush()
		}),
	}
}

// caseJSON is a case as the case commands print it.
type caseJSON struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Created     time.Time `json:"created"`
	CreatedBy   string    `json:"created_by"`
	// Detections counts those of complete hunts.
	Detections int64      `json:"detections"`
	Hunts      []huntJSON `json:"hunts"`
}

type huntJSON struct {
	ID         int64           `json:"id"`
	State      string          `json:"state"`
	By         string          `json:"by"`
	Started    time.Time       `json:"started"`
	Finished   time.Time       `json:"finished,omitzero"`
	Paths      []string        `json:"paths"`
	Rules      string          `json:"rules,omitempty"`
	Detections int64           `json:"detections"`
	Summary    json.RawMessage `json:"summary,omitempty"`
}

func newCaseJSON(c store.Case, hunts []store.Hunt) caseJSON {
	out := caseJSON{Name: c.Name, Description: c.Description, Created: c.Created, CreatedBy: c.CreatedBy, Hunts: []huntJSON{}}
	for _, h := range hunts {
		if h.State == store.HuntComplete {
			out.Detections += h.Detections
		}
		out.Hunts = append(out.Hunts, huntJSON{ID: h.ID, State: string(h.State), By: h.By, Started: h.Started,
			Finished: h.Finished, Paths: h.Paths, Rules: h.Rules, Detections: h.Detections, Summary: h.Summary})
	}
	return out
}

func newCaseShow(env Env, f *caseFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show CASE",
		Short: "Show a case and its hunts",
		Args:  cobra.ExactArgs(1),
		RunE: f.withStore(func(cmd *cobra.Command, args []string, s *store.Store) error {
			c, err := s.Case(cmd.Context(), f.tenant, args[0])
			if err != nil {
				return err
			}
			hunts, err := s.Hunts(cmd.Context(), f.tenant, c.Name)
			if err != nil {
				return err
			}
			out := newCaseJSON(c, hunts)
			if f.json {
				return writeCaseJSON(env.Stdout, out)
			}
			fmt.Fprintf(env.Stdout, "case %s (tenant %s), created %s by %s\n", c.Name, f.tenant, c.Created.Format(time.DateTime), c.CreatedBy)
			if c.Description != "" {
				fmt.Fprintln(env.Stdout, c.Description)
			}
			fmt.Fprintf(env.Stdout, "%d detections in complete hunts\n\n", out.Detections)
			tw := tabwriter.NewWriter(termsafe.NewWriter(env.Stdout), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "HUNT\tSTATE\tBY\tSTARTED\tDETECTIONS\tPATHS")
			for _, h := range out.Hunts {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", h.ID, h.State, h.By, h.Started.Format(time.DateTime), h.Detections, strings.Join(h.Paths, " "))
			}
			return tw.Flush()
		}),
	}
}

func newCaseDetections(env Env, f *caseFlags) *cobra.Command {
	var (
		q               store.Query
		order, from, to string
	)
	cmd := &cobra.Command{
		Use:   "detections CASE",
		Short: "List the detections of a case, filtered",
		Long: `List the detections of a case's complete hunts (--unfinished adds those
of hunts still running or interrupted), oldest first, at most --limit.
Filters combine with AND; --level may be repeated (any of them).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch order {
			case "time":
				q.Order = store.ByTime
			case "time-desc":
				q.Order = store.ByTimeDesc
			case "level":
				q.Order = store.ByLevel
			default:
				return &usageError{fmt.Errorf("--order %q: want time, time-desc or level", order)}
			}
			for _, t := range []struct {
				flag, value string
				to          *time.Time
			}{{"from", from, &q.From}, {"to", to, &q.To}} {
				if t.value == "" {
					continue
				}
				v, err := time.Parse(time.RFC3339, t.value)
				if err != nil {
					return &usageError{fmt.Errorf("--%s: %w", t.flag, err)}
				}
				*t.to = v
			}
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			page, err := s.Detections(cmd.Context(), f.tenant, args[0], q)
			if errors.Is(err, store.ErrInvalid) {
				return &usageError{err}
			}
			if err != nil {
				return err
			}
			if f.json {
				raws := make([]json.RawMessage, len(page.Detections))
				for i, d := range page.Detections {
					raws[i] = d.JSON
				}
				return writeCaseJSON(env.Stdout, struct {
					Detections []json.RawMessage `json:"detections"`
					Next       string            `json:"next,omitempty"`
				}{raws, page.Next})
			}
			return writeDetectionLines(env.Stdout, page)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&q.Levels, "level", nil, "only detections of rules of `LEVEL` (repeatable)")
	fl.StringVar(&q.Rule, "rule", "", "only detections of the rule with `ID`")
	fl.StringVar(&q.Host, "host", "", "only detections on `COMPUTER`")
	fl.StringVar(&q.User, "user", "", "only detections of `ACCOUNT` (DOMAIN\\name)")
	fl.StringVar(&q.Tactic, "tactic", "", "only detections reaching ATT&CK `TACTIC` (execution)")
	fl.StringVar(&q.Technique, "technique", "", "only detections of `TECHNIQUE` (T1059 takes its sub-techniques)")
	fl.StringVar(&q.Text, "text", "", "only detections holding every word of `TEXT`")
	fl.StringVar(&from, "from", "", "only detections at or after `TIME` (RFC 3339)")
	fl.StringVar(&to, "to", "", "only detections before `TIME` (RFC 3339)")
	fl.BoolVar(&q.Unfinished, "unfinished", false, "also detections of hunts not complete")
	fl.StringVar(&order, "order", "time", "`ORDER`: time, time-desc or level")
	fl.IntVar(&q.Limit, "limit", store.DefaultLimit, "at most `N` detections")
	fl.StringVar(&q.After, "after", "", "the page after `CURSOR` (a previous --json's \"next\")")
	return cmd
}

// writeDetectionLines prints one line per detection: time, level, host,
// rule title.
func writeDetectionLines(w io.Writer, page store.DetectionPage) error {
	tw := tabwriter.NewWriter(termsafe.NewWriter(w), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tLEVEL\tCOMPUTER\tRULE")
	for _, d := range page.Detections {
		var v struct {
			Time     time.Time `json:"time"`
			Computer string    `json:"computer"`
			Rule     struct {
				Title string `json:"title"`
				Level string `json:"level"`
			} `json:"rule"`
		}
		if err := json.Unmarshal(d.JSON, &v); err != nil {
			return fmt.Errorf("detection %d: %w", d.ID, err)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", d.ID, v.Time.Format(time.DateTime), v.Rule.Level, v.Computer, v.Rule.Title)
	}
	if page.Next != "" {
		fmt.Fprintf(tw, "(more: --after %s)\n", page.Next)
	}
	return tw.Flush()
}

func newCaseOperations(env Env, f *caseFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "operations CASE",
		Short: "List the operations of a case, highest score first",
		Args:  cobra.ExactArgs(1),
		RunE: f.withStore(func(cmd *cobra.Command, args []string, s *store.Store) error {
			ops, err := s.Operations(cmd.Context(), f.tenant, args[0])
			if err != nil {
				return err
			}
			if f.json {
				raws := make([]json.RawMessage, len(ops))
				for i, o := range ops {
					raws[i] = o.JSON
				}
				return writeCaseJSON(env.Stdout, struct {
					Operations []json.RawMessage `json:"operations"`
				}{raws})
			}
			tw := tabwriter.NewWriter(termsafe.NewWriter(env.Stdout), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "OPERATION\tSEVERITY\tSCORE\tFIRST\tLAST\tHOSTS")
			for _, o := range ops {
				var v struct {
					Severity string    `json:"severity"`
					Score    float64   `json:"score"`
					First    time.Time `json:"first"`
					Last     time.Time `json:"last"`
					Hosts    []string  `json:"hosts"`
				}
				if err := json.Unmarshal(o.JSON, &v); err != nil {
					return fmt.Errorf("operation %s: %w", o.ID, err)
				}
				fmt.Fprintf(tw, "%s\t%s\t%g\t%s\t%s\t%s\n", o.ID, v.Severity, v.Score, v.First.Format(time.DateTime), v.Last.Format(time.DateTime), strings.Join(v.Hosts, " "))
			}
			return tw.Flush()
		}),
	}
}

// writeCaseJSON writes v as the hunt's JSON report does (indented, no HTML
// escaping), so stored detections print as the hunt printed them.
func writeCaseJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
