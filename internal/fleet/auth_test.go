package fleet_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/spoor-hunt/spoor/internal/fleet"
	"github.com/spoor-hunt/spoor/internal/fleettest"
	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// pki is a test CA and a certificate it signed for 127.0.0.1, as PEM
// files.
type pki struct {
	ca, cert, key string
}

// newPKI makes a CA and a certificate of it for 127.0.0.1 under dir.
func newPKI(t *testing.T, dir, name string) pki {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := pki{ca: filepath.Join(dir, name+"-ca.pem"), cert: filepath.Join(dir, name+".pem"), key: filepath.Join(dir, name+".key")}
	write := func(file, typ string, b []byte) {
		if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(p.ca, "CERTIFICATE", caDER)
	write(p.cert, "CERTIFICATE", der)
	write(p.key, "EC PRIVATE KEY", keyDER)
	return p
}

// securedNATS is an embedded server trusting fresh accounts, speaking
// TLS with a certificate of the returned PKI; with mutual, it asks
// clients for a certificate of that PKI's CA.
func securedNATS(t *testing.T, mutual bool) (*fleet.Server, *fleet.Accounts, pki) {
	t.Helper()
	dir := t.TempDir()
	accounts, err := fleet.OpenAccounts(filepath.Join(dir, "auth"), true)
	if err != nil {
		t.Fatal(err)
	}
	p := newPKI(t, dir, "server")
	cfg := fleet.ServerConfig{Listen: "127.0.0.1:0", Accounts: accounts, TLSCert: p.cert, TLSKey: p.key}
	if mutual {
		cfg.TLSClientCA = p.ca
	}
	srv, err := fleet.Start(filepath.Join(dir, "nats"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv, accounts, p
}

// mint writes a credential of role in tenant to a file and returns it.
func mint(t *testing.T, a *fleet.Accounts, tenant string, role fleet.Role) string {
	t.Helper()
	creds, _, err := a.Mint(tenant, role, tenant+" "+string(role), 0)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), tenant+"-"+string(role)+".creds")
	if err := fleet.WriteSecret(file, creds); err != nil {
		t.Fatal(err)
	}
	return file
}

// client connects with auth, and records the asynchronous errors the
// server sends (permission violations of subscriptions).
type client struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	mu   sync.Mutex
	errs []error
}

func connect(t *testing.T, url string, auth fleet.ClientAuth) *client {
	t.Helper()
	opts, err := auth.Options()
	if err != nil {
		t.Fatal(err)
	}
	c := &client{}
	opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		c.mu.Lock()
		c.errs = append(c.errs, err)
		c.mu.Unlock()
	}))
	if c.nc, c.js, err = fleet.Connect(url, "test", opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.nc.Close)
	return c
}

// denied reports whether the server said c a permission violation
// naming subject, forgetting what it said up to it. The client tells it
// on a goroutine of its own after the flush that brings it, so it is
// waited for, a minute at most (100 ms were once given: too few for a
// loaded machine).
func (c *client) denied(subject string) bool {
	c.nc.Flush()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		c.mu.Lock()
		for i, err := range c.errs {
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), strconv.Quote(subject)) {
				c.errs = c.errs[i+1:]
				c.mu.Unlock()
				return true
			}
		}
		c.mu.Unlock()
	}
	return false
}

func shortCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// messages is how many messages tenant's stream holds, as c sees it.
func messages(t *testing.T, c *client, tenant string) uint64 {
	t.Helper()
	st, err := c.js.Stream(shortCtx(t), fleet.StreamName(tenant))
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(shortCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestCredentials: with accounts and TLS, a client without credentials
// or checking the server with another CA is refused; a collector of
// tenant A publishes A's events and cannot publish B's nor read A's
// stream; a worker of A reads A's stream and cannot read B's.
func TestCredentials(t *testing.T) {
	srv, accounts, p := securedNATS(t, false)
	url := srv.URL()

	t.Run("refused", func(t *testing.T) {
		other := newPKI(t, t.TempDir(), "other")
		for _, c := range []struct {
			name string
			auth fleet.ClientAuth
			want func(error) bool
		}{
			{"no credential", fleet.ClientAuth{CA: p.ca}, func(err error) bool { return errors.Is(err, nats.ErrAuthorization) }},
			{"wrong CA", fleet.ClientAuth{CA: other.ca, Creds: mint(t, accounts, "A", fleet.RoleWorker)}, func(err error) bool {
				var unknown x509.UnknownAuthorityError
				return errors.As(err, &unknown)
			}},
			{"no TLS", fleet.ClientAuth{Creds: mint(t, accounts, "A", fleet.RoleWorker)}, func(err error) bool { return err != nil }},
		} {
			opts, err := c.auth.Options()
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, _, err = fleet.Connect(url, "test", opts...)
			if !c.want(err) {
				t.Errorf("%s: connect: %v, want refused", c.name, err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("%s: refused after %s, want at once", c.name, d)
			}
		}
	})

	workerA := connect(t, url, fleet.ClientAuth{CA: p.ca, Creds: mint(t, accounts, "A", fleet.RoleWorker)})
	workerB := connect(t, url, fleet.ClientAuth{CA: p.ca, Creds: mint(t, accounts, "B", fleet.RoleWorker)})
	for _, w := range []struct {
		c      *client
		tenant string
	}{{workerA, "A"}, {workerB, "B"}} {
		if _, err := fleet.EnsureStream(shortCtx(t), w.c.js, w.tenant, fleet.StreamOptions{}); err != nil {
			t.Fatalf("worker of %s: %v", w.tenant, err)
		}
		if err := fleet.EnsureConsumers(shortCtx(t), w.c.js, w.tenant, 0); err != nil {
			t.Fatalf("worker of %s: %v", w.tenant, err)
		}
		if _, err := fleet.EnsureBucket(shortCtx(t), w.c.js, w.tenant, time.Minute, 0); err != nil {
			t.Fatalf("worker of %s: %v", w.tenant, err)
		}
	}
	collectorA := connect(t, url, fleet.ClientAuth{CA: p.ca, Creds: mint(t, accounts, "A", fleet.RoleCollector)})
	h := fleet.Header{Tenant: "A", Case: "c", Host: "ws1", Input: fleet.Input{ID: "in", Path: "x.json"}}
	msg, err := fleet.NewEncoder(h).Message()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("collector publishes its tenant's events", func(t *testing.T) {
		if _, err := fleet.OpenStream(shortCtx(t), collectorA.js, "A"); err != nil {
			t.Fatal(err)
		}
		if _, err := collectorA.js.Publish(shortCtx(t), fleet.Subject("A", "ws1"), msg); err != nil {
			t.Fatal(err)
		}
		kv, err := fleet.Bucket(shortCtx(t), collectorA.js, "A", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := fleet.Report(shortCtx(t), kv, fleet.CollectorInfo{Name: "c1"}); err != nil {
			t.Fatalf("heartbeat: %v", err)
		}
		if n := messages(t, workerA, "A"); n != 1 {
			t.Errorf("A's stream holds %d messages, want 1", n)
		}
		// Before any worker: the collector makes the stream and bucket.
		first := connect(t, url, fleet.ClientAuth{CA: p.ca, Creds: mint(t, accounts, "C", fleet.RoleCollector)})
		if _, err := fleet.OpenStream(shortCtx(t), first.js, "C"); err != nil {
			t.Errorf("collector of C making its stream: %v", err)
		}
		if _, err := fleet.Bucket(shortCtx(t), first.js, "C", time.Minute); err != nil {
			t.Errorf("collector of C making its bucket: %v", err)
		}
	})

	t.Run("collector of A cannot publish B's events", func(t *testing.T) {
		if _, err := collectorA.js.Publish(shortCtx(t), fleet.Subject("B", "ws1"), msg); err == nil {
			t.Error("published to B's subject")
		}
		if !collectorA.denied(fleet.Subject("B", "ws1")) { // and forgotten
			t.Error("the server did not refuse a JetStream publish to B's subject")
		}
		if err := collectorA.nc.Publish(fleet.Subject("B", "ws1"), msg); err != nil {
			t.Fatal(err)
		}
		if !collectorA.denied(fleet.Subject("B", "ws1")) {
			t.Error("the server did not refuse a publish to B's subject")
		}
		if n := messages(t, workerB, "B"); n != 0 {
			t.Errorf("B's stream holds %d messages, want 0", n)
		}
	})

	t.Run("collector cannot read its tenant's stream", func(t *testing.T) {
		if _, err := collectorA.js.CreateOrUpdateConsumer(shortCtx(t), fleet.StreamName("A"), jetstream.ConsumerConfig{Durable: "spy"}); err == nil {
			t.Error("made a consumer of A's stream")
		}
		if c, err := collectorA.js.Consumer(shortCtx(t), fleet.StreamName("A"), fleet.ConsumerName(fleet.Partition("ws1"))); err == nil {
			if _, err := c.Next(jetstream.FetchMaxWait(time.Second)); err == nil {
				t.Error("fetched from a worker's consumer")
			}
		}
		st, err := collectorA.js.Stream(shortCtx(t), fleet.StreamName("A"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetMsg(shortCtx(t), 1); err == nil {
			t.Error("read a message of A's stream")
		}
		if _, err := collectorA.js.UpdateStream(shortCtx(t), jetstream.StreamConfig{Name: fleet.StreamName("A"), Subjects: []string{fleet.TenantSubjects("A")},
			MaxAge: time.Second}); err == nil {
			t.Error("changed A's stream")
		}
		sub, err := collectorA.nc.SubscribeSync(fleet.TenantSubjects("A"))
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		if !collectorA.denied(fleet.TenantSubjects("A")) {
			t.Error("the server let the collector subscribe to A's events")
		}
	})

	t.Run("worker of A reads A, not B", func(t *testing.T) {
		c, err := workerA.js.Consumer(shortCtx(t), fleet.StreamName("A"), fleet.ConsumerName(fleet.Partition("ws1")))
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Next(jetstream.FetchMaxWait(3 * time.Second))
		if err != nil {
			t.Fatalf("worker of A: %v", err)
		}
		if !strings.HasPrefix(m.Subject(), "spoor.A.events.") {
			t.Errorf("worker of A got %s", m.Subject())
		}
		if _, err := workerB.js.Publish(shortCtx(t), fleet.Subject("B", "ws1"), msg); err == nil {
			t.Error("a worker published events") // workers do not publish events
		}
		if _, err := workerA.js.Stream(shortCtx(t), fleet.StreamName("B")); !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("worker of A looking B's stream up: %v, want not found", err)
		}
		if _, err := workerA.js.Consumer(shortCtx(t), fleet.StreamName("B"), fleet.ConsumerName(0)); err == nil {
			t.Error("worker of A found a consumer of B's stream")
		}
		if kv, err := workerA.js.KeyValue(shortCtx(t), fleet.BucketName("B")); err == nil {
			t.Errorf("worker of A opened B's bucket %s", kv.Bucket())
		}
		sub, err := workerA.nc.SubscribeSync("_INBOX.>")
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		if !workerA.denied("_INBOX.>") {
			t.Error("the server let a worker subscribe to every inbox (other users' replies)")
		}
	})
}

// TestCredentialsShipAndHunt: the happy path through credentials and
// TLS: a collector of tenant default ships a folder of
// evtx-attack-samples, a worker hunts it; the case holds exactly the
// offline hunt's detections.
func TestCredentialsShipAndHunt(t *testing.T) {
	if testing.Short() {
		t.Skip("ships and hunts a folder through NATS")
	}
	dir := shared.Path(t, "datasets", "evtx-attack-samples", "Lateral Movement")
	ctx := context.Background()
	plain, err := hunt.Run(ctx, []string{dir}, huntOpts())
	if err != nil {
		t.Fatal(err)
	}
	srv, accounts, p := securedNATS(t, false)
	worker := connect(t, srv.URL(), fleet.ClientAuth{CA: p.ca, Creds: mint(t, accounts, "default", fleet.RoleWorker)})
	collector := connect(t, srv.URL(), fleet.ClientAuth{CA: p.ca, Creds: mint(t, accounts, "default", fleet.RoleCollector)})
	st, rules := storeAndRules(t)
	wctx, stop := context.WithCancel(ctx)
	stats := new(fleet.WorkerStats)
	var wg sync.WaitGroup
	wg.Go(func() {
		err := fleet.RunWorker(wctx, worker.js, fleet.WorkerOptions{ID: "w", Tenant: "default", Store: st, Rules: rules, Hunt: huntOpts(),
			RebuildAfter: 200 * time.Millisecond, Stats: stats})
		if err != context.Canceled {
			t.Errorf("worker: %v", err)
		}
	})
	defer func() { stop(); wg.Wait() }()
	if _, err := fleet.OpenStream(ctx, collector.js, "default"); err != nil {
		t.Fatal(err)
	}
	if err := fleet.Ship(ctx, fleet.JetStreamPublisher{JS: collector.js}, []string{dir},
		fleet.ShipOptions{Tenant: "default", Case: "auth", Collector: "c1", State: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	fleettest.Drained(t, worker.js, "default", func() bool { return stats.Dirty.Load() == 0 })
	if stats.Events.Load() != plain.Evidence.Events {
		t.Errorf("the worker hunted %d events, the offline hunt %d", stats.Events.Load(), plain.Evidence.Events)
	}
	fleettest.SameDetections(t, st, "default", "auth", plain)
}

// TestMutualTLS: a server asking for client certificates refuses a
// client without one, and lets in one whose certificate its CA signed.
func TestMutualTLS(t *testing.T) {
	srv, accounts, p := securedNATS(t, true)
	creds := mint(t, accounts, "A", fleet.RoleWorker)
	opts, err := fleet.ClientAuth{CA: p.ca, Creds: creds}.Options()
	if err != nil {
		t.Fatal(err)
	}
	// The refusal comes in one of several ways (an alert, the connection
	// closed after the handshake), as the timing falls: ten tries.
	for range 10 {
		if nc, _, err := fleet.Connect(srv.URL(), "test", opts...); err == nil {
			nc.Close()
			t.Fatal("connected without a client certificate")
		}
	}
	c := connect(t, srv.URL(), fleet.ClientAuth{CA: p.ca, Creds: creds, Cert: p.cert, Key: p.key})
	if _, err := c.js.AccountInfo(shortCtx(t)); err != nil {
		t.Errorf("with a client certificate: %v", err)
	}
}

// TestMintConcurrent: processes minting credentials of a new tenant at
// once (each its own Accounts over the folder) put them all in one
// account.
func TestMintConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "auth")
	if _, err := fleet.OpenAccounts(dir, true); err != nil {
		t.Fatal(err)
	}
	issuers := make([]string, 8)
	var wg sync.WaitGroup
	for i := range issuers {
		wg.Go(func() {
			a, err := fleet.OpenAccounts(dir, false)
			if err != nil {
				t.Error(err)
				return
			}
			token, _, _, err := a.MintJWT("new tenant", fleet.RoleCollector, "c", 0)
			if err != nil {
				t.Error(err)
				return
			}
			claims, err := jwt.DecodeUserClaims(token)
			if err != nil {
				t.Error(err)
				return
			}
			issuers[i] = claims.Issuer
		})
	}
	wg.Wait()
	for i, iss := range issuers {
		if iss != issuers[0] {
			t.Errorf("credential %d issued by account %s, credential 0 by %s", i, iss, issuers[0])
		}
	}
	a, _ := fleet.OpenAccounts(dir, false)
	if pub, err := a.Tenant("new tenant"); err != nil || pub != issuers[0] {
		t.Errorf("the tenant's account is %s (%v), its credentials' %s", pub, err, issuers[0])
	}
}

// TestUserPasswordAndNKey: against a NATS server of its operator's own
// users, a user with the password in its file, and an nkey user with the
// seed in its file, connect; a wrong password is refused at once, and
// the errors name the files that cannot be read.
func TestUserPasswordAndNKey(t *testing.T) {
	dir := t.TempDir()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, NoLog: true,
		Users: []*server.User{{Username: "hunter", Password: "s3cret pass"}}, Nkeys: []*server.NkeyUser{{Nkey: pub}}})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, bad := file("pw", "s3cret pass\n"), file("bad", "guess\n")
	nkey := file("user.nk", string(seed)+"\n")
	for _, c := range []struct {
		name string
		auth fleet.ClientAuth
		ok   bool
	}{
		{"password", fleet.ClientAuth{User: "hunter", PasswordFile: good}, true},
		{"nkey", fleet.ClientAuth{NKey: nkey}, true},
		{"wrong password", fleet.ClientAuth{User: "hunter", PasswordFile: bad}, false},
	} {
		opts, err := c.auth.Options()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		nc, _, err := fleet.Connect(ns.ClientURL(), "test", opts...)
		if (err == nil) != c.ok {
			t.Errorf("%s: connect: %v, want ok %v", c.name, err, c.ok)
		}
		if err == nil {
			nc.Close()
		}
		if err != nil && strings.Contains(err.Error(), "guess") {
			t.Errorf("%s: the error shows the password: %v", c.name, err)
		}
	}
	missing := filepath.Join(dir, "missing")
	for _, a := range []fleet.ClientAuth{
		{User: "hunter", PasswordFile: missing}, {NKey: missing}, {Creds: missing}, {CA: missing},
		{Cert: missing, Key: missing}, {NKey: good}, {Creds: good}, {CA: good},
	} {
		_, err := a.Options()
		if err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("%+v: %v, want an error naming the file", a, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%+v: the error shows the file's secret: %v", a, err)
		}
	}
	for _, a := range []fleet.ClientAuth{{User: "hunter"}, {PasswordFile: good}, {Cert: good}, {NKey: nkey, User: "hunter", PasswordFile: good}} {
		if err := a.Validate(); err == nil {
			t.Errorf("%+v: valid, want a usage error", a)
		}
	}
}
