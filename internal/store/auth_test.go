package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestUnknownUserCostsAHashOfTheStoreCost: an unknown name is checked
// against a hash of the cost the store's own passwords have, so a login
// takes as long whether the name exists or not (argon2id's time is set by
// the cost, so comparing costs compares times without timing a test).
func TestUnknownUserCostsAHashOfTheStoreCost(t *testing.T) {
	s := targetOpener(t.TempDir())(t)
	setup(t, s)
	ctx := context.Background()
	if _, err := s.AddUser(ctx, "acme", "alice", RoleAnalyst, "a long password", "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "nobody", "a long password"); err == nil {
		t.Fatal("unknown user authenticated")
	}
	var stored string
	if err := s.db.QueryRow(`SELECT password_hash FROM users WHERE name = 'alice'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	cost := func(hash string) string { return strings.Split(hash, "$")[3] }
	if got, want := cost(s.dummyHash()), cost(stored); got != want {
		t.Errorf("unknown names are checked at cost %s, known ones at %s", got, want)
	}
	if want := fmt.Sprintf("m=%d,t=%d,p=%d", s.argon.memory, s.argon.time, s.argon.threads); cost(stored) != want {
		t.Errorf("stored cost %s, want the store's %s", cost(stored), want)
	}
}
