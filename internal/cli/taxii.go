package cli

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/server"
	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/internal/termsafe"
)

func newTAXII(env Env) *cobra.Command {
	f := &adminFlags{}
	cmd := &cobra.Command{
		Use:   "taxii",
		Short: "List the TAXII collections of a tenant and set who may read or add to them",
		Long: `spoor serve is also a TAXII 2.1 server, under /taxii2/ (docs/taxii.md): per
tenant an API root, /taxii2/TENANT/, with a collection of the tenant's own
and one per case, which serves the case's operations as STIX and takes what
partners add. Clients authenticate with a spoor user's name and password
(HTTP basic) or an API token (spoor user token).

A viewer reads every collection of their tenant, an analyst or admin also
adds. "grant" takes reading or adding away from one user on one collection:
a grant never gives more than the user's role, and narrows that collection
only. The user's other collections, cases made later, and the console and
API stay as their role allows: a partner who must see one case only needs a
tenant of their own.`,
		Example: `  # The collections and their ids
  spoor taxii collections --tenant default
  # An analyst may read the case "intrusion" but not add to it (the other
  # collections stay as the role allows)
  spoor taxii grant ann --case intrusion --read`,
	}
	f.register(cmd)
	cmd.PersistentFlags().StringVar(&f.tenant, "tenant", store.DefaultTenant, "the `TENANT`")
	list := &cobra.Command{
		Use:   "collections",
		Short: "List the TAXII collections of a tenant with their ids",
		Args:  cobra.NoArgs,
		RunE: f.with(false, func(cmd *cobra.Command, _ []string, s *store.Store) error {
			cases, err := s.Cases(cmd.Context(), f.tenant)
			if err != nil {
				return err
			}
			type collectionJSON struct {
				ID   string `json:"id"`
				Case string `json:"case,omitempty"`
			}
			out := []collectionJSON{{ID: server.CollectionID(f.tenant, "")}}
			for _, c := range cases {
				out = append(out, collectionJSON{ID: server.CollectionID(f.tenant, c.Name), Case: c.Name})
			}
			if f.json {
				return printJSON(env.Stdout, map[string]any{"api_root": server.TAXIIPrefix + f.tenant + "/", "collections": out})
			}
			fmt.Fprintf(env.Stdout, "API root %s%s/\n", server.TAXIIPrefix, f.tenant)
			tw := tabwriter.NewWriter(termsafe.NewWriter(env.Stdout), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "COLLECTION\tCASE")
			for _, c := range out {
				name := c.Case
				if name == "" {
					name = "(the tenant's own)"
				}
				fmt.Fprintf(tw, "%s\t%s\n", c.ID, name)
			}
			return tw.Flush()
		}),
	}
	var (
		caseName    string
		own         bool
		read, write bool
	)
	grant := &cobra.Command{
		Use:   "grant USER (--case CASE | --own) [--read] [--write]",
		Short: "Set what a user may do in one collection, below their role",
		Args:  cobra.ExactArgs(1),
		RunE: f.with(false, func(cmd *cobra.Command, args []string, s *store.Store) error {
			if (caseName == "") == !own {
				return &usageError{errors.New("grant needs --case CASE or --own (the tenant's collection)")}
			}
			if caseName != "" {
				if _, err := s.Case(cmd.Context(), f.tenant, caseName); err != nil {
					return err
				}
			}
			g := store.TAXIIGrant{Collection: server.CollectionID(f.tenant, caseName), User: args[0], Read: read, Write: write}
			if err := s.SetTAXIIGrant(cmd.Context(), f.tenant, g, actor()); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "User %q in collection %s: read %v, add %v (within their role)\n", g.User, g.Collection, read, write)
			return nil
		}),
	}
	fl := grant.Flags()
	fl.StringVar(&caseName, "case", "", "the collection of `CASE`")
	fl.BoolVar(&own, "own", false, "the tenant's own collection")
	fl.BoolVar(&read, "read", false, "may read it")
	fl.BoolVar(&write, "write", false, "may add to it")
	cmd.AddCommand(list, grant)
	return cmd
}
