package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/fleet"
	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/server"
	"github.com/spoor-hunt/spoor/internal/store"
)

type serveFlags struct {
	data, storeURL, listen string
	tlsCert, tlsKey        string
	oidc                   server.OIDC
	oidcSecretFile         string
	maxUpload              int64
	// nats.url is an existing NATS cluster's URL (nats the flags that
	// connect to it); natsListen where the embedded server listens when
	// there is none ("" for no server), with TLS from natsTLS*.
	nats                               natsFlags
	natsListen                         string
	natsTLSCert, natsTLSKey, natsTLSCA string
	// workers is how many fleet workers serve runs per tenant.
	workers int
}

// tls12Suites are the TLS 1.2 cipher suites spoor serve accepts: the
// AEAD ones with forward secrecy, none of the list of RFC 7540's Appendix
// A, which TAXII 2.1 (section 8.2.2) says a server should not accept (TLS
// 1.3's suites are all AEAD).
var tls12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

func newServe(env Env) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve [--data DIR | --store URL] [--listen ADDR] [--tls-cert FILE --tls-key FILE]",
		Short: "Serve the investigation console and its JSON API over a case store",
		Long: `Serve runs the investigation console and the JSON API under /api/ that it
and scripts use, over a case store: a data folder (SQLite) or a PostgreSQL
URL. It speaks HTTPS only: with --tls-cert and --tls-key, or with a
self-signed certificate made in the data folder on first start, whose
SHA-256 fingerprint is printed to check the browser's warning against.

On first start (a store without tenants) it creates the tenant "default"
and its admin "admin" with the password in $SPOOR_ADMIN_PASSWORD, or a
generated one printed once.

The store is --data or --store, else $SPOOR_STORE (as spoor case reads
it), else the folder $SPOOR_DATA_DIR/cases, else spoor/cases under the
user's data folder. Evidence uploaded in the console is kept in the data
folder's uploads/ and hunted in the background, one upload at a time,
with the case's filters. The certificate made is kept in the data folder (the
default one with --store URL). Ctrl-C or SIGTERM stops it, letting requests
in flight finish.

Collectors (spoor ship) and workers (spoor worker) meet on NATS JetStream:
serve runs an embedded NATS server with JetStream, its streams kept in the
data folder's nats/, listening on --nats-listen; with --nats it uses an
existing cluster instead (docs/DEPLOYMENT.md). With --workers N it also
hunts what collectors publish, N workers per tenant of the store, in this
process (spoor worker runs them apart).

Once a credential was minted (spoor fleet credential add), the embedded
NATS server lets in only clients with one: each tenant is a NATS account
of its own, a collector's credential may only publish its tenant's
events, a worker's consume them. Until then it is open to whoever reaches
it, so it must listen on loopback only: serve refuses another
--nats-listen address without credentials. --nats-tls-cert and
--nats-tls-key make it speak TLS, and --nats-tls-ca ask clients for a
certificate (mutual TLS).

With --oidc-issuer, users may also log in through an OpenID Connect
provider (authorization code with PKCE) at /api/oidc/login. The ID token's
--oidc-user-claim names the spoor user they log in as, who must exist
(spoor user add) and be enabled; the tenant and role are that user's.`,
		Example: `  # Start the console on this machine
  spoor serve
  # A team's store, on all interfaces, with the organisation's certificate
  spoor serve --store postgres://spoor@db/spoor --listen :8443 --tls-cert site.pem --tls-key site.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd.Context(), env, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.data, "data", "", "case store folder (SQLite; also holds the self-signed certificate)")
	fl.StringVar(&f.storeURL, "store", "", "case store `URL` (postgres://…) instead of a folder")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8443", "`ADDR`ess to listen on (host:port)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate `FILE` (PEM, with its chain)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "TLS private key `FILE` (PEM)")
	fl.StringVar(&f.oidc.Issuer, "oidc-issuer", "", "log in through this OpenID Connect provider (issuer `URL`)")
	fl.StringVar(&f.oidc.ClientID, "oidc-client-id", "", "the console's client `ID` at the provider")
	fl.StringVar(&f.oidcSecretFile, "oidc-client-secret-file", "", "`FILE` holding the client secret")
	fl.StringVar(&f.oidc.RedirectURL, "oidc-redirect-url", "", "callback `URL` registered at the provider (default https://HOST/api/oidc/callback of the request)")
	fl.StringVar(&f.oidc.UserClaim, "oidc-user-claim", "preferred_username", "ID token `CLAIM` naming the spoor user")
	fl.Int64Var(&f.maxUpload, "max-upload", server.DefaultMaxUpload, "largest evidence upload in `BYTES` (kept under the data folder's uploads/)")
	fl.StringVar(&f.natsListen, "nats-listen", "127.0.0.1:4222", "`ADDR`ess of the embedded NATS JetStream server for collectors and workers (\"\" for none)")
	fl.StringVar(&f.nats.url, "nats", "", "use the NATS JetStream cluster at this `URL` instead of an embedded server")
	f.nats.registerAuth(fl)
	fl.StringVar(&f.natsTLSCert, "nats-tls-cert", "", "TLS certificate `FILE` (PEM) of the embedded NATS server")
	fl.StringVar(&f.natsTLSKey, "nats-tls-key", "", "TLS private key `FILE` (PEM) of the embedded NATS server")
	fl.StringVar(&f.natsTLSCA, "nats-tls-ca", "", "CA certificates `FILE` (PEM): the embedded NATS server's clients must show a certificate it signed")
	fl.IntVar(&f.workers, "workers", 0, "run `N` fleet workers per tenant in this process (as spoor worker does, with the default rules)")
	return cmd
}

func runServe(ctx context.Context, env Env, f serveFlags) error {
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return &usageError{errors.New("--tls-cert and --tls-key go together")}
	}
	if (f.natsTLSCert == "") != (f.natsTLSKey == "") || f.natsTLSCA != "" && f.natsTLSCert == "" {
		return &usageError{errors.New("--nats-tls-cert and --nats-tls-key go together (and --nats-tls-ca needs them)")}
	}
	if f.nats.url != "" && f.natsTLSCert != "" {
		return &usageError{errors.New("--nats-tls-cert is the embedded NATS server's: not with --nats (give --nats-ca to check the cluster)")}
	}
	target, dir, err := storeTarget(f.data, f.storeURL)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	cert, made, err := server.Certificate(f.tlsCert, f.tlsKey, dir)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, target)
	if err != nil {
		return err
	}
	defer st.Close()
	var provider *server.OIDCProvider
	if f.oidc.Issuer != "" {
		if provider, err = newOIDC(ctx, f); err != nil {
			return err
		}
	}
	pw, err := server.Bootstrap(ctx, st, os.Getenv(server.AdminPasswordEnv))
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	if pw != "" {
		fmt.Fprintf(env.Stdout, "First start: created user %q (tenant %q) with password\n  %s\nIt is shown only this once.\n",
			server.FirstAdmin, store.DefaultTenant, pw)
	}
	nt, err := startNATS(f, dir)
	if err != nil {
		return err
	}
	defer nt.stop()
	natsURL := nt.url
	if f.workers > 0 {
		if natsURL == "" {
			return &usageError{errors.New("--workers needs NATS: an embedded server (--nats-listen) or --nats")}
		}
		stopWorkers, err := startServeWorkers(ctx, env, st, nt, f.workers)
		if err != nil {
			return err
		}
		defer stopWorkers()
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	if made {
		fmt.Fprintf(env.Stdout, "Made a self-signed certificate in %s\n", dir)
	}
	if f.tlsCert == "" {
		fmt.Fprintf(env.Stdout, "Certificate SHA-256 fingerprint: %s\n", server.Fingerprint(cert))
	}
	console := server.New(st, server.Options{Logger: env.logger(), OIDC: provider, Hunt: huntIntoCase(st, env), DataDir: dir,
		MaxUpload: f.maxUpload, CaseSTIX: caseSTIX(st), Intel: intelIntoCase(st, env)})
	defer console.Close()
	srv := &http.Server{
		Handler:           console,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, CipherSuites: tls12Suites},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(env.logger().Handler(), slog.LevelDebug),
	}
	if natsURL != "" {
		fmt.Fprintf(env.Stdout, "NATS JetStream for collectors and workers at %s\n", fleet.RedactURL(natsURL))
		fmt.Fprintf(env.Stdout, "NATS: %s\n", nt.says)
	}
	fmt.Fprintf(env.Stdout, "Serving the console at https://%s/ (store: %s)\n", ln.Addr(), st.Backend())
	fmt.Fprintf(env.Stdout, "TAXII 2.1 at https://%s%s\n", ln.Addr(), server.TAXIIPrefix)
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	// Requests in flight get a while to finish; then the rest are cut.
	stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(stop); err != nil {
		srv.Close()
	}
	<-done
	return ctx.Err()
}

// serveNATS is the NATS of spoor serve: its URL ("" for none), what to
// say of how it is guarded, and how its workers connect.
type serveNATS struct {
	url, says string
	// accounts, when not nil, mint the workers' credentials, one per
	// tenant; else opts connect them all.
	accounts *fleet.Accounts
	opts     []nats.Option
	stop     func()
}

// connect connects a worker of tenant to the NATS of serve.
func (n *serveNATS) connect(tenant string) (*nats.Conn, jetstream.JetStream, error) {
	opts := n.opts
	if n.accounts != nil {
		token, seed, user, err := n.accounts.MintJWT(tenant, fleet.RoleWorker, "spoor serve workers", 0)
		if err != nil {
			return nil, nil, err
		}
		opts = append(slices.Clip(opts), nats.UserJWTAndSeed(token, string(seed)), nats.CustomInboxPrefix(fleet.InboxPrefix(user)))
	}
	return fleet.Connect(n.url, "spoor serve workers "+tenant, opts...)
}

// natsAuthDir is where the data folder dir keeps its NATS accounts.
func natsAuthDir(dir string) string { return filepath.Join(dir, "nats-auth") }

// startNATS starts the embedded NATS server of f under dir, unless f
// names a cluster or no listen address. With accounts in the data folder
// (a credential was minted) the server lets in their credentials only;
// without, it must listen on loopback.
func startNATS(f serveFlags, dir string) (*serveNATS, error) {
	accounts, err := fleet.OpenAccounts(natsAuthDir(dir), false)
	if errors.Is(err, fleet.ErrNoAccounts) {
		accounts, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("NATS accounts: %w", err)
	}
	n := &serveNATS{url: f.nats.url, accounts: accounts, stop: func() {}}
	if f.nats.url != "" {
		if n.opts, err = f.nats.options(); err != nil {
			return nil, err
		}
		n.says = "an existing cluster"
		if accounts != nil {
			n.says += ", workers with credentials of " + accounts.Dir()
		}
		return n, nil
	}
	if f.natsListen == "" {
		return n, nil
	}
	host, _, err := net.SplitHostPort(f.natsListen)
	if err != nil {
		return nil, &usageError{fmt.Errorf("--nats-listen %q: %w", f.natsListen, err)}
	}
	if accounts == nil && !loopback(host) {
		return nil, &usageError{fmt.Errorf("--nats-listen %s is not a loopback address and the embedded NATS server has no credentials: "+
			"anyone reaching it could publish and read every tenant's events. Mint credentials first (spoor fleet credential add --data %s ...), "+
			"or listen on 127.0.0.1", f.natsListen, dir)}
	}
	ns, err := fleet.Start(filepath.Join(dir, "nats"), fleet.ServerConfig{Listen: f.natsListen, Accounts: accounts,
		TLSCert: f.natsTLSCert, TLSKey: f.natsTLSKey, TLSClientCA: f.natsTLSCA})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS (--nats-listen %s): %w", f.natsListen, err)
	}
	n.url, n.stop, n.opts = ns.URL(), ns.Shutdown, []nats.Option{ns.InProcess()}
	if accounts != nil {
		n.says = "credentials of " + accounts.Dir() + " required"
	} else {
		n.says = "open to whoever reaches it: no credentials minted"
	}
	if f.natsTLSCert != "" {
		n.says += ", TLS"
	}
	return n, nil
}

// loopback reports whether host (of a listen address) is a loopback
// address or localhost; "" (every interface) is not.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// startServeWorkers runs n fleet workers for each tenant of st, with the
// default rules, until the returned function is called.
func startServeWorkers(ctx context.Context, env Env, st *store.Store, nt *serveNATS, n int) (stop func(), err error) {
	opts, err := (&workerFlags{}).huntOptions(env)
	if err != nil {
		return nil, err
	}
	rules, err := hunt.Compile(ctx, opts)
	if err != nil {
		return nil, err
	}
	tenants, err := st.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var conns []*nats.Conn
	stop = func() {
		cancel()
		wg.Wait()
		for _, nc := range conns {
			nc.Close()
		}
	}
	for _, t := range tenants {
		nc, js, err := nt.connect(t.Name)
		if err != nil {
			stop()
			return nil, fmt.Errorf("workers of tenant %q: %w", t.Name, err)
		}
		conns = append(conns, nc)
		for i := range n {
			wg.Go(func() {
				supervise(wctx, env.logger().With("tenant", t.Name), time.Second, func(ctx context.Context) error {
					return fleet.RunWorker(ctx, js, fleet.WorkerOptions{ID: fmt.Sprintf("%s-serve-%d", host, i), Tenant: t.Name, Store: st,
						Rules: rules, Hunt: opts, Logger: env.logger()})
				})
			})
		}
	}
	return stop, nil
}

// supervise runs a fleet worker until ctx is done, starting it again
// (after wait, doubled each time up to a minute) whenever it stops with an
// error: spoor worker exits for its supervisor to restart it, but a worker
// inside spoor serve has none, and one whose setup found no JetStream
// answer for a minute (a cluster away) left the server without workers
// for as long as it ran.
func supervise(ctx context.Context, log *slog.Logger, wait time.Duration, run func(context.Context) error) {
	for {
		err := run(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("stopped without an error")
		}
		log.Warn("fleet worker stopped: started again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

// newOIDC discovers the provider of f's flags, the secret read from its
// file (never from the command line, where other users could read it).
func newOIDC(ctx context.Context, f serveFlags) (*server.OIDCProvider, error) {
	if f.oidc.ClientID == "" || f.oidcSecretFile == "" {
		return nil, &usageError{errors.New("--oidc-issuer needs --oidc-client-id and --oidc-client-secret-file")}
	}
	secret, err := readBounded(f.oidcSecretFile, 4<<10)
	if err != nil {
		return nil, fmt.Errorf("--oidc-client-secret-file: %w", err)
	}
	f.oidc.ClientSecret = strings.TrimSpace(string(secret))
	if f.oidc.ClientSecret == "" {
		return nil, fmt.Errorf("--oidc-client-secret-file %s: empty", f.oidcSecretFile)
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return server.NewOIDC(dctx, f.oidc, nil)
}
