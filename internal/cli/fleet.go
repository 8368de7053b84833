package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/archive"
	"github.com/spoor-hunt/spoor/internal/fleet"
	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/internal/termsafe"
)

func newFleet(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Look at the collectors and workers hunting an estate over NATS JetStream",
	}
	var natsURL, tenant string
	var asJSON bool
	status := &cobra.Command{
		Use:   "status [--nats URL] [--tenant T] [--json]",
		Short: "Print the tenant's collectors (last seen, bookmark, rate), workers (partitions, lag) and partitions",
		Long: `Status reads the tenant's fleet from NATS: the collectors (spoor ship) and
workers (spoor worker) alive in the last 15 seconds, each with what it
reported of itself, and each of the 16 partitions with the worker holding
its lease and its consumer's backlog: messages not yet delivered (pending)
and delivered but not yet acknowledged, that is not yet committed to the
store (unacked).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFleetStatus(cmd.Context(), env, natsURL, tenant, asJSON)
		},
	}
	fl := status.Flags()
	fl.StringVar(&natsURL, "nats", defaultNATS(), "NATS `URL` (default $SPOOR_NATS)")
	fl.StringVar(&tenant, "tenant", store.DefaultTenant, "the `TENANT` whose fleet to show")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(status)
	return cmd
}

func runFleetStatus(ctx context.Context, env Env, url, tenant string, asJSON bool) error {
	nc, js, err := fleet.Connect(url, "spoor fleet status")
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := fleet.ReadStatus(ctx, js, tenant)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	ago := func(t time.Time) string { return time.Since(t).Round(time.Second).String() + " ago" }
	w := tabwriter.NewWriter(termsafe.NewWriter(env.Stdout), 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Tenant %s: stream %s, %d messages (%d bytes)\n\n", st.Tenant, st.Stream, st.Messages, st.Bytes)
	fmt.Fprintf(w, "COLLECTOR\tSEEN\tEVENTS\tRATE/S\tINPUTS\tRETRIES\tDROPPED\tSPOOLED\tBOOKMARK\n")
	for _, c := range st.Collectors {
		bm := "-"
		if b := c.Bookmark; b != nil {
			state := "reading"
			if b.Complete {
				state = "done"
			}
			bm = fmt.Sprintf("%s pass %d, %d events %s", b.Path, b.Pass, b.Done, state)
		}
		spooled := "-"
		if c.Spooled > 0 || c.Blocked {
			spooled = fmt.Sprintf("%d batches, %s", c.Spooled, archive.FormatSize(c.SpoolBytes))
			if c.Blocked {
				spooled += " (full: reading stopped)"
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%.0f\t%d\t%d\t%d\t%s\t%s\n", c.Name, ago(c.Seen), c.Events, c.Rate, c.Inputs, c.Retries, c.Dropped, spooled, bm)
	}
	fmt.Fprintf(w, "\nWORKER\tSEEN\tPARTITIONS\tEVENTS\tDETECTIONS\tLAG\n")
	for _, wk := range st.Workers {
		ps := make([]string, len(wk.Partitions))
		for i, p := range wk.Partitions {
			ps[i] = fmt.Sprint(p)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\n", wk.ID, ago(wk.Seen), strings.Join(ps, ","), wk.Events, wk.Detections, wk.Lag)
	}
	fmt.Fprintf(w, "\nPARTITION\tOWNER\tPENDING\tUNACKED\n")
	for _, p := range st.Partitions {
		owner := p.Owner
		if owner == "" {
			owner = "(none)"
		}
		fmt.Fprintf(w, "%02d\t%s\t%d\t%d\n", p.Partition, owner, p.Pending, p.AckPending)
	}
	return w.Flush()
}
