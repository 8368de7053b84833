package fleet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	neturl "net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is a NATS server with JetStream embedded in the process (spoor
// serve's by default, and the tests').
type Server struct {
	ns *server.Server
}

// ServerConfig configures an embedded server beyond its folder.
type ServerConfig struct {
	// Listen is host:port (port 0 picks a free one).
	Listen string
	// Accounts, when set, are the only way in: every client needs a
	// credential they minted (a user JWT of a tenant's account).
	Accounts *Accounts
	// TLSCert and TLSKey (PEM files) make clients speak TLS; with
	// TLSClientCA they must also show a certificate it signed.
	TLSCert, TLSKey, TLSClientCA string
}

// StartServer starts a NATS server with JetStream keeping its streams in
// files under dir, listening on listen (host:port; port 0 picks a free
// one), open to anyone who reaches it, and waits until it takes
// connections.
func StartServer(dir, listen string) (*Server, error) {
	return Start(dir, ServerConfig{Listen: listen})
}

// Start starts a NATS server with JetStream keeping its streams in files
// under dir, as cfg says, and waits until it takes connections.
func Start(dir string, cfg ServerConfig) (*Server, error) {
	host, portText, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats listen address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("nats listen address %q: bad port", cfg.Listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		ServerName: "spoor",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
	}
	if a := cfg.Accounts; a != nil {
		oc, err := jwt.DecodeOperatorClaims(a.opJWT)
		if err != nil {
			return nil, fmt.Errorf("operator of %s: %w", a.dir, err)
		}
		opts.TrustedOperators = []*jwt.OperatorClaims{oc}
		opts.AccountResolver = resolver{a}
		opts.SystemAccount = a.system
	}
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		tc, err := serverTLS(cfg)
		if err != nil {
			return nil, err
		}
		opts.TLS, opts.TLSConfig, opts.TLSTimeout = true, tc, 2
		opts.TLSVerify = cfg.TLSClientCA != ""
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("nats server: not ready within 30 s")
	}
	return &Server{ns: ns}, nil
}

