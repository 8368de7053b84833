package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSecretsKeptHashed: neither a token's nor a session's secret is in
// the database, and each is found by it on both backends.
func TestSecretsKeptHashed(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		s := open(t)
		setup(t, s)
		ctx := context.Background()
		if _, err := s.AddUser(ctx, "acme", "alice", RoleAnalyst, "a long password", "root"); err != nil {
			t.Fatal(err)
		}
		tok, secret, err := s.AddToken(ctx, "acme", "alice", "ci", RoleViewer, s.now().Add(time.Hour), "alice")
		if err != nil {
			t.Fatal(err)
		}
		cookie := newSecret()
		if _, err := s.AddSession(ctx, "acme", "alice", cookie, SessionLimits{PerUser: 2}); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`SELECT secret_hash FROM api_tokens`, `SELECT secret_hash || csrf FROM sessions`} {
			var v string
			if err := s.db.QueryRow(q).Scan(&v); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(v, strings.TrimPrefix(secret, TokenPrefix)) || strings.Contains(v, cookie) {
				t.Errorf("%s holds a secret", q)
			}
		}
		u, got, err := s.TokenUser(ctx, secret)
		if err != nil || u.Name != "alice" || u.Role != RoleViewer || got.ID != tok.ID {
			t.Errorf("TokenUser: %+v %+v %v, want alice as viewer", u, got, err)
		}
		if sess, err := s.GetSession(ctx, cookie); err != nil || sess.User != "alice" || sess.Tenant != "acme" {
			t.Errorf("GetSession: %+v %v", sess, err)
		}
		if _, _, err := s.TokenUser(ctx, secret+"x"); !errors.Is(err, ErrCredentials) {
			t.Errorf("wrong secret: %v, want ErrCredentials", err)
		}
		// The store refuses a token above its owner's role, or too long-lived.
		if _, _, err := s.AddToken(ctx, "acme", "alice", "up", RoleAdmin, s.now().Add(time.Hour), "alice"); !errors.Is(err, ErrInvalid) {
			t.Errorf("admin token of an analyst: %v, want ErrInvalid", err)
		}
		if _, _, err := s.AddToken(ctx, "acme", "alice", "long", RoleViewer, s.now().Add(MaxTokenLife+time.Hour), "alice"); !errors.Is(err, ErrInvalid) {
			t.Errorf("token past MaxTokenLife: %v, want ErrInvalid", err)
		}
	})
}
