package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"
)

// defaultPostgres is the test server CI provides (trust auth).
const defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// opener opens (or reopens) the one store of a test.
type opener func(t testing.TB, opts ...Option) *Store

// backends runs test against each backend: SQLite in a temporary folder
// and PostgreSQL in a schema of its own, dropped after. Without a
// PostgreSQL server its half is skipped, but under CI (CI=true) it fails.
func backends(t *testing.T, test func(t *testing.T, open opener)) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		test(t, targetOpener(dir))
	})
	t.Run("postgres", func(t *testing.T) {
		test(t, targetOpener(postgresSchema(t)))
	})
}

func targetOpener(target string) opener {
	return func(t testing.TB, opts ...Option) *Store {
		t.Helper()
		// Cheap password hashes: the tests hash a lot, on a shared machine.
		cheap := func(s *Store) { s.argon = argonParams{time: 1, memory: 64, threads: 1} }
		s, err := Open(context.Background(), target, append([]Option{cheap}, opts...)...)
		if err != nil {
			t.Fatalf("open %s: %v", redact(target), err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// postgresSchema creates a fresh schema on the test server and returns the
// URL of a store in it; the schema is dropped when the test ends.
func postgresSchema(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("SPOOR_TEST_POSTGRES")
	if dsn == "" {
		dsn = defaultPostgres
	}
	admin, err := sql.Open("pgx", dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL %s: %v (CI must provide it)", redact(dsn), err)
		}
		t.Skipf("no PostgreSQL at %s (set SPOOR_TEST_POSTGRES): %v", redact(dsn), err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "spoor_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