// serverTLS is the TLS configuration of cfg's files.
func serverTLS(cfg ServerConfig) (*tls.Config, error) {
	if cfg.TLSCert == "" || cfg.TLSKey == "" {
		return nil, errors.New("--nats-tls-cert and --nats-tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("--nats-tls-cert %s, --nats-tls-key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.TLSClientCA != "" {
		pool, err := CertPool(cfg.TLSClientCA)
		if err != nil {
			return nil, fmt.Errorf("--nats-tls-ca: %w", err)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// InProcess is the option that connects a client of this process to the
// server without a socket (nor TLS).
func (s *Server) InProcess() nats.Option { return nats.InProcessServer(s.ns) }

func (resolver) Start(*server.Server) error { return nil }

// URL is the server's client URL (nats://host:port).
func (s *Server) URL() string { return s.ns.ClientURL() }

// Shutdown stops the server and waits until it has.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// MaxMessage is the largest batch message a collector publishes: NATS's
// default max_payload.
const MaxMessage = 1 << 20

// Connect connects to the NATS server(s) at url (comma-separated for a
// cluster) as name, with opts (ClientAuth.Options' among them),
// reconnecting for ever when the connection drops: the callers retry what
// failed meanwhile. A server that is away at first is waited for; one
// that refuses the client (no or wrong credentials, a certificate that
// does not check) is an error at once.
func Connect(url, name string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	base := append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(500 * time.Millisecond)}, opts...)
	nc, err := nats.Connect(url, base...)
	if err != nil && !refused(err) {
		nc, err = nats.Connect(url, append(base, nats.RetryOnFailedConnect(true))...)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("nats %s: %w", RedactURL(url), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// refused reports whether err is the server refusing the client, not
// its being away: retrying would not help. A TLS failure (a certificate
// that does not check, the server's alert or its closing the connection
// right after the handshake: a client certificate required or refused)
// is one.
func refused(err error) bool {
	// crypto/tls reports an alert the server sent after the handshake as
	// a net.OpError of Op "remote error".
	var op *net.OpError
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) || errors.Is(err, nats.ErrAuthRevoked) ||
		errors.Is(err, nats.ErrAccountAuthExpired) || errors.Is(err, nats.ErrSecureConnRequired) || errors.Is(err, nats.ErrSecureConnWanted) ||
		errors.Is(err, nats.ErrTLS) || errors.As(err, &op) && op.Op == "remote error"
}

// RedactURL returns the NATS URLs in url (comma-separated) with any
// password in them replaced by "xxxxx", for messages.
func RedactURL(url string) string {
	parts := strings.Split(url, ",")
	for i, p := range parts {
		u, err := neturl.Parse(strings.TrimSpace(p))
		if err != nil {
			if strings.Contains(p, "@") {
				parts[i] = "(a URL with credentials)"
			}
			continue
		}
		if u.User != nil {
			if _, ok := u.User.Password(); ok {
				u.User = neturl.UserPassword(u.User.Username(), "xxxxx")
			} else {
				u.User = neturl.User("xxxxx") // a token
			}
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// StreamOptions configure a tenant's stream. A zero field keeps what an
// existing stream has; a new one has the default.
type StreamOptions struct {
	// MaxAge is how long events are kept; 7 days by default. The stream
	// is a log, not a queue: what workers acknowledged stays until then,
	// so a case can be hunted again from it.
	MaxAge time.Duration
	// MaxBytes bounds the stream's size (oldest dropped first); none by
	// default.
	MaxBytes int64
	// Replicas is how many servers of a cluster keep it; 1 by default.
	Replicas int
}

// DuplicateWindow is how long JetStream remembers message ids: a batch
// published again within it is stored once.
const DuplicateWindow = 10 * time.Minute

// EnsureStream creates tenant's stream (file storage, its subjects) or
// updates it to opts (a workers').
func EnsureStream(ctx context.Context, js jetstream.JetStream, tenant string, opts StreamOptions) (jetstream.Stream, error) {
	name := StreamName(tenant)
	st, err := js.Stream(ctx, name)
	switch {
	case err == nil:
		old := st.CachedInfo().Config
		if opts.MaxAge == 0 {
			opts.MaxAge = old.MaxAge
		}
		if opts.MaxBytes == 0 {
			opts.MaxBytes = old.MaxBytes
		}
		if opts.Replicas == 0 {
			opts.Replicas = old.Replicas
		}
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	st, err = js.CreateOrUpdateStream(ctx, streamConfig(tenant, opts))
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	return st, nil
}

// OpenStream returns tenant's stream, created with the defaults when
// missing, never changed (a collector's: its credential may look the
// stream up and create it, not change it).
func OpenStream(ctx context.Context, js jetstream.JetStream, tenant string) (jetstream.Stream, error) {
	name := StreamName(tenant)
	var st jetstream.Stream
	err := unanswered(ctx, func(ctx context.Context) (err error) {
		st, err = js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			st, err = js.CreateStream(ctx, streamConfig(tenant, StreamOptions{}))
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				st, err = js.Stream(ctx, name)
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	return st, nil
}

// unanswered calls fn until it returns anything but JetStream not
// answering (a timeout, no responders), a minute at most: a cluster
// starting, electing a leader, or (nats-server 2.9) dropping the first
// request of an account it had not met.
func unanswered(ctx context.Context, fn func(context.Context) error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := fn(ctx)
		unanswered := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders)
		if err == nil || ctx.Err() != nil || !unanswered {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("NATS JetStream gave no answer for a minute (is the server up, with JetStream on?): %w", err)
		}
		sleep(ctx, time.Second)
	}
}

func streamConfig(tenant string, opts StreamOptions) jetstream.StreamConfig {
	if opts.MaxAge == 0 {
		opts.MaxAge = 7 * 24 * time.Hour
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = -1
	}
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	return jetstream.StreamConfig{
		Name:        StreamName(tenant),
		Description: "spoor events of tenant " + tenant,
		Subjects:    []string{TenantSubjects(tenant)},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      opts.MaxAge,
		MaxBytes:    opts.MaxBytes,
		Replicas:    opts.Replicas,
		Duplicates:  DuplicateWindow,
		Discard:     jetstream.DiscardOld,
	}
}

// EnsureBucket creates tenant's bucket (workers, leases, collectors; keys
// living ttl past their last write) or updates it to ttl and replicas (0
// keeps what the bucket has, 1 when made).
func EnsureBucket(ctx context.Context, js jetstream.JetStream, tenant string, ttl time.Duration, replicas int) (jetstream.KeyValue, error) {
	name := BucketName(tenant)
	if replicas == 0 {
		replicas = 1
		if st, err := js.Stream(ctx, "KV_"+name); err == nil {
			replicas = st.CachedInfo().Config.Replicas
		}
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: name, TTL: ttl, Storage: jetstream.FileStorage, Replicas: replicas,
		Description: "spoor fleet workers and partition leases",
	})
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", name, err)
	}
	return kv, nil
}
