package cli

import (
	"os"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/pflag"

	"github.com/spoor-hunt/spoor/internal/fleet"
)

// natsFlags are the flags of every NATS client command (ship, worker,
// fleet status; serve's with --nats): where the servers are and how to
// prove who it is and check them. Each flag but the URL's is a file, and
// defaults to its $SPOOR_NATS_* variable.
type natsFlags struct {
	url  string
	auth fleet.ClientAuth
}

// defaultNATS is the NATS URL collectors and workers use without --nats:
// $SPOOR_NATS, else the embedded server of a spoor serve on this machine.
func defaultNATS() string {
	if u := os.Getenv("SPOOR_NATS"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// register adds --nats (defaulting to defaultNATS) and the auth flags.
func (f *natsFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.url, "nats", defaultNATS(), "NATS `URL` (comma-separated for a cluster; default $SPOOR_NATS)")
	f.registerAuth(fl)
}

// registerAuth adds the flags of f.auth.
func (f *natsFlags) registerAuth(fl *pflag.FlagSet) {
	a := &f.auth
	fl.StringVar(&a.Creds, "nats-creds", os.Getenv("SPOOR_NATS_CREDS"), "NATS credentials `FILE` (user JWT and nkey seed; spoor fleet credential add writes one; default $SPOOR_NATS_CREDS)")
	fl.StringVar(&a.User, "nats-user", os.Getenv("SPOOR_NATS_USER"), "NATS `USER`, with --nats-password-file (default $SPOOR_NATS_USER)")
	fl.StringVar(&a.PasswordFile, "nats-password-file", os.Getenv("SPOOR_NATS_PASSWORD_FILE"), "`FILE` holding the NATS user's password (default $SPOOR_NATS_PASSWORD_FILE)")
	fl.StringVar(&a.NKey, "nats-nkey", os.Getenv("SPOOR_NATS_NKEY"), "`FILE` holding a NATS user nkey seed (default $SPOOR_NATS_NKEY)")
	fl.StringVar(&a.CA, "nats-ca", os.Getenv("SPOOR_NATS_CA"), "CA certificates `FILE` (PEM) checking the NATS servers' TLS certificates (default $SPOOR_NATS_CA)")
	fl.StringVar(&a.Cert, "nats-cert", os.Getenv("SPOOR_NATS_CERT"), "client certificate `FILE` (PEM) for NATS mutual TLS, with --nats-key (default $SPOOR_NATS_CERT)")
	fl.StringVar(&a.Key, "nats-key", os.Getenv("SPOOR_NATS_KEY"), "client private key `FILE` (PEM) for NATS mutual TLS (default $SPOOR_NATS_KEY)")
}

// options are the nats options of f's auth flags; a flag given without
// its partner is a usage error.
func (f *natsFlags) options() ([]nats.Option, error) {
	if err := f.auth.Validate(); err != nil {
		return nil, &usageError{err}
	}
	return f.auth.Options()
}

// connect connects to f's servers as name.
func (f *natsFlags) connect(name string) (*nats.Conn, jetstream.JetStream, error) {
	opts, err := f.options()
	if err != nil {
		return nil, nil, err
	}
	return fleet.Connect(f.url, name, opts...)
}
