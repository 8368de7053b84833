package fleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is a NATS server with JetStream embedded in the process (spoor
// serve's by default, and the tests').
type Server struct {
	ns *server.Server
}

// StartServer starts a NATS server with JetStream keeping its streams in
// files under dir, listening on listen (host:port; port 0 picks a free
// one), and waits until it takes connections.
func StartServer(dir, listen string) (*Server, error) {
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("nats listen address %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("nats listen address %q: bad port", listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "spoor",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
	})
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
// cluster) as name, reconnecting for ever when the connection drops: the
// callers retry what failed meanwhile.
func Connect(url, name string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(500*time.Millisecond),
		nats.RetryOnFailedConnect(true))
	if err != nil {
		return nil, nil, fmt.Errorf("nats %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// StreamOptions configure a tenant's stream.
type StreamOptions struct {
	// MaxAge is how long events are kept; 0 means 7 days. The stream is a
	// log, not a queue: what workers acknowledged stays until then, so a
	// case can be hunted again from it.
	MaxAge time.Duration
	// MaxBytes bounds the stream's size (oldest dropped first); 0: none.
	MaxBytes int64
	// Replicas is how many servers of a cluster keep it; 0 means 1.
	Replicas int
}

// DuplicateWindow is how long JetStream remembers message ids: a batch
// published again within it is stored once.
const DuplicateWindow = 10 * time.Minute

// EnsureStream creates tenant's stream (file storage, its subjects) or
// updates it to opts.
func EnsureStream(ctx context.Context, js jetstream.JetStream, tenant string, opts StreamOptions) (jetstream.Stream, error) {
	if opts.MaxAge == 0 {
		opts.MaxAge = 7 * 24 * time.Hour
	}
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	cfg := jetstream.StreamConfig{
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
	if opts.MaxBytes == 0 {
		cfg.MaxBytes = -1
	}
	st, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", cfg.Name, err)
	}
	return st, nil
}
