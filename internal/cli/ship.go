package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/cachedir"
	"github.com/spoor-hunt/spoor/internal/fleet"
	"github.com/spoor-hunt/spoor/internal/source"
	"github.com/spoor-hunt/spoor/internal/store"
)

type shipFlags struct {
	nats                          natsFlags
	tenant, caseName, name, state string
	follow, carve                 bool
	window                        int
	limits                        limitsFlags

	buffer sizeValue // the spool's limit
}

func newShip(env Env) *cobra.Command {
	var f shipFlags
	cmd := &cobra.Command{
		Use:   "ship PATH... --nats URL --tenant T [--case C] [--follow]",
		Short: "Collect event logs and publish them to NATS JetStream for workers to hunt",
		Long: `Ship reads what spoor dump reads (EVTX, JSON and JSON lines, folders,
archives) and publishes the events to NATS JetStream, in compressed
batches of one host's events on the subject spoor.<tenant>.events.<partition>.<host>
of the tenant's stream (created when missing). Workers (spoor worker) hunt
them into the case --case of the tenant, created when missing.

A bookmark per input (the file's identity, the pass over it, where the
pass started and how many of its events were acknowledged or spooled) is
kept in --state, written after each window of batches: a collector
stopped and started again goes on where it stood, with no gap; a batch
sent again is stored once (JetStream's duplicate window, and the workers'
idempotent store).

While the server is away ship retries with backoff and reads on,
spooling its batches to disk under --state (each written whole and
synced before the bookmark moves past it) up to --buffer bytes; once the
server is back the spool is published first, in the order it was read,
and emptied. At the limit reading stops until the server takes what
waits, and ship says so once (on standard error and in spoor fleet
status), with how much waits: events would be dropped there, and are
not, as the logs stay unread. --buffer 0 spools nothing: reading waits
for the server, the logs themselves are the buffer.

With --follow it keeps reading: files that grow, new files under the
paths, and rotated ones (renamed files keep their bookmark, the new file
at the path is a new input; a file given by its own path, renamed in its
folder, is read there to its end). A grown EVTX file is read from the chunk
where the last pass ended (the live last chunk again, past the records
shipped) to its newest; a log that wrapped (Windows recycles the oldest
chunks of a full log) is read whole once, skipping what was shipped. JSON
lines (Winlogbeat, NXLog) are read from the byte after the last whole
line shipped; a line waits for its newline. Other files (archives, JSON
arrays) are read whole again, past what was shipped. Ctrl-C stops it.`,
		Example: `  # Ship a collection once into the case "incident-42"
  spoor ship ./triage/ --nats nats://hunt.example:4222 --tenant acme --case incident-42
  # Follow a Winlogbeat output folder
  spoor ship /var/log/winlogbeat --follow --case live`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{errors.New("ship needs at least one PATH (file, folder or archive)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runShip(cmd.Context(), env, f, args) },
	}
	fl := cmd.Flags()
	f.nats.register(fl)
	fl.StringVar(&f.tenant, "tenant", store.DefaultTenant, "the `TENANT` the events belong to")
	fl.StringVar(&f.caseName, "case", "fleet", "the `CASE` the workers hunt the events into (created when missing)")
	fl.StringVar(&f.name, "name", "", "this collector's `NAME` (default: the host name)")
	fl.StringVar(&f.state, "state", "", "`DIR`ectory of the bookmarks (default: ship/NAME under the data folder)")
	fl.BoolVar(&f.follow, "follow", false, "keep reading files that grow, and new and rotated files")
	fl.IntVar(&f.window, "window", 1000, "events read before their batches are published and the bookmarks moved")
	f.buffer = 1 << 30
	fl.Var(&f.buffer, "buffer", "spool at most `SIZE` of batches to disk (under --state) while the server is away (binary units: 500M, 1G; 0: no spool, wait)")
	addCarveFlag(fl, &f.carve)
	addLimitsFlags(fl, &f.limits)
	return cmd
}

func runShip(ctx context.Context, env Env, f shipFlags, paths []string) error {
	limits, err := f.limits.limits()
	if err != nil {
		return &usageError{err}
	}
	if f.window < 1 {
		return &usageError{fmt.Errorf("--window must be at least 1, not %d", f.window)}
	}
	if f.name == "" {
		if f.name, err = os.Hostname(); err != nil {
			return fmt.Errorf("collector name: %w (give --name)", err)
		}
	}
	if f.state == "" {
		if f.state, err = cachedir.DataDir("ship"); err != nil {
			return err
		}
		f.state += string(os.PathSeparator) + fleet.Token(f.name)
	}
	nc, js, err := f.nats.connect("spoor ship " + f.name)
	if err != nil {
		return err
	}
	defer nc.Close()
	if _, err := fleet.OpenStream(ctx, js, f.tenant); err != nil {
		return fmt.Errorf("%s: %w", fleet.RedactURL(f.nats.url), err)
	}
	stats := new(fleet.ShipStats)
	stopReports := reportCollector(ctx, js, f.tenant, f.name, stats, env)
	err = fleet.Ship(ctx, fleet.JetStreamPublisher{JS: js}, paths, fleet.ShipOptions{
		Tenant: f.tenant, Case: f.caseName, Collector: f.name, State: f.state,
		Follow: f.follow, Window: f.window, Buffer: int64(f.buffer), Logger: env.logger(), Stats: stats,
		Source: source.Options{Carve: f.carve, Limits: limits},
	})
	stopReports()
	fmt.Fprintf(env.Stderr, "shipped %d events in %d batches (%d bytes) from %d inputs; %d dropped\n",
		stats.Events.Load(), stats.Batches.Load(), stats.Bytes.Load(), stats.Inputs.Load(), stats.Dropped.Load())
	if n := stats.Spooled.Load(); n > 0 {
		fmt.Fprintf(env.Stderr, "%d batches (%d events, %d bytes) wait in the spool %s, published first at the next start\n",
			n, stats.SpoolEvents.Load(), stats.SpoolBytes.Load(), f.state)
	}
	if err != nil && f.follow && errors.Is(err, context.Canceled) {
		return nil // Ctrl-C ends a follow
	}
	return err
}

// reportCollector keeps the collector's key in the tenant's bucket (what
// spoor fleet status lists) every 5 s until the returned function is
// called, which reports a last time. The bucket is looked up at each
// report until found: one that did not answer at the start (a cluster
// electing its leader) left the collector unlisted for its whole run.
func reportCollector(ctx context.Context, js jetstream.JetStream, tenant, name string, stats *fleet.ShipStats, env Env) (stop func()) {
	var kv jetstream.KeyValue
	warned := false
	bucket := func(ctx context.Context) bool {
		var err error
		if kv == nil {
			if kv, err = fleet.Bucket(ctx, js, tenant, fleet.DefaultLease); err != nil && !warned {
				env.logger().Warn("collector not reported for fleet status: tried again every 5 s", "err", err)
				warned = true
			}
		}
		return err == nil
	}
	bucket(ctx)
	var last int64
	lastAt := time.Now()
	report := func(ctx context.Context) {
		if !bucket(ctx) {
			return
		}
		n := stats.Events.Load()
		info := fleet.CollectorInfo{Name: name, Seen: time.Now().UTC(), Events: n, Batches: stats.Batches.Load(),
			Inputs: stats.Inputs.Load(), Dropped: stats.Dropped.Load(), Retries: stats.Retries.Load(), Bookmark: stats.Last.Load(),
			Spooled: stats.Spooled.Load(), SpoolBytes: stats.SpoolBytes.Load(), Blocked: stats.Blocked.Load()}
		if d := time.Since(lastAt).Seconds(); d > 0 {
			info.Rate = float64(n-last) / d
		}
		last, lastAt = n, time.Now()
		fleet.Report(ctx, kv, info)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				report(ctx)
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		report(rctx)
	}
}
