package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/shared"
)

// natsURL is the embedded NATS URL serve printed.
func (s *serving) natsURL(t *testing.T) string {
	t.Helper()
	for _, l := range s.out {
		if rest, ok := strings.CutPrefix(l, "NATS JetStream for collectors and workers at "); ok {
			return rest
		}
	}
	t.Fatalf("serve did not say where NATS is: %q", s.out)
	return ""
}

// TestServeRefusesOpenNATS: without credentials, serve refuses to open
// its embedded NATS server beyond loopback, and says why.
func TestServeRefusesOpenNATS(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		code, _, stderr := run(t, t.Context(), "serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--nats-listen", listen)
		if code != ExitUsage || !strings.Contains(stderr, "not a loopback address") || !strings.Contains(stderr, "spoor fleet credential add") {
			t.Errorf("--nats-listen %s without credentials: exit %d, %q", listen, code, stderr)
		}
	}
}

// TestServeNATSTLSUsage: the embedded server's TLS flags go together,
// and not with a cluster.
func TestServeNATSTLSUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--nats-tls-cert", "c.pem"},
		{"--nats-tls-key", "k.pem"},
		{"--nats-tls-ca", "ca.pem"},
		{"--nats", "nats://n1:4222", "--nats-tls-cert", "c.pem", "--nats-tls-key", "k.pem"},
	} {
		code, _, stderr := run(t, t.Context(), append([]string{"serve", "--data", t.TempDir()}, args...)...)
		if code != ExitUsage || !strings.Contains(stderr, "--nats-tls-cert") {
			t.Errorf("serve %v: exit %d, %q", args, code, stderr)
		}
	}
}

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "127.1.2.3": true,
		"": false, "0.0.0.0": false, "::": false, "10.0.0.1": false, "hunt.example": false} {
		if got := loopback(host); got != want {
			t.Errorf("loopback(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestCredentialAdd: the credentials file is written 0600 and never
// replaced; a bad role is a usage error; nothing secret is printed.
func TestCredentialAdd(t *testing.T) {
	data, out := t.TempDir(), filepath.Join(t.TempDir(), "acme.creds")
	code, stdout, stderr := run(t, t.Context(), "fleet", "credential", "add", "--data", data, "--tenant", "acme", "--role", "collector", "--out", out)
	if code != 0 {
		t.Fatalf("credential add: exit %d, %s", code, stderr)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", out, fi.Mode().Perm())
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "BEGIN NATS USER JWT") || !strings.Contains(string(b), "BEGIN USER NKEY SEED") {
		t.Errorf("%s is not a .creds file:\n%s", out, b)
	}
	if strings.Contains(stdout+stderr, "SU") && strings.Contains(stdout+stderr, "SEED") {
		t.Errorf("credential add printed a seed: %s%s", stdout, stderr)
	}
	for _, f := range []string{"operator.nk", filepath.Join("tenants", "acme.nk")} {
		if fi, err := os.Stat(filepath.Join(data, "nats-auth", f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", f, fi, err)
		}
	}
	if code, _, stderr := run(t, t.Context(), "fleet", "credential", "add", "--data", data, "--tenant", "acme", "--role", "collector", "--out", out); code == 0 || !strings.Contains(stderr, "exists") {
		t.Errorf("credential add over an existing file: exit %d, %q", code, stderr)
	}
	if code, _, stderr := run(t, t.Context(), "fleet", "credential", "add", "--data", data, "--role", "admin", "--out", out+"2"); code != ExitUsage {
		t.Errorf("--role admin: exit %d, %q", code, stderr)
	}
	code, stdout, _ = run(t, t.Context(), "fleet", "credential", "server-config", "--data", data)
	if code != 0 || !strings.Contains(stdout, "operator: ") || !strings.Contains(stdout, "resolver_preload") || !strings.Contains(stdout, "# acme") {
		t.Errorf("server-config: exit %d:\n%s", code, stdout)
	}
	if code, _, stderr := run(t, t.Context(), "ship", t.TempDir(), "--nats-creds", filepath.Join(data, "missing.creds")); code == 0 || !strings.Contains(stderr, "missing.creds") {
		t.Errorf("ship with a missing creds file: exit %d, %q (want the file named)", code, stderr)
	}
}

// TestServeNATSCredentials: once credentials are minted, serve's
// embedded NATS server lets in only clients that have one; its own
// workers hunt what a collector with a credential ships.
func TestServeNATSCredentials(t *testing.T) {
	dir := t.TempDir()
	evidence := shared.Path(t, "datasets", "evtx-attack-samples", "Lateral Movement")
	creds := filepath.Join(t.TempDir(), "c.creds")
	if code, _, stderr := run(t, t.Context(), "fleet", "credential", "add", "--data", dir, "--role", "collector", "--out", creds); code != 0 {
		t.Fatalf("credential add: %d %s", code, stderr)
	}
	s := startServe(t, "--data", dir, "--workers", "1")
	url := s.natsURL(t)
	if !strings.Contains(strings.Join(s.out, "\n"), "required") {
		t.Errorf("serve did not say credentials are required: %q", s.out)
	}
	t.Setenv("SPOOR_DATA_DIR", t.TempDir())
	start := time.Now()
	if code, _, stderr := run(t, t.Context(), "ship", evidence, "--nats", url, "--case", "shipped"); code == 0 || !strings.Contains(strings.ToLower(stderr), "authorization") {
		t.Errorf("ship without a credential: exit %d, %q; want refused", code, stderr)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("ship without a credential was refused after %s, want at once", d)
	}
	if code, _, stderr := run(t, t.Context(), "ship", evidence, "--nats", url, "--nats-creds", creds, "--case", "shipped"); code != 0 {
		t.Fatalf("ship: %d %s", code, stderr)
	}
	if !waitFor(2*time.Minute, func() bool {
		code, stdout, _ := run(t, t.Context(), "case", "show", "shipped", "--store", dir)
		return code == 0 && strings.Contains(stdout, "fleet:") && caseDetections(stdout) > 0
	}) {
		t.Fatal("the case got no detections from serve's workers within 2 minutes")
	}
	worker := filepath.Join(t.TempDir(), "w.creds")
	if code, _, stderr := run(t, t.Context(), "fleet", "credential", "add", "--data", dir, "--role", "worker", "--out", worker); code != 0 {
		t.Fatalf("credential add: %d %s", code, stderr)
	}
	code, stdout, stderr := run(t, t.Context(), "fleet", "status", "--nats", url, "--nats-creds", worker)
	if code != 0 || !strings.Contains(stdout, "Tenant default: stream SPOOR_default") {
		t.Errorf("fleet status with a worker's credential: exit %d, %s%s", code, stdout, stderr)
	}
}
