package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/store"
)

// runIn runs spoor with stdin.
func runIn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Execute(t.Context(), Env{Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(stdin)}, args)
	return code, stdout.String(), stderr.String()
}

// TestUserAndTenantCommands administers a fresh store through the
// commands, and checks what they did by logging in with the store.
func TestUserAndTenantCommands(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	const pw = "a long enough password"
	// The first user of a fresh store: the store and its tenant "default"
	// are made.
	if code, out, errOut := runIn(t, pw+"\n", "user", "add", "alice", "--role", "admin", "--password-stdin", "--data", dir); code != ExitOK || !strings.Contains(out, `"alice"`) {
		t.Fatalf("user add: exit %d, %q %s", code, out, errOut)
	}
	if code, out, _ := runIn(t, "", "tenant", "add", "globex", "--store", dir); code != ExitOK || !strings.Contains(out, "globex") {
		t.Fatalf("tenant add: exit %d, %q", code, out)
	}
	if code, _, _ := runIn(t, "", "tenant", "add", "globex", "--store", dir); code != ExitFailure {
		t.Errorf("tenant add of an existing tenant: exit %d, want %d", code, ExitFailure)
	}
	t.Setenv("SPOOR_STORE", dir)
	code, out, _ := runIn(t, "", "tenant", "list", "--json")
	var tenants struct{ Tenants []struct{ Name string } }
	if code != ExitOK || json.Unmarshal([]byte(out), &tenants) != nil || len(tenants.Tenants) != 2 ||
		tenants.Tenants[0].Name != "default" || tenants.Tenants[1].Name != "globex" {
		t.Fatalf("tenant list --json: exit %d, %q, want default and globex", code, out)
	}
	if code, _, errOut := runIn(t, pw+"\r\n", "user", "add", "gus", "--tenant", "globex", "--role", "analyst", "--password-stdin"); code != ExitOK {
		t.Fatalf("user add --tenant globex: exit %d %s", code, errOut)
	}
	// Refusals: a short password, an unknown role, no terminal and no
	// --password-stdin, a password on the command line.
	for _, c := range []struct {
		stdin string
		args  []string
		code  int
	}{
		{"short\n", []string{"user", "add", "bob", "--password-stdin"}, ExitFailure},
		{pw + "\n", []string{"user", "add", "bob", "--role", "root", "--password-stdin"}, ExitFailure},
		{pw + "\n", []string{"user", "add", "bob"}, ExitUsage},
		{"", []string{"user", "add", "bob", "--password", pw}, ExitUsage},
		{pw + "\n", []string{"user", "passwd", "nobody", "--password-stdin"}, ExitFailure},
		{"", []string{"user", "list", "--data", t.TempDir()}, ExitFailure},
	} {
		if code, _, errOut := runIn(t, c.stdin, c.args...); code != c.code || errOut == "" {
			t.Errorf("%v: exit %d %q, want %d and a message", c.args, code, errOut, c.code)
		}
	}
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if u, err := st.Authenticate(ctx, "gus", pw); err != nil || u.Tenant != "globex" || u.Role != store.RoleAnalyst {
		t.Errorf("gus: %+v %v, want globex's analyst with the password given on stdin (CR LF cut)", u, err)
	}
	if _, err := st.Authenticate(ctx, "bob", pw); err == nil {
		t.Error("bob was added by a refused command")
	}

	// passwd: the new password works, the old does not, and the user's
	// tokens are revoked.
	code, out, _ = runIn(t, "", "user", "token", "add", "alice", "--name", "ci", "--role", "viewer", "--json")
	var tok struct{ Token string }
	if code != ExitOK || json.Unmarshal([]byte(out), &tok) != nil {
		t.Fatalf("user token add: exit %d %q", code, out)
	}
	if u, _, err := st.TokenUser(ctx, tok.Token); err != nil || u.Name != "alice" || u.Role != store.RoleViewer {
		t.Fatalf("token made: %+v %v, want alice as viewer", u, err)
	}
	if code, _, _ := runIn(t, "", "user", "token", "add", "gus", "--tenant", "globex", "--name", "up", "--role", "admin"); code != ExitFailure {
		t.Errorf("admin token for an analyst: exit %d, want %d", code, ExitFailure)
	}
	if code, _, errOut := runIn(t, "another long password\n", "user", "passwd", "alice", "--password-stdin"); code != ExitOK {
		t.Fatalf("user passwd: exit %d %s", code, errOut)
	}
	if _, err := st.Authenticate(ctx, "alice", pw); err == nil {
		t.Error("old password still works")
	}
	if _, err := st.Authenticate(ctx, "alice", "another long password"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if _, _, err := st.TokenUser(ctx, tok.Token); err == nil {
		t.Error("token made before passwd still works")
	}
	code, out, _ = runIn(t, "", "user", "token", "list", "alice")
	if code != ExitOK || !strings.Contains(out, "ci") || strings.Count(out, "\n") != 2 {
		t.Errorf("user token list: exit %d %q, want alice's one token", code, out)
	}

	// disable, seen by list and by login; a token revoked by id.
	code, out, _ = runIn(t, "", "user", "token", "add", "gus", "--tenant", "globex", "--name", "nightly", "--json")
	if code != ExitOK || json.Unmarshal([]byte(out), &tok) != nil {
		t.Fatalf("user token add: exit %d %q", code, out)
	}
	if code, _, _ := runIn(t, "", "user", "token", "revoke", "1", "--tenant", "globex"); code != ExitFailure {
		t.Errorf("revoke of default's token 1 as globex: exit %d, want %d (not found)", code, ExitFailure)
	}
	if code, _, _ := runIn(t, "", "user", "disable", "gus", "--tenant", "globex"); code != ExitOK {
		t.Fatalf("user disable: exit %d", code)
	}
	if _, err := st.Authenticate(ctx, "gus", pw); err == nil {
		t.Error("disabled user logs in")
	}
	if _, _, err := st.TokenUser(ctx, tok.Token); err == nil {
		t.Error("disabled user's token works")
	}
	code, out, _ = runIn(t, "", "user", "list", "--tenant", "globex")
	if code != ExitOK || !strings.Contains(out, "gus") || !strings.Contains(out, "disabled") {
		t.Errorf("user list: exit %d %q, want gus disabled", code, out)
	}
}

// TestServeOIDCFlags: the OIDC flags go together, the secret comes from a
// file, and a provider that cannot be reached stops the start with a
// message naming it.
func TestServeOIDCFlags(t *testing.T) {
	dir := t.TempDir()
	secret := writeFile(t, filepath.Join(dir, "secret"), "s3cret\n")
	empty := writeFile(t, filepath.Join(dir, "empty"), "\n")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--oidc-issuer", "http://127.0.0.1:1"}, ExitUsage, "--oidc-client-id"},
		{[]string{"--oidc-issuer", "http://127.0.0.1:1", "--oidc-client-id", "spoor"}, ExitUsage, "--oidc-client-secret-file"},
		{[]string{"--oidc-issuer", "http://127.0.0.1:1", "--oidc-client-id", "spoor", "--oidc-client-secret-file", empty}, ExitFailure, "empty"},
		{[]string{"--oidc-issuer", "http://127.0.0.1:1", "--oidc-client-id", "spoor", "--oidc-client-secret-file", filepath.Join(dir, "none")}, ExitFailure, "--oidc-client-secret-file"},
		{[]string{"--oidc-issuer", "http://127.0.0.1:1", "--oidc-client-id", "spoor", "--oidc-client-secret-file", secret}, ExitFailure, "OIDC provider http://127.0.0.1:1"},
	} {
		code, _, stderr := run(t, t.Context(), append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("serve %v: exit %d %q, want %d naming %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
