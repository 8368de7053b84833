package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/fleet"
	"github.com/spoor-hunt/spoor/internal/server"
	"github.com/spoor-hunt/spoor/internal/shared"
)

// serving is a `spoor serve` running in the test.
type serving struct {
	url  string
	out  []string // stdout lines up to the "Serving" one
	stop context.CancelFunc
	code chan int
}

// startServe runs spoor serve with args on a free port and waits for it to
// say where it serves.
func startServe(t *testing.T, args ...string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	s := &serving{stop: cancel, code: make(chan int, 1)}
	var stderr bytes.Buffer
	go func() {
		s.code <- Execute(ctx, Env{Stdout: pw, Stderr: &stderr}, append([]string{"serve", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}, args...))
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		s.out = append(s.out, line)
		if rest, ok := strings.CutPrefix(line, "Serving the console at "); ok {
			s.url, _, _ = strings.Cut(rest, " ")
			s.url = strings.TrimSuffix(s.url, "/")
			break
		}
	}
	if s.url == "" {
		t.Fatalf("spoor serve did not start: %d %q %s", <-s.code, s.out, &stderr)
	}
	go io.Copy(io.Discard, pr)
	t.Cleanup(func() { s.shutdown(t) })
	return s
}

// shutdown stops the server as Ctrl-C does and checks it ends so.
func (s *serving) shutdown(t *testing.T) {
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case code := <-s.code:
		if code != ExitInterrupted {
			t.Errorf("spoor serve stopped: exit %d, want %d", code, ExitInterrupted)
		}
	case <-time.After(time.Minute): // a guard against a hang, not a measurement
		t.Fatal("spoor serve did not stop")
	}
}

func TestServeFirstStartOverTLS(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(server.AdminPasswordEnv, "")
	s := startServe(t, "--data", dir)
	out := strings.Join(s.out, "\n")

	// The password is printed once, on the line after the announcement.
	var password, fingerprint string
	for i, l := range s.out {
		if strings.HasPrefix(l, "First start:") && i+1 < len(s.out) {
			password = strings.TrimSpace(s.out[i+1])
		}
		if f, ok := strings.CutPrefix(l, "Certificate SHA-256 fingerprint: "); ok {
			fingerprint = f
		}
	}
	if len(password) < 20 || fingerprint == "" {
		t.Fatalf("no generated password or fingerprint in:\n%s", out)
	}

	// The client trusts the certificate made in the data folder, and it is
	// the one whose fingerprint was printed.
	pemBytes, err := os.ReadFile(filepath.Join(dir, server.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		t.Fatal("certificate file holds no certificate")
	}
	if fi, err := os.Stat(filepath.Join(dir, server.KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, %v, want mode 0600", fi, err)
	}
	var seen string
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: roots,
		VerifyConnection: func(cs tls.ConnectionState) error {
			seen = server.Fingerprint(tls.Certificate{Certificate: [][]byte{cs.PeerCertificates[0].Raw}})
			return nil
		},
	}}}
	t.Cleanup(client.CloseIdleConnections)

	body, _ := json.Marshal(map[string]string{"user": server.FirstAdmin, "password": password})
	resp, err := client.Post(s.url+"/api/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login with the printed password: %s", resp.Status)
	}
	if seen != fingerprint {
		t.Errorf("served certificate %s, printed %s", seen, fingerprint)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == server.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v: want Secure, HttpOnly, SameSite=Strict", cookie)
	}
	req, _ := http.NewRequest("GET", s.url+"/api/me", nil)
	req.AddCookie(cookie)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me struct{ User, Tenant, Role string }
	json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if me.User != "admin" || me.Tenant != "default" || me.Role != "admin" || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("me: %+v, HSTS %q", me, resp.Header.Get("Strict-Transport-Security"))
	}
	s.shutdown(t)

	// The second start keeps the account and the certificate, and prints
	// no password.
	again := startServe(t, "--data", dir)
	if joined := strings.Join(again.out, "\n"); strings.Contains(joined, password) || strings.Contains(joined, "First start") ||
		!strings.Contains(joined, fingerprint) {
		t.Errorf("second start printed:\n%s", joined)
	}
}

