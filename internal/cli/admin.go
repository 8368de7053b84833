package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/spoor-hunt/spoor/internal/cachedir"
	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/internal/termsafe"
)

// adminFlags are the flags of the commands that administer a server's
// store: the store as spoor serve finds it.
type adminFlags struct {
	data, storeURL string
	tenant         string
	json           bool
}

// storeTarget is the store serve and the admin commands use: --data or
// --store, else $SPOOR_STORE, else the folder cases under spoor's data
// folder. dir is the folder (the default one with a URL), for what serve
// keeps beside the store.
func storeTarget(data, storeURL string) (target, dir string, err error) {
	if data != "" && storeURL != "" {
		return "", "", &usageError{errors.New("--data and --store go one at a time")}
	}
	if data == "" && storeURL == "" {
		// The store `spoor case` reads, when one is set.
		if env := os.Getenv("SPOOR_STORE"); strings.Contains(env, "://") {
			storeURL = env
		} else {
			data = env
		}
	}
	dir = data
	if dir == "" {
		if dir, err = cachedir.DataDir("cases"); err != nil {
			return "", "", err
		}
	}
	if storeURL != "" {
		return storeURL, dir, nil
	}
	return dir, dir, nil
}

func (f *adminFlags) register(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.data, "data", "", "case store folder, as spoor serve --data")
	pf.StringVar(&f.storeURL, "store", "", "case store `URL` (postgres://…) or folder (default $SPOOR_STORE, else spoor serve's folder)")
	pf.BoolVar(&f.json, "json", false, "print JSON")
}

// open opens the store; create allows a folder without one (the first
// tenant or user made before the first serve).
func (f *adminFlags) open(ctx context.Context, create bool) (*store.Store, error) {
	data, url := f.data, f.storeURL
	if data == "" && url != "" && !strings.Contains(url, "://") {
		data, url = url, "" // --store DIR, as spoor case takes it
	}
	target, _, err := storeTarget(data, url)
	if err != nil {
		return nil, err
	}
	if !create && !strings.Contains(target, "://") {
		if _, err := os.Stat(target + "/" + store.FileName); err != nil {
			return nil, fmt.Errorf("no case store in %s: %w", target, err)
		}
	}
	return store.Open(ctx, target)
}

// with gives run the store of f, opened for the command and closed after.
func (f *adminFlags) with(create bool, run func(cmd *cobra.Command, args []string, s *store.Store) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, err := f.open(cmd.Context(), create)
		if err != nil {
			return err
		}
		defer s.Close()
		return run(cmd, args, s)
	}
}

// actor is who the audit log says made a change from the command line.
func actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

