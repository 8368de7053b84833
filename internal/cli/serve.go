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
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/cachedir"
	"github.com/spoor-hunt/spoor/internal/server"
	"github.com/spoor-hunt/spoor/internal/store"
)

type serveFlags struct {
	data, storeURL, listen string
	tlsCert, tlsKey        string
	maxUpload              int64
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
in flight finish.`,
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
	fl.Int64Var(&f.maxUpload, "max-upload", server.DefaultMaxUpload, "largest evidence upload in `BYTES` (kept under the data folder's uploads/)")
	return cmd
}

func runServe(ctx context.Context, env Env, f serveFlags) error {
	if f.data != "" && f.storeURL != "" {
		return &usageError{errors.New("--data and --store go one at a time")}
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return &usageError{errors.New("--tls-cert and --tls-key go together")}
	}
	if f.data == "" && f.storeURL == "" {
		// The store `spoor case` reads, when one is set.
		if env := os.Getenv("SPOOR_STORE"); strings.Contains(env, "://") {
			f.storeURL = env
		} else {
			f.data = env
		}
	}
	dir := f.data
	if dir == "" {
		d, err := cachedir.DataDir("cases")
		if err != nil {
			return err
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	cert, made, err := server.Certificate(f.tlsCert, f.tlsKey, dir)
	if err != nil {
		return err
	}
	target := dir
	if f.storeURL != "" {
		target = f.storeURL
	}
	st, err := store.Open(ctx, target)
	if err != nil {
		return err
	}
	defer st.Close()
	pw, err := server.Bootstrap(ctx, st, os.Getenv(server.AdminPasswordEnv))
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	if pw != "" {
		fmt.Fprintf(env.Stdout, "First start: created user %q (tenant %q) with password\n  %s\nIt is shown only this once.\n",
			server.FirstAdmin, store.DefaultTenant, pw)
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
	console := server.New(st, server.Options{Logger: env.logger(), Hunt: huntIntoCase(st, env), DataDir: dir, MaxUpload: f.maxUpload})
	defer console.Close()
	srv := &http.Server{
		Handler:           console,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(env.logger().Handler(), slog.LevelDebug),
	}
	fmt.Fprintf(env.Stdout, "Serving the console at https://%s/ (store: %s)\n", ln.Addr(), st.Backend())
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
