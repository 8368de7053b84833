package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/fleet"
	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/rulepkg"
	"github.com/spoor-hunt/spoor/internal/ruleset"
	"github.com/spoor-hunt/spoor/internal/store"
)

type workerFlags struct {
	nats                             natsFlags
	storeTarget, tenant, id, metrics string
	rules                            []string
	noBuiltin, noSigmaHQ, noisy      bool
	minLevel                         string
	replicas                         int
}

func newWorker(env Env) *cobra.Command {
	var f workerFlags
	cmd := &cobra.Command{
		Use:   "worker --nats URL --store DIR|URL [--tenant T]",
		Short: "Hunt the events collectors publish to NATS JetStream into the case store",
		Long: `Worker consumes a tenant's events from NATS JetStream (what spoor ship
publishes), hunts them with the rules (those of spoor hunt: built-in and
SigmaHQ, --rules added) and writes the detections into the cases of the
store they name, the store of spoor serve: its data folder or a
PostgreSQL URL. After new detections it rebuilds the case's correlation
matches and operations.

The tenant's hosts are spread over 16 partitions; each partition is
consumed by one worker at a time, through a lease in a NATS key-value
bucket, so every event of a host goes to one worker, in order. Start as
many workers as needed: a worker that joins takes its share of the
partitions, one that stops or dies leaves its partitions to the others.
A batch is acknowledged only once the store transaction holding its
detections has committed, and a detection stored twice (a batch delivered
again after a worker died) is kept once. Ctrl-C stops it, after it
commits what it holds.`,
		Example: `  spoor worker --nats nats://hunt.example:4222 --store postgres://spoor@db/spoor --tenant acme`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runWorker(cmd.Context(), env, f) },
	}
	fl := cmd.Flags()
	f.nats.register(fl)
	fl.IntVar(&f.replicas, "replicas", 0, "keep the tenant's stream and bucket on `N` servers of the NATS cluster (default: as they are, 1 when made)")
	fl.StringVar(&f.storeTarget, "store", os.Getenv("SPOOR_STORE"), "the case store: a `DIR` or a postgres:// URL (default $SPOOR_STORE)")
	fl.StringVar(&f.tenant, "tenant", store.DefaultTenant, "the `TENANT` whose events to hunt")
	fl.StringVar(&f.id, "id", "", "this worker's `ID` (default: host name and a random suffix)")
	fl.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics at http://`ADDR`/metrics")
	fl.StringArrayVar(&f.rules, "rules", nil, "also use the Sigma rules in `PATH` (file or folder; repeatable)")
	fl.BoolVar(&f.noBuiltin, "no-builtin", false, "do not use the built-in rules")
	fl.BoolVar(&f.noSigmaHQ, "no-sigmahq", false, "do not use the SigmaHQ rules")
	fl.BoolVar(&f.noisy, "noisy", false, "also use the SigmaHQ rules left out by default as too noisy")
	fl.StringVar(&f.minLevel, "min-level", "", "only rules of `LEVEL` or more severe")
	return cmd
}

// workerOptions are the hunt options of f's rule flags.
func (f *workerFlags) huntOptions(env Env) (hunt.Options, error) {
	opts := hunt.Options{NoBuiltin: f.noBuiltin, Rules: f.rules, Noisy: f.noisy, Logger: env.logger()}
	if f.noBuiltin && f.noSigmaHQ && len(f.rules) == 0 {
		return opts, &usageError{errors.New("--no-builtin and --no-sigmahq leave no rules: add --rules PATH")}
	}
	if f.minLevel != "" {
		l, err := ruleset.ParseLevel(f.minLevel)
		if err != nil {
			return opts, &usageError{fmt.Errorf("--min-level: %w", err)}
		}
		opts.MinLevel = l
	}
	if !f.noSigmaHQ {
		pkg, err := rulepkg.Open()
		if err != nil {
			return opts, err
		}
		opts.SigmaHQ = pkg
	}
	if kb, _, err := loadKB(); err == nil {
		opts.Attack = kb
	}
	return opts, nil
}

func runWorker(ctx context.Context, env Env, f workerFlags) error {
	if f.storeTarget == "" {
		return &usageError{errors.New("no case store: give --store DIR|URL or set SPOOR_STORE")}
	}
	if f.id == "" {
		host, _ := os.Hostname()
		var b [4]byte
		rand.Read(b[:])
		f.id = host + "-" + hex.EncodeToString(b[:])
	}
	opts, err := f.huntOptions(env)
	if err != nil {
		return err
	}
	rules, err := hunt.Compile(ctx, opts)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, f.storeTarget)
	if err != nil {
		return err
	}
	defer st.Close()
	if f.replicas < 0 {
		return &usageError{fmt.Errorf("--replicas must be at least 1, not %d", f.replicas)}
	}
	nc, js, err := f.nats.connect("spoor worker " + f.id)
	if err != nil {
		return err
	}
	defer nc.Close()
	stats := new(fleet.WorkerStats)
	if f.metrics != "" {
		ln, err := net.Listen("tcp", f.metrics)
		if err != nil {
			return fmt.Errorf("--metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", fleet.NewMetrics(stats).Handler())
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(env.Stderr, "worker %s: metrics at http://%s/metrics\n", f.id, ln.Addr())
	}
	fmt.Fprintf(env.Stderr, "worker %s: tenant %q, %d rules, store %s, NATS %s\n", f.id, f.tenant, rules.Stats.Loaded, st.Backend(), fleet.RedactURL(f.nats.url))
	err = fleet.RunWorker(ctx, js, fleet.WorkerOptions{ID: f.id, Tenant: f.tenant, Store: st, Rules: rules, Hunt: opts,
		Logger: env.logger(), Stats: stats, Replicas: f.replicas})
	fmt.Fprintf(env.Stderr, "worker %s: %d events hunted, %d detections stored in %d commits\n", f.id,
		stats.Events.Load(), stats.Detections.Load(), stats.Commits.Load())
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