func newTenant(env Env) *cobra.Command {
	f := &adminFlags{}
	cmd := &cobra.Command{
		Use:   "tenant",
		Short: "Add and list the tenants (organisations) of a case store",
		Long: `A tenant is an organisation: its users see its cases and no other's. A
single-organisation install has one tenant, "default", which spoor serve
makes on first start.`,
	}
	f.register(cmd)
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a tenant",
		Args:  cobra.ExactArgs(1),
		RunE: f.with(true, func(cmd *cobra.Command, args []string, s *store.Store) error {
			t, err := s.AddTenant(cmd.Context(), args[0], actor())
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Added tenant %q\n", t.Name)
			return nil
		}),
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the tenants",
		Args:  cobra.NoArgs,
		RunE: f.with(false, func(cmd *cobra.Command, _ []string, s *store.Store) error {
			ts, err := s.Tenants(cmd.Context())
			if err != nil {
				return err
			}
			type tenantJSON struct {
				Name    string    `json:"name"`
				Created time.Time `json:"created"`
			}
			out := make([]tenantJSON, len(ts))
			for i, t := range ts {
				out[i] = tenantJSON{t.Name, t.Created}
			}
			if f.json {
				return printJSON(env.Stdout, map[string]any{"tenants": out})
			}
			tw := tabwriter.NewWriter(termsafe.NewWriter(env.Stdout), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TENANT\tCREATED")
			for _, t := range out {
				fmt.Fprintf(tw, "%s\t%s\n", t.Name, t.Created.Format(time.DateTime))
			}
			return tw.Flush()
		}),
	}
	cmd.AddCommand(add, list)
	return cmd
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newUser(env Env) *cobra.Command {
	f := &adminFlags{}
	var role string
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Add, list, disable users of a case store and set their passwords",
		Long: `Users log in to spoor serve's console and API. Each belongs to a tenant
(--tenant, default "default") and has a role: viewer (reads), analyst
(also triages), admin (also manages users and cases).

Passwords are read from the terminal without echo, or with
--password-stdin from the first line of the standard input; never from the
command line, where other users of the machine could read them. A password
has at least 12 characters.

Setting a password ends the user's console sessions and revokes their API
tokens; disabling a user ends both.`,
		Example: `  # The first admin, before the first start of spoor serve
  spoor user add alice --role admin
  # From a script
  printf '%s\n' "$PW" | spoor user add bob --role analyst --password-stdin`,
	}
	f.register(cmd)
	cmd.PersistentFlags().StringVar(&f.tenant, "tenant", store.DefaultTenant, "the user's `TENANT`")
	add := &cobra.Command{
		Use:   "add NAME [--role ROLE] [--password-stdin]",
		Short: "Add a user (a store with no tenant gets the tenant \"default\")",
		Args:  cobra.ExactArgs(1),
		RunE: f.with(true, func(cmd *cobra.Command, args []string, s *store.Store) error {
			ctx := cmd.Context()
			pw, err := readNewPassword(env, fromStdin)
			if err != nil {
				return err
			}
			if f.tenant == store.DefaultTenant {
				// A single-organisation install whose first user comes
				// before the first serve: its one tenant.
				ts, err := s.Tenants(ctx)
				if err != nil {
					return err
				}
				if len(ts) == 0 {
					if _, err := s.AddTenant(ctx, store.DefaultTenant, actor()); err != nil && !errors.Is(err, store.ErrExists) {
						return err
					}
				}
			}
			u, err := s.AddUser(ctx, f.tenant, args[0], store.Role(role), pw, actor())
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Added user %q (tenant %q, %s)\n", u.Name, u.Tenant, u.Role)
			return nil
		}),
	}
	add.Flags().StringVar(&role, "role", string(store.RoleViewer), "`ROLE`: viewer, analyst or admin")
	add.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of the standard input")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the users of a tenant",
		Args:  cobra.NoArgs,
		RunE: f.with(false, func(cmd *cobra.Command, _ []string, s *store.Store) error {
			us, err := s.Users(cmd.Context(), f.tenant)
			if err != nil {
				return err
			}
			type userJSON struct {
				Name     string     `json:"name"`
				Role     store.Role `json:"role"`
				Disabled bool       `json:"disabled"`
				Created  time.Time  `json:"created"`
			}
			out := make([]userJSON, len(us))
			for i, u := range us {
				out[i] = userJSON{u.Name, u.Role, u.Disabled, u.Created}
			}
			if f.json {
				return printJSON(env.Stdout, map[string]any{"users": out})
			}
			tw := tabwriter.NewWriter(termsafe.NewWriter(env.Stdout), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USER\tROLE\tSTATE\tCREATED")
			for _, u := range out {
				state := "enabled"
				if u.Disabled {
					state = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, state, u.Created.Format(time.DateTime))
			}
			return tw.Flush()
		}),
	}
	passwd := &cobra.Command{
		Use:   "passwd NAME [--password-stdin]",
		Short: "Set a user's password (their sessions end, their tokens are revoked)",
		Args:  cobra.ExactArgs(1),
		RunE: f.with(false, func(cmd *cobra.Command, args []string, s *store.Store) error {
			pw, err := readNewPassword(env, fromStdin)
			if err != nil {
				return err
			}
			if err := s.ResetPassword(cmd.Context(), f.tenant, args[0], pw, actor()); err != nil {
				return err
			}
			if err := s.EndSessions(cmd.Context(), f.tenant, args[0], ""); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Set the password of %q (tenant %q)\n", args[0], f.tenant)
			return nil
		}),
	}
	passwd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of the standard input")
	disable := &cobra.Command{
		Use:   "disable NAME",
		Short: "Disable a user: they cannot log in, their sessions and tokens stop working",
		Args:  cobra.ExactArgs(1),
		RunE: f.with(false, func(cmd *cobra.Command, args []string, s *store.Store) error {
			if err := s.DisableUser(cmd.Context(), f.tenant, args[0], actor()); err != nil {
				return err
			}
			if err := s.EndSessions(cmd.Context(), f.tenant, args[0], ""); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Disabled user %q (tenant %q)\n", args[0], f.tenant)
			return nil
		}),
	}
	cmd.AddCommand(add, list, passwd, disable, newUserToken(env, f))
	return cmd
}

// maxPasswordLine bounds what --password-stdin reads.
const maxPasswordLine = 4 << 10

