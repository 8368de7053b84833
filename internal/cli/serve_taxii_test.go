package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/server"
	"github.com/spoor-hunt/spoor/internal/stix"
	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/internal/taxii"
)

// TestCaseSTIXIsCaseExport: what a case's TAXII collection takes is the
// bundle `spoor case export --stix` writes, object for object.
func TestCaseSTIXIsCaseExport(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	if code, _, errOut := run(t, ctx, "hunt", "--no-sigmahq", "--quiet", "--store", st, "--case", "intrusion",
		filepath.Join("..", "..", "examples", "cuckoobees")); code != ExitOK {
		t.Fatalf("hunt --store: exit %d: %s", code, errOut)
	}
	file := filepath.Join(dir, "case.stix.json")
	if code, _, errOut := run(t, ctx, "case", "export", "--store", st, "--stix", file, "intrusion"); code != ExitOK {
		t.Fatalf("case export: exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var b struct{ Objects []json.RawMessage }
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	objs, err := caseSTIX(s)(ctx, store.DefaultTenant, "intrusion")
	if err != nil {
		t.Fatal(err)
	}
	compact := func(raws []json.RawMessage) []string {
		var out []string
		for _, r := range raws {
			var v any
			if err := json.Unmarshal(r, &v); err != nil {
				t.Fatal(err)
			}
			c, _ := json.Marshal(v)
			out = append(out, string(c))
		}
		slices.Sort(out)
		return out
	}
	got, want := compact(objs), compact(b.Objects)
	if len(want) < 50 || !slices.Equal(got, want) {
		t.Errorf("caseSTIX: %d objects, case export %d; equal %v", len(got), len(want), slices.Equal(got, want))
	}
	if objs, err := caseSTIX(s)(ctx, store.DefaultTenant, "none"); err == nil || objs != nil {
		t.Errorf("a case that does not exist: %d objects, %v", len(objs), err)
	}
}

// TestTAXIIGrantCommand: spoor taxii grant sets a user's grant on a case's
// collection, as spoor taxii collections names it; a case that does not
// exist, or no collection named, is refused.
func TestTAXIIGrantCommand(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runIn(t, "a long enough password\n", "user", "add", "pat", "--password-stdin", "--data", dir); code != ExitOK {
		t.Fatalf("user add: %s", errOut)
	}
	s, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.AddCase(t.Context(), store.DefaultTenant, "intrusion", "", "root"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, t.Context(), "taxii", "collections", "--data", dir, "--json")
	var list struct {
		Collections []struct{ ID, Case string }
	}
	if code != ExitOK || json.Unmarshal([]byte(out), &list) != nil || len(list.Collections) != 2 || list.Collections[1].Case != "intrusion" {
		t.Fatalf("collections: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := run(t, t.Context(), "taxii", "grant", "pat", "--case", "intrusion", "--read", "--data", dir); code != ExitOK {
		t.Fatalf("grant: %s", errOut)
	}
	gs, err := s.TAXIIGrants(t.Context(), store.DefaultTenant, "pat")
	if g := gs[list.Collections[1].ID]; err != nil || len(gs) != 1 || !g.Read || g.Write {
		t.Errorf("grants %+v, %v", gs, err)
	}
	for _, args := range [][]string{{"pat", "--case", "nope"}, {"pat"}, {"pat", "--own", "--case", "intrusion"}} {
		if code, _, _ := run(t, t.Context(), append(append([]string{"taxii", "grant"}, args...), "--data", dir)...); code == ExitOK {
			t.Errorf("grant %v: exit 0", args)
		}
	}
}

// TestIntelImportTAXII: intel import reads a partner's TAXII collection
// (spoor serve's own server here, over HTTPS with its certificate given
// by --taxii-ca, basic credentials from the environment) as it reads a
// bundle file.
func TestIntelImportTAXII(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	partner, err := store.Open(ctx, filepath.Join(dir, "partner"), store.WithPasswordCost(1, 64, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer partner.Close()
	if _, err := partner.AddTenant(ctx, "cert", "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.AddUser(ctx, "cert", "bob", store.RoleViewer, "a long enough password", "root"); err != nil {
		t.Fatal(err)
	}
	ind := `{"type":"indicator","spec_version":"2.1","id":"indicator--6b5d1f0e-1c1a-4d5e-9f00-000000000001",` +
		`"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"bad address",` +
		`"pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`
	h, err := stix.ReadHead([]byte(ind))
	if err != nil {
		t.Fatal(err)
	}
	coll := server.CollectionID("cert", "")
	if _, err := partner.AddTAXIIObjects(ctx, "cert", "", coll, []store.TAXIIObject{
		{ID: h.ID, Type: h.Type, SpecVersion: h.SpecVersion, Version: h.Version, JSON: json.RawMessage(ind)}}, "root"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(server.New(partner, server.Options{}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	victim := filepath.Join(dir, "victim")
	s, err := store.Open(ctx, victim)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddTenant(ctx, store.DefaultTenant, "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddCase(ctx, store.DefaultTenant, "intrusion", "", "root"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	url := srv.URL + "/taxii2/cert/collections/" + coll + "/objects/"
	t.Setenv(taxiiPasswordEnv, "a long enough password")
	code, out, errOut := run(t, ctx, "intel", "import", url, "--case", "intrusion", "--store", victim, "--taxii-user", "bob", "--taxii-ca", ca)
	if code != ExitOK || !strings.Contains(out, "imported 1 indicators") || !strings.Contains(out, "198.51.100.7") {
		t.Errorf("import from TAXII: exit %d\n%s\n%s", code, out, errOut)
	}
	// Without the CA the server's certificate is refused; with a wrong
	// password the server's 401 is the error.
	if code, _, errOut := run(t, ctx, "intel", "import", url, "--case", "intrusion", "--store", victim, "--taxii-user", "bob"); code == ExitOK || !strings.Contains(errOut, "certificate") {
		t.Errorf("no CA: exit %d: %s", code, errOut)
	}
	t.Setenv(taxiiPasswordEnv, "wrong")
	if code, _, errOut := run(t, ctx, "intel", "import", url, "--case", "intrusion", "--store", victim, "--taxii-user", "bob", "--taxii-ca", ca); code == ExitOK || !strings.Contains(errOut, "401") {
		t.Errorf("wrong password: exit %d: %s", code, errOut)
	}
}

// TestServeTAXII: spoor serve answers TAXII 2.1 over HTTPS, and a case
// hunted into its store is served as its export, every object.
func TestServeTAXII(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	if code, _, errOut := run(t, ctx, "hunt", "--no-sigmahq", "--quiet", "--store", dir, "--case", "intrusion",
		filepath.Join("..", "..", "examples", "cuckoobees")); code != ExitOK {
		t.Fatalf("hunt --store: exit %d: %s", code, errOut)
	}
	t.Setenv(server.AdminPasswordEnv, "a long enough password")
	srv := startServe(t, "--data", dir)
	pemBytes, err := os.ReadFile(filepath.Join(dir, server.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	t.Cleanup(hc.CloseIdleConnections)
	c := &taxii.Client{HTTP: hc, Auth: func(r *http.Request) { r.SetBasicAuth(server.FirstAdmin, "a long enough password") }}
	got, err := c.Objects(ctx, srv.url+server.TAXIIPrefix+store.DefaultTenant+"/collections/"+server.CollectionID(store.DefaultTenant, "intrusion")+"/objects/")
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want, err := caseSTIX(s)(ctx, store.DefaultTenant, "intrusion")
	if err != nil || len(want) < 50 || len(got) != len(want) {
		t.Errorf("served %d objects, the export has %d (%v)", len(got), len(want), err)
	}
	// TAXII section 8.2.2: TLS 1.2 is accepted, not with the cipher suites
	// RFC 7540 lists (CBC ones here).
	addr := strings.TrimPrefix(srv.url, "https://")
	for _, tc := range []struct {
		suite uint16
		ok    bool
	}{{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true}, {tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, false}, {tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, false}} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tc.suite}})
		if err == nil {
			conn.Close()
		}
		if (err == nil) != tc.ok {
			t.Errorf("TLS 1.2 with %s: %v, want accepted %v", tls.CipherSuiteName(tc.suite), err, tc.ok)
		}
	}
}
