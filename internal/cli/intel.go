package cli

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/outfile"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/internal/source"
	"github.com/spoor-hunt/spoor/internal/stix"
	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/internal/taxii"
	"github.com/spoor-hunt/spoor/internal/termsafe"
)

func newIntel(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "intel",
		Short: "Take in the intelligence partners share (STIX 2.1)",
	}
	cmd.AddCommand(newIntelImport(env))
	return cmd
}

type intelFlags struct {
	caseFlags
	caseName  string
	sightings string
	identity  string
	tlp       string
	redact    string
	workers   int
	// A TAXII-URL's credentials and the CA its server's certificate is
	// checked against.
	taxiiUser, taxiiCA string
}

func newIntelImport(env Env) *cobra.Command {
	f := &intelFlags{}
	cmd := &cobra.Command{
		Use:   "import FILE|TAXII-URL --case CASE",
		Short: "Import a STIX 2.1 bundle's indicators and hunt a case's evidence for them",
		Long: `Import reads the indicators of a STIX 2.1 bundle (a partner's, a CERT's),
or of a TAXII 2.1 collection: TAXII-URL is its objects URL
(https://HOST/ROOT/collections/ID/objects/, its filters kept), read page by
page (at most 256 MiB in all and 1000 pages), with --taxii-user and the password in
$SPOOR_TAXII_PASSWORD (HTTP basic), or the token in $SPOOR_TAXII_TOKEN
(Authorization: Bearer), sent only over https:// (or plain http:// to this
machine); --taxii-ca trusts a server's own certificate.
Of what is read:
Sigma indicators (pattern_type sigma) become rules, STIX patterns become
matchers over the objects Windows events show (files and hashes, process
command lines, addresses, domains, connections, registry keys, scheduled
tasks, named pipes, accounts). An indicator that cannot apply to Windows
events (e-mail, certificates, file sizes...) is listed with the reason and
left out.

The case's evidence is then hunted again for them: the evidence paths its
hunts recorded, read anew (the store keeps detections, not events). When
none of those paths can be read on this machine, the detections the case
stored are matched instead, which sees only the events that were
detections, and only their kept fields: the output says which was hunted.

Each indicator seen is a sighting: listed, recorded in the case's audit
log (action intel.sighting), and with --sightings written as a STIX bundle
of the indicators and their sightings, to send back to whoever shared them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.caseName == "" {
				return &usageError{errors.New("import needs --case CASE")}
			}
			if _, err := stix.TLPMarking(f.tlp); err != nil {
				return &usageError{fmt.Errorf("--tlp: %w", err)}
			}
			red, err := stix.ParseRedact(f.redact)
			if err != nil {
				return &usageError{fmt.Errorf("--redact: %w", err)}
			}
			if f.workers < 1 {
				return &usageError{fmt.Errorf("--workers must be at least 1, not %d", f.workers)}
			}
			return runIntelImport(cmd.Context(), env, f, red, args[0])
		},
	}
	fl := cmd.Flags()
	f.addStore(fl)
	fl.StringVar(&f.caseName, "case", "", "the `CASE` whose evidence to hunt")
	fl.StringVar(&f.sightings, "sightings", "", "write the indicators seen and their sightings as a STIX 2.1 bundle to `FILE`")
	fl.StringVar(&f.identity, "identity", "", "the `NAME` of the organisation that reports the sightings (default spoor)")
	fl.StringVar(&f.tlp, "tlp", stix.DefaultTLP, "the TLP 2.0 `LEVEL` of the sightings bundle")
	fl.StringVar(&f.redact, "redact", "", "replace `WHAT` by pseudonyms in the sightings bundle: hosts")
	fl.IntVar(&f.workers, "workers", runtime.NumCPU(), "files read in parallel")
	fl.StringVar(&f.taxiiUser, "taxii-user", "", "a TAXII-URL's user `NAME` (HTTP basic; the password in $SPOOR_TAXII_PASSWORD)")
	fl.StringVar(&f.taxiiCA, "taxii-ca", "", "trust the TAXII server's certificate issued by (or being) the PEM `FILE`")
	return cmd
}

// TAXII credentials come from the environment, never the command line,
// where other users of the machine could read them.
const (
	taxiiPasswordEnv = "SPOOR_TAXII_PASSWORD"
	taxiiTokenEnv    = "SPOOR_TAXII_TOKEN"
)

// isTAXIIURL tells the TAXII-URL form of intel import's argument.
func isTAXIIURL(arg string) bool {
	return strings.HasPrefix(arg, "https://") || strings.HasPrefix(arg, "http://")
}

// readTAXII reads a collection's objects as a JSON list of objects, which
// stix.Indicators takes as a bundle's.
func readTAXII(ctx context.Context, env Env, f *intelFlags, objectsURL string) ([]byte, error) {
	c := &taxii.Client{MaxBytes: stix.MaxBundleBytes, HTTP: &http.Client{Timeout: 5 * time.Minute},
		UserAgent: "spoor/" + cmp.Or(env.Build.Version, "dev")}
	switch token := os.Getenv(taxiiTokenEnv); {
	case f.taxiiUser != "":
		pw := os.Getenv(taxiiPasswordEnv)
		if pw == "" {
			return nil, &usageError{fmt.Errorf("--taxii-user needs the password in $%s", taxiiPasswordEnv)}
		}
		c.Auth = func(r *http.Request) { r.SetBasicAuth(f.taxiiUser, pw) }
	case token != "":
		c.Auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
	}
	if f.taxiiCA != "" {
		pem, err := readBounded(f.taxiiCA, 1<<20)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", f.taxiiCA)
		}
		c.HTTP.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	objs, err := c.Objects(ctx, objectsURL)
	if err != nil {
		return nil, err
	}
	return json.Marshal(objs)
}

// imported is one indicator taken in, and what became of it.
type imported struct {
	ind     stix.Indicator
	matcher *stix.Matcher // STIX patterns
	rules   []string      // Sigma: the ids of its rules
	skip    string        // why it is not hunted
	seen    stix.Sighted
	keep    []stix.Record // records of a pattern of several observations
}

func (im *imported) sight(t time.Time, host string) {
	s := &im.seen
	if s.Count == 0 || t.Before(s.First) {
		s.First = t
	}
	if t.After(s.Last) {
		s.Last = t
	}
	s.Count++
	if host != "" && !slices.Contains(s.Hosts, host) {
		s.Hosts = append(s.Hosts, host)
	}
}

func runIntelImport(ctx context.Context, env Env, f *intelFlags, red stix.Redact, file string) error {
	var data []byte
	var err error
	if isTAXIIURL(file) {
		data, err = readTAXII(ctx, env, f, file)
	} else {
		data, err = readBounded(file, stix.MaxBundleBytes)
	}
	if err != nil {
		return err
	}
	s, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := importIntel(ctx, s, f.tenant, f.caseName, actorName(), file, data, f.workers, env.logger(),
		func(msg string) { fmt.Fprintf(env.Stderr, "spoor: %s\n", msg) })
	if err != nil {
		return err
	}
	if seen := res.seen(); f.sightings != "" && len(seen) > 0 {
		b, err := stix.Sightings(seen, f.identity, f.tlp, red)
		if err != nil {
			return err
		}
		out, err := outfile.Create(f.sightings)
		if err != nil {
			return err
		}
		defer out.Discard()
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(b); err != nil {
			return err
		}
		if err := out.Commit(); err != nil {
			return err
		}
	}
	return writeImport(env.Stdout, file, res.hunted, res.items)
}

// errNoIndicator: what was given to import holds no indicator spoor can
// read.
var errNoIndicator = errors.New("no indicator to import")

// intelResult is what an import did: what it hunted, and each indicator
// with what became of it.
type intelResult struct {
	hunted string
	items  []*imported
}

// seen returns the indicators sighted.
func (r *intelResult) seen() []stix.Sighted {
	var out []stix.Sighted
	for _, im := range r.items {
		if im.seen.Count > 0 {
			out = append(out, im.seen)
		}
	}
	return out
}

// importIntel takes the indicators of a bundle (data; source names where
// it came from, a file or a TAXII URL) into a case of tenant, as the
// command line and the console do: Sigma indicators become rules, STIX
// patterns matchers, and the case's evidence is hunted again for them
// (its stored detections when its evidence paths cannot be read here).
// Each indicator seen is recorded in the case's audit log as actor's.
// What does not stop the import (an indicator or rule that cannot be
// read) goes to warn.
func importIntel(ctx context.Context, s *store.Store, tenant, caseName, actor, source string, data []byte, workers int,
	logger *slog.Logger, warn func(string)) (*intelResult, error) {
	inds, errs := stix.Indicators(data)
	if len(inds) == 0 {
		return nil, fmt.Errorf("%s: %w: %w", source, errNoIndicator, errors.Join(errs...))
	}
	for _, err := range errs {
		warn(fmt.Sprintf("%s: %v", source, err))
	}
	if _, err := s.Case(ctx, tenant, caseName); err != nil {
		return nil, err
	}

	rulesDir, err := os.MkdirTemp("", "spoor-intel-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(rulesDir)
	items := make([]*imported, len(inds))
	byRule := map[string]*imported{}
	sigmaRules := 0
	for i, ind := range inds {
		im := &imported{ind: ind, seen: stix.Sighted{Indicator: ind}}
		items[i] = im
		switch ind.PatternType {
		case "stix":
			p, err := stix.ParsePattern(ind.Pattern)
			if err == nil {
				im.matcher, err = stix.Compile(p)
			}
			if err != nil {
				im.skip = err.Error()
			}
		case "sigma":
			c := sigma.Parse([]byte(ind.Pattern), ind.ID)
			for _, r := range c.Rules {
				im.rules = append(im.rules, r.ID)
				byRule[r.ID] = im
			}
			for _, r := range c.Correlations {
				im.rules = append(im.rules, r.ID)
				byRule[r.ID] = im
			}
			if len(im.rules) == 0 {
				im.skip = "no Sigma rule could be read"
				for _, e := range c.Errors {
					if !e.Warning {
						im.skip = e.Error()
						break
					}
				}
				continue
			}
			name := filepath.Join(rulesDir, fmt.Sprintf("%04d.yml", i))
			if err := os.WriteFile(name, []byte(ind.Pattern), 0o600); err != nil {
				return nil, err
			}
			sigmaRules++
		default:
			im.skip = "pattern_type " + ind.PatternType + ": spoor hunts with stix and sigma patterns"
		}
	}

	hunts, err := s.Hunts(ctx, tenant, caseName)
	if err != nil {
		return nil, err
	}
	var paths, missing []string
	for _, h := range hunts {
		for _, p := range h.Paths {
			if slices.Contains(paths, p) || slices.Contains(missing, p) {
				continue
			}
			if _, err := os.Stat(p); err != nil {
				missing = append(missing, p)
				continue
			}
			paths = append(paths, p)
		}
	}
	var hunted string
	switch {
	case len(paths) > 0:
		hunted = "the evidence of the case's hunts: " + strings.Join(paths, ", ")
		if err := huntPatterns(ctx, paths, workers, items); err != nil {
			return nil, err
		}
		if sigmaRules > 0 {
			res, err := hunt.Run(ctx, paths, hunt.Options{NoBuiltin: true, Rules: []string{rulesDir}, Workers: workers,
				NoAttribution: true, NoOperations: true, Logger: logger})
			if err != nil && !errors.Is(err, hunt.ErrNoRules) {
				return nil, err
			}
			for _, d := range res.Detections {
				if im := byRule[d.Rule.ID]; im != nil {
					im.sight(d.Time, d.Computer)
				}
			}
			for _, e := range res.Rules.Errors {
				warn("imported Sigma rule: " + strings.ReplaceAll(e, rulesDir+string(filepath.Separator), ""))
			}
		}
	default:
		hunted = "the detections the case stored (its evidence paths cannot be read here: " + strings.Join(missing, ", ") + "); Sigma indicators need the events and were not hunted"
		if err := matchStored(ctx, s, tenant, caseName, items); err != nil {
			return nil, err
		}
	}
	for _, im := range items {
		if im.matcher != nil && !im.matcher.Single() {
			for _, m := range im.matcher.Match(im.keep) {
				for _, k := range m {
					im.sight(im.keep[k].Time, fieldOf(im.keep[k].Fields, event.FieldComputer))
				}
			}
		}
	}

	seen := 0
	for _, im := range items {
		if im.seen.Count > 0 {
			seen++
			slices.Sort(im.seen.Hosts)
			detail, _ := json.Marshal(map[string]any{"indicator": im.ind.ID, "name": im.ind.Name, "pattern_type": im.ind.PatternType,
				"pattern": im.ind.Pattern, "count": im.seen.Count, "first": im.seen.First, "last": im.seen.Last, "hosts": im.seen.Hosts, "file": source})
			if err := s.Record(ctx, tenant, caseName, actor, "intel.sighting", detail); err != nil {
				return nil, err
			}
		}
	}
	detail, _ := json.Marshal(map[string]any{"file": source, "indicators": len(items), "seen": seen, "hunted": hunted})
	if err := s.Record(ctx, tenant, caseName, actor, "intel.import", detail); err != nil {
		return nil, err
	}
	return &intelResult{hunted: hunted, items: items}, nil
}

// huntPatterns reads the events under paths and matches the STIX
// patterns: a single observation sights each event it matches; a pattern
// of several keeps the events that match one of its observations (at most
// keepLimit) for Match.
func huntPatterns(ctx context.Context, paths []string, workers int, items []*imported) error {
	var ms []*imported
	for _, im := range items {
		if im.matcher != nil {
			ms = append(ms, im)
		}
	}
	if len(ms) == 0 {
		return nil
	}
	var mu sync.Mutex
	fields := make([][]result.Field, workers)
	_, err := source.Run(ctx, paths, source.Options{Workers: workers}, func(w int, ev *event.Event) error {
		fs := fields[w][:0]
		for _, fl := range ev.Fields {
			fs = append(fs, result.Field{Name: fl.Name, Value: fl.Value.Text()})
		}
		fields[w] = fs
		obs := stix.Observe(fs)
		for _, im := range ms {
			if !im.matcher.Matches(obs) {
				continue
			}
			mu.Lock()
			if im.matcher.Single() {
				im.sight(ev.Time(), strings.Clone(fieldOf(fs, event.FieldComputer)))
			} else if len(im.keep) < keepLimit {
				kept := make([]result.Field, len(fs))
				for i, x := range fs {
					kept[i] = result.Field{Name: strings.Clone(x.Name), Value: strings.Clone(x.Value)}
				}
				im.keep = append(im.keep, stix.Record{Time: ev.Time(), Fields: kept})
			}
			mu.Unlock()
		}
		return nil
	})
	return err
}

// keepLimit bounds the events kept for one pattern of several
// observations.
const keepLimit = 10000

// matchStored matches the STIX patterns over the detections a case
// stored.
func matchStored(ctx context.Context, s *store.Store, tenant, caseName string, items []*imported) error {
	q := store.Query{Limit: store.MaxLimit}
	for {
		page, err := s.Detections(ctx, tenant, caseName, q)
		if err != nil {
			return err
		}
		for _, sd := range page.Detections {
			var d result.Detection
			if err := json.Unmarshal(sd.JSON, &d); err != nil {
				return fmt.Errorf("detection %d: %w", sd.ID, err)
			}
			obs := stix.Observe(d.Fields)
			for _, im := range items {
				if im.matcher == nil || !im.matcher.Matches(obs) {
					continue
				}
				if im.matcher.Single() {
					im.sight(d.Time, d.Computer)
				} else if len(im.keep) < keepLimit {
					im.keep = append(im.keep, stix.Record{Time: d.Time, Fields: append(d.Fields, result.Field{Name: event.FieldComputer, Value: d.Computer})})
				}
			}
		}
		if page.Next == "" {
			return nil
		}
		q.After = page.Next
	}
}

func fieldOf(fs []result.Field, name string) string {
	for _, f := range fs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// actorName is who the audit log records for a command run here.
func actorName() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "cli"
}

// readBounded reads a file of at most limit bytes.
func readBounded(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return data, nil
}

func writeImport(w io.Writer, file, hunted string, items []*imported) error {
	tw := tabwriter.NewWriter(termsafe.NewWriter(w), 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "imported %d indicators from %s\nhunted %s\n\n", len(items), file, hunted)
	fmt.Fprintln(tw, "SEEN\tFIRST\tLAST\tHOSTS\tTYPE\tINDICATOR")
	var skipped []*imported
	for _, im := range items {
		if im.skip != "" {
			skipped = append(skipped, im)
			continue
		}
		first, last := "-", "-"
		if im.seen.Count > 0 {
			first, last = im.seen.First.Format(time.DateTime), im.seen.Last.Format(time.DateTime)
		}
		name := im.ind.Name
		if name == "" || im.ind.PatternType == "stix" {
			name = im.ind.Pattern
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", im.seen.Count, first, last, strings.Join(im.seen.Hosts, " "), im.ind.PatternType, name)
	}
	if len(skipped) > 0 {
		fmt.Fprintf(tw, "\nnot hunted (%d):\n", len(skipped))
		for _, im := range skipped {
			fmt.Fprintf(tw, "  %s: %s\n", cmp.Or(im.ind.Name, im.ind.ID), im.skip)
		}
	}
	return tw.Flush()
}