func TestServeAdminPasswordFromEnv(t *testing.T) {
	t.Setenv(server.AdminPasswordEnv, "short")
	code, _, stderr := run(t, t.Context(), "serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	if code != ExitFailure || !strings.Contains(stderr, server.AdminPasswordEnv) {
		t.Errorf("a short %s: exit %d, %q", server.AdminPasswordEnv, code, stderr)
	}
	t.Setenv(server.AdminPasswordEnv, "a long enough password")
	s := startServe(t, "--data", t.TempDir())
	if strings.Contains(strings.Join(s.out, "\n"), "First start") {
		t.Errorf("a password from the environment was announced:\n%s", strings.Join(s.out, "\n"))
	}
}

func TestServeUsage(t *testing.T) {
	code, _, stderr := run(t, t.Context(), "serve", "--data", t.TempDir(), "--store", "postgres://x@127.0.0.1/none")
	if code != ExitUsage || !strings.Contains(stderr, "--data and --store") {
		t.Errorf("--data with --store: exit %d, %q", code, stderr)
	}
	dir := t.TempDir()
	code, _, stderr = run(t, t.Context(), "serve", "--data", dir, "--tls-cert", filepath.Join(dir, "c.pem"))
	if code != ExitUsage || !strings.Contains(stderr, "--tls-key") {
		t.Errorf("--tls-cert alone: exit %d, %q", code, stderr)
	}
}

// TestServeNATS: spoor serve runs an embedded NATS JetStream server, its
// streams kept under the data folder, that collectors and workers reach
// at the URL it prints.
func TestServeNATS(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, "--data", dir)
	var url string
	for _, l := range s.out {
		if rest, ok := strings.CutPrefix(l, "NATS JetStream for collectors and workers at "); ok {
			url = rest
		}
	}
	if url == "" {
		t.Fatalf("serve did not say where NATS is: %q", s.out)
	}
	nc, js, err := fleet.Connect(url, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := fleet.EnsureStream(t.Context(), js, "default", fleet.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nats", "jetstream")); err != nil {
		t.Errorf("no JetStream files under the data folder: %v", err)
	}
}

// TestServeWorkers: with --workers, spoor serve hunts what a collector
// ships to its embedded NATS server into its own store.
func TestServeWorkers(t *testing.T) {
	dir := t.TempDir()
	evidence := shared.Path(t, "datasets", "evtx-attack-samples", "Lateral Movement")
	s := startServe(t, "--data", dir, "--workers", "1")
	var url string
	for _, l := range s.out {
		if rest, ok := strings.CutPrefix(l, "NATS JetStream for collectors and workers at "); ok {
			url = rest
		}
	}
	t.Setenv("SPOOR_DATA_DIR", t.TempDir())
	if code, _, stderr := run(t, t.Context(), "ship", evidence, "--nats", url, "--case", "shipped"); code != 0 {
		t.Fatalf("ship: %d %s", code, stderr)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		code, stdout, _ := run(t, t.Context(), "case", "show", "shipped", "--store", dir)
		if code == 0 && strings.Contains(stdout, "fleet:") && caseDetections(stdout) > 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("the case got no detections from serve's workers within 2 minutes")
}

// caseDetections is the count of detections spoor case show says; -1
// when it says none. (Its text was once looked for "0 detections" in,
// which "10 detections" holds too.)
func caseDetections(stdout string) int {
	for _, l := range strings.Split(stdout, "\n") {
		if n, ok := strings.CutSuffix(l, " detections in complete hunts"); ok {
			if v, err := strconv.Atoi(n); err == nil {
				return v
			}
		}
	}
	return -1
}

// TestSupervise: a worker of spoor serve that stops with an error is
// started again, with a warning each time, until the server stops.
func TestSupervise(t *testing.T) {
	var logs bytes.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	runs := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		supervise(ctx, slog.New(slog.NewTextHandler(&logs, nil)), time.Millisecond, func(ctx context.Context) error {
			runs++
			if runs <= 2 {
				return errors.New("NATS JetStream gave no answer for a minute")
			}
			cancel() // the server stops while the third runs
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("supervise did not return once its context was done")
	}
	if runs != 3 || strings.Count(logs.String(), "fleet worker stopped: started again") != 2 {
		t.Errorf("%d runs, logs %q; want 3 runs and two warnings", runs, logs.String())
	}
}
