package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
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
	var nf natsFlags
	var tenant string
	var asJSON bool
	status := &cobra.Command{
		Use:   "status [--nats URL] [--tenant T] [--json]",
		Short: "Print the tenant's collectors (last seen, bookmark, rate), workers (partitions, lag) and partitions",
		Long: `Status reads the tenant's fleet from NATS: the collectors (spoor ship) and
workers (spoor worker) alive in the last 15 seconds, each with what it
reported of itself, and each of the 16 partitions with the worker holding
its lease and its consumer's backlog: messages not yet delivered (pending)
and delivered but not yet acknowledged, that is not yet committed to the
store (unacked). With credentials, it needs a worker's (--nats-creds).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFleetStatus(cmd.Context(), env, &nf, tenant, asJSON)
		},
	}
	fl := status.Flags()
	nf.register(fl)
	fl.StringVar(&tenant, "tenant", store.DefaultTenant, "the `TENANT` whose fleet to show")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(status, newCredential(env))
	return cmd
}

func newCredential(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "credential",
		Short: "Mint NATS credentials of a tenant for collectors and workers",
		Long: `Credential mints the NATS credentials collectors (spoor ship) and workers
(spoor worker) connect with, from the accounts kept in spoor serve's data
folder (nats-auth/): an operator, and a NATS account per tenant, made when
first needed. spoor serve's embedded NATS server trusts them once the
first is minted (restart it then); a cluster trusts them through the
configuration server-config prints.

A collector's credential may only publish its tenant's events (and look
its stream up, create it when missing, and report itself for spoor fleet
status); it reads nothing. A worker's consumes its tenant's stream and
uses its bucket (and serves spoor fleet status). Neither reaches another
tenant: each tenant is an account of its own.`,
	}
	var data, tenant, role, name, out string
	var expires time.Duration
	add := &cobra.Command{
		Use:   "add --tenant T --role collector|worker [--out FILE]",
		Short: "Write a collector's or worker's credentials file (.creds, 0600) for a tenant",
		Example: `  spoor fleet credential add --tenant acme --role collector --out acme-collector.creds
  spoor ship ./logs --tenant acme --nats-creds acme-collector.creds`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCredentialAdd(env, data, tenant, fleet.Role(role), name, out, expires)
		},
	}
	fl := add.Flags()
	fl.StringVar(&data, "data", "", "spoor serve's data `DIR` (default as spoor serve's)")
	fl.StringVar(&tenant, "tenant", store.DefaultTenant, "the `TENANT` of the credential")
	fl.StringVar(&role, "role", "", "`ROLE`: collector (publishes events) or worker (consumes them)")
	fl.StringVar(&name, "name", "", "a `NAME` for the credential, as NATS lists it (default: tenant and role)")
	fl.StringVar(&out, "out", "", "the credentials `FILE` to write (default TENANT-ROLE.creds; an existing file is not replaced)")
	fl.DurationVar(&expires, "expires", 0, "the credential expires after this `DURATION` (default: never)")
	var cfgData, cfgOut string
	cfg := &cobra.Command{
		Use:   "server-config [--out FILE]",
		Short: "Print the nats-server configuration that trusts the credentials (operator, accounts)",
		Long: `Server-config prints what a nats-server's configuration needs to trust the
credentials minted here: the operator, the system account and every
tenant's account (resolver MEMORY, preloaded). Include it in each server
of a cluster (include spoor-accounts.conf). A tenant added later needs it
written again and the servers reloaded (nats-server --signal reload).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServerConfig(env, cfgData, cfgOut) },
	}
	cfg.Flags().StringVar(&cfgData, "data", "", "spoor serve's data `DIR` (default as spoor serve's)")
	cfg.Flags().StringVar(&cfgOut, "out", "", "write it to `FILE` (0600) instead of standard output")
	cmd.AddCommand(add, cfg)
	return cmd
}

// accountsDir is the NATS accounts folder of spoor serve's data folder
// data (its default when "").
func accountsDir(data string) (string, error) {
	_, dir, err := storeTarget(data, "")
	if err != nil {
		return "", err
	}
	return natsAuthDir(dir), nil
}

func runCredentialAdd(env Env, data, tenant string, role fleet.Role, name, out string, expires time.Duration) error {
	if _, err := fleet.Permissions(tenant, role, ""); err != nil {
		return &usageError{fmt.Errorf("--role: %w", err)}
	}
	if expires < 0 {
		return &usageError{fmt.Errorf("--expires %s: negative", expires)}
	}
	if out == "" {
		out = fleet.Token(tenant) + "-" + string(role) + ".creds"
	}
	if name == "" {
		name = tenant + " " + string(role)
	}
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("%s exists: remove it first, or give another --out", out)
	}
	dir, err := accountsDir(data)
	if err != nil {
		return err
	}
	accounts, err := fleet.OpenAccounts(dir, true)
	if err != nil {
		return fmt.Errorf("NATS accounts: %w", err)
	}
	creds, user, err := accounts.Mint(tenant, role, name, expires)
	if err != nil {
		return err
	}
	if err := fleet.WriteSecret(out, creds); err != nil {
		return err
	}
	account, err := accounts.Tenant(tenant)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Wrote %s: a %s credential of tenant %q (user %s, account %s), from %s\n", out, role, tenant, user, account, dir)
	return nil
}

func runServerConfig(env Env, data, out string) error {
	dir, err := accountsDir(data)
	if err != nil {
		return err
	}
	accounts, err := fleet.OpenAccounts(dir, false)
	if err != nil {
		return err
	}
	conf, err := accounts.ServerConfig()
	if err != nil {
		return err
	}
	if out == "" {
		_, err = io.WriteString(env.Stdout, conf)
		return err
	}
	return fleet.WriteSecret(out, []byte(conf))
}

func runFleetStatus(ctx context.Context, env Env, nf *natsFlags, tenant string, asJSON bool) error {
	nc, js, err := nf.connect("spoor fleet status")
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
