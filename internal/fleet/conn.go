package fleet

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// ClientAuth is how a NATS client of spoor (ship, worker, serve's workers
// with --nats, fleet status) proves who it is and checks the server: one
// of a .creds file (a user JWT and its nkey seed, what spoor fleet
// credential add writes), a user and a password file, or an nkey seed
// file; and TLS: a CA to check the server's certificate with, and a
// certificate and key of the client's own (mutual TLS). Fields are file
// paths; the zero value connects as before, without either.
type ClientAuth struct {
	Creds        string // .creds file: user JWT and nkey seed
	User         string // user name, with PasswordFile
	PasswordFile string // file holding User's password
	NKey         string // file holding an nkey seed (SU...)
	CA           string // PEM CA certificates checking the server
	Cert, Key    string // PEM client certificate and key (mutual TLS)
}

// maxSecretFile bounds the files ClientAuth reads.
const maxSecretFile = 64 << 10

// Validate reports flags given without their partner, or more than one
// way of proving who the client is.
func (a ClientAuth) Validate() error {
	n := 0
	for _, s := range []string{a.Creds, a.User + a.PasswordFile, a.NKey} {
		if s != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return errors.New("give one of --nats-creds, --nats-user with --nats-password-file, --nats-nkey")
	case (a.User == "") != (a.PasswordFile == ""):
		return errors.New("--nats-user and --nats-password-file go together")
	case (a.Cert == "") != (a.Key == ""):
		return errors.New("--nats-cert and --nats-key go together")
	}
	return nil
}

// Options reads a's files and returns the nats options that use them;
// an error names the file that could not be read or used. Secrets stay
// in memory, never in an error.
func (a ClientAuth) Options() ([]nats.Option, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	var opts []nats.Option
	switch {
	case a.Creds != "":
		o, err := credsOptions(a.Creds)
		if err != nil {
			return nil, err
		}
		opts = append(opts, o...)
	case a.User != "":
		b, err := readSecret(a.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("--nats-password-file: %w", err)
		}
		pw := strings.TrimRight(string(b), "\r\n")
		if pw == "" {
			return nil, fmt.Errorf("--nats-password-file %s: empty", a.PasswordFile)
		}
		opts = append(opts, nats.UserInfo(a.User, pw))
	case a.NKey != "":
		b, err := readSecret(a.NKey)
		if err != nil {
			return nil, fmt.Errorf("--nats-nkey: %w", err)
		}
		kp, err := jwt.ParseDecoratedNKey(b)
		if err != nil {
			return nil, fmt.Errorf("--nats-nkey %s: no nkey seed in it", a.NKey)
		}
		pub, err := kp.PublicKey()
		if err != nil || !nkeys.IsValidPublicUserKey(pub) {
			return nil, fmt.Errorf("--nats-nkey %s: not a user's nkey seed (SU...)", a.NKey)
		}
		opts = append(opts, nats.Nkey(pub, kp.Sign))
	}
	if a.CA != "" || a.Cert != "" {
		cfg, err := a.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Secure(cfg))
	}
	return opts, nil
}

func (a ClientAuth) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if a.CA != "" {
		pool, err := CertPool(a.CA)
		if err != nil {
			return nil, fmt.Errorf("--nats-ca: %w", err)
		}
		cfg.RootCAs = pool
	}
	if a.Cert != "" {
		cert, err := tls.LoadX509KeyPair(a.Cert, a.Key)
		if err != nil {
			return nil, fmt.Errorf("--nats-cert %s, --nats-key %s: %w", a.Cert, a.Key, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// CertPool reads the PEM certificates of file into a pool.
func CertPool(file string) (*x509.CertPool, error) {
	b, err := readSecret(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", file)
	}
	return pool, nil
}

// credsOptions reads a .creds file: the user JWT and the seed signing
// the server's nonce. When the JWT lets the user subscribe only under
// its own inbox prefix (_INBOX.<user>.>, as spoor's credentials do, so
// that no other user of the account reads its replies), the connection
// takes that prefix.
func credsOptions(file string) ([]nats.Option, error) {
	b, err := readSecret(file)
	if err != nil {
		return nil, fmt.Errorf("--nats-creds: %w", err)
	}
	token, err := jwt.ParseDecoratedJWT(b)
	if err != nil || token == "" {
		return nil, fmt.Errorf("--nats-creds %s: no user JWT in it", file)
	}
	claims, err := jwt.DecodeUserClaims(token)
	if err != nil {
		return nil, fmt.Errorf("--nats-creds %s: user JWT: %w", file, err)
	}
	kp, err := jwt.ParseDecoratedUserNKey(b)
	if err != nil {
		return nil, fmt.Errorf("--nats-creds %s: no user nkey seed in it", file)
	}
	if pub, err := kp.PublicKey(); err != nil || pub != claims.Subject {
		return nil, fmt.Errorf("--nats-creds %s: the seed is not the JWT's user's", file)
	}
	opts := []nats.Option{nats.UserJWT(
		func() (string, error) { return token, nil },
		func(nonce []byte) ([]byte, error) { return kp.Sign(nonce) },
	)}
	if prefix := InboxPrefix(claims.Subject); claims.Sub.Allow.Contains(prefix + ".>") {
		opts = append(opts, nats.CustomInboxPrefix(prefix))
	}
	return opts, nil
}

// InboxPrefix is the inbox prefix of the user whose public key is user:
// the only replies a spoor credential may subscribe to.
func InboxPrefix(user string) string { return "_INBOX." + user }

// readSecret reads a small file (a key, a password, certificates); the
// error names it.
func readSecret(file string) ([]byte, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if len(b) > maxSecretFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxSecretFile)
	}
	return b, nil
}