// readNewPassword reads a password: the first line of the standard input
// with fromStdin, else twice from the terminal without echo.
func readNewPassword(env Env, fromStdin bool) (string, error) {
	var pw string
	if fromStdin {
		in := env.Stdin
		if in == nil {
			in = os.Stdin
		}
		line, err := bufio.NewReaderSize(io.LimitReader(in, maxPasswordLine), maxPasswordLine).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("password from the standard input: %w", err)
		}
		if !strings.HasSuffix(line, "\n") && len(line) == maxPasswordLine {
			return "", fmt.Errorf("password from the standard input: longer than %d bytes", maxPasswordLine)
		}
		pw = strings.TrimRight(line, "\r\n")
	} else {
		if env.Stdin != nil || !term.IsTerminal(int(os.Stdin.Fd())) {
			return "", &usageError{errors.New("the standard input is not a terminal: give the password with --password-stdin")}
		}
		fd := int(os.Stdin.Fd())
		fmt.Fprint(env.Stderr, "Password: ")
		first, err := term.ReadPassword(fd)
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(env.Stderr, "Again: ")
		again, err := term.ReadPassword(fd)
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if !bytes.Equal(first, again) {
			return "", errors.New("the passwords differ")
		}
		pw = string(first)
	}
	if len(pw) < store.MinPassword {
		return "", fmt.Errorf("password: at least %d characters", store.MinPassword)
	}
	return pw, nil
}

func newUserToken(env Env, f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Make, list and revoke users' API tokens",
		Long: `An API token lets a script call spoor serve's API as a user, with
"Authorization: Bearer TOKEN", with a role no higher than the user's, until
it expires or is revoked. The token is printed once: the store keeps only
its hash.`,
	}
	var name, role string
	var days int
	add := &cobra.Command{
		Use:   "add USER --name NAME [--role ROLE] [--days N]",
		Short: "Make a token for a user and print it",
		Args:  cobra.ExactArgs(1),
		RunE: f.with(false, func(cmd *cobra.Command, args []string, s *store.Store) error {
			if role == "" {
				u, err := s.GetUser(cmd.Context(), f.tenant, args[0])
				if err != nil {
					return err
				}
				role = string(u.Role)
			}
			if days <= 0 || time.Duration(days)*24*time.Hour > store.MaxTokenLife {
				return &usageError{fmt.Errorf("--days: from 1 to %d", int(store.MaxTokenLife/(24*time.Hour)))}
			}
			t, secret, err := s.AddToken(cmd.Context(), f.tenant, args[0], name, store.Role(role),
				time.Now().Add(time.Duration(days)*24*time.Hour), actor())
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(env.Stdout, map[string]any{"id": t.ID, "user": t.User, "role": t.Role, "expires": t.Expires, "token": secret})
			}
			fmt.Fprintf(env.Stdout, "Token %d for %q (%s, expires %s):\n  %s\nIt is shown only this once.\n",
				t.ID, t.User, t.Role, t.Expires.Format(time.DateTime), secret)
			return nil
		}),
	}
	add.Flags().StringVar(&name, "name", "", "what the token is for (required)")
	add.Flags().StringVar(&role, "role", "", "the token's `ROLE` (default the user's)")
	add.Flags().IntVar(&days, "days", 90, "days until it expires")
	add.MarkFlagRequired("name")
	list := &cobra.Command{
		Use:   "list [USER]",
		Short: "List the tokens of a user, or of every user of the tenant",
		Args:  cobra.MaximumNArgs(1),
		RunE: f.with(false, func(cmd *cobra.Command, args []string, s *store.Store) error {
			user := ""
			if len(args) == 1 {
				user = args[0]
			}
			ts, err := s.Tokens(cmd.Context(), f.tenant, user)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(env.Stdout, map[string]any{"tokens": ts})
			}
			tw := tabwriter.NewWriter(termsafe.NewWriter(env.Stdout), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tNAME\tROLE\tEXPIRES\tLAST USED\tREVOKED")
			when := func(t time.Time) string {
				if t.IsZero() {
					return "-"
				}
				return t.Format(time.DateTime)
			}
			for _, t := range ts {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Name, t.Role, when(t.Expires), when(t.LastUsed), when(t.Revoked))
			}
			return tw.Flush()
		}),
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token of the tenant",
		Args:  cobra.ExactArgs(1),
		RunE: f.with(false, func(cmd *cobra.Command, args []string, s *store.Store) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return &usageError{fmt.Errorf("token id %q: not a number", args[0])}
			}
			if err := s.RevokeToken(cmd.Context(), f.tenant, "", id, actor()); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Revoked token %d\n", id)
			return nil
		}),
	}
	cmd.AddCommand(add, list, revoke)
	return cmd
}
