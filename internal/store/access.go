package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MinPassword is the shortest password the server and the command line set.
const MinPassword = 12

// RoleRank orders the roles: a higher rank may do what a lower one may.
// An unknown role ranks 0.
func RoleRank(r Role) int {
	switch r {
	case RoleViewer:
		return 1
	case RoleAnalyst:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// TokenPrefix starts every API token, so a leaked one is recognisable.
const TokenPrefix = "spoor_"

// MaxTokenLife is the longest an API token may live.
const MaxTokenLife = 366 * 24 * time.Hour

// tokenTouch is how stale a token's last use may be before a use writes it.
const tokenTouch = time.Minute

// Token is an API token as the store keeps it: never its secret.
type Token struct {
	ID       int64     `json:"id"`
	Tenant   string    `json:"tenant"`
	User     string    `json:"user"`
	Name     string    `json:"name"`
	Role     Role      `json:"role"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires"`
	LastUsed time.Time `json:"last_used,omitzero"` // zero: never used
	Revoked  time.Time `json:"revoked,omitzero"`   // zero: not revoked
}

// secretHash is how a token or session secret is looked up: a SHA-256 is
// enough for 256 random bits, and the same on both backends as hex text.
func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// newSecret returns 256 random bits, URL-safe.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// userRef resolves a user of tenant, with its tenant's id and its role.
func (s *Store) userRef(ctx context.Context, q querier, tenant, user string) (tenantID, userID int64, role Role, err error) {
	err = q.QueryRowContext(ctx, s.q(`SELECT t.id, u.id, u.role FROM users u JOIN tenants t ON t.id = u.tenant_id
		WHERE t.name = ? AND u.name = ?`), tenant, user).Scan(&tenantID, &userID, &role)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("user %q of tenant %q: %w", user, tenant, ErrNotFound)
	}
	return tenantID, userID, role, err
}

// AddToken makes an API token for a user of tenant, with a role no higher
// than the user's, expiring at expires (within MaxTokenLife). It returns
// the token's record and its secret, which is shown once: the store keeps
// only its hash.
func (s *Store) AddToken(ctx context.Context, tenant, user, name string, role Role, expires time.Time, actor string) (Token, string, error) {
	if err := checkName("token", name); err != nil {
		return Token{}, "", err
	}
	if !role.valid() {
		return Token{}, "", fmt.Errorf("%w: role %q", ErrInvalid, role)
	}
	now := fromMicros(micros(s.now()))
	if !expires.After(now) || expires.Sub(now) > MaxTokenLife {
		return Token{}, "", fmt.Errorf("%w: a token expires within %d days from now", ErrInvalid, int(MaxTokenLife/(24*time.Hour)))
	}
	secret := TokenPrefix + newSecret()
	t := Token{Tenant: tenant, User: user, Name: name, Role: role, Created: now, Expires: fromMicros(micros(expires))}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		tid, uid, owner, err := s.userRef(ctx, tx, tenant, user)
		if err != nil {
			return err
		}
		if RoleRank(role) > RoleRank(owner) {
			return fmt.Errorf("%w: a token of role %s for %s, who is %s", ErrInvalid, role, user, owner)
		}
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO api_tokens (user_id, name, secret_hash, role, created, expires) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			uid, name, secretHash(secret), string(role), micros(t.Created), micros(t.Expires)).Scan(&t.ID)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, tid, 0, actor, "token.add", map[string]any{"user": user, "token": t.ID, "name": name, "role": role, "expires": t.Expires})
	})
	if err != nil {
		return Token{}, "", err
	}
	return t, secret, nil
}

const tokenColumns = `k.id, t.name, u.name, k.name, k.role, k.created, k.expires, k.last_used, k.revoked`

func scanToken(sc interface{ Scan(...any) error }) (Token, error) {
	var t Token
	var created, expires int64
	var used, revoked sql.NullInt64
	if err := sc.Scan(&t.ID, &t.Tenant, &t.User, &t.Name, &t.Role, &created, &expires, &used, &revoked); err != nil {
		return Token{}, err
	}
	t.Created, t.Expires = fromMicros(created), fromMicros(expires)
	if used.Valid {
		t.LastUsed = fromMicros(used.Int64)
	}
	if revoked.Valid {
		t.Revoked = fromMicros(revoked.Int64)
	}
	return t, nil
}

// Tokens lists the API tokens of a user of tenant (user "": of every user
// of tenant), newest first, revoked and expired ones included.
func (s *Store) Tokens(ctx context.Context, tenant, user string) ([]Token, error) {
	tid, err := s.tenantID(ctx, s.db, tenant)
	if err != nil {
		return nil, err
	}
	query := `SELECT ` + tokenColumns + ` FROM api_tokens k JOIN users u ON u.id = k.user_id JOIN tenants t ON t.id = u.tenant_id
		WHERE u.tenant_id = ?`
	args := []any{tid}
	if user != "" {
		query += ` AND u.name = ?`
		args = append(args, user)
	}
	rows, err := s.db.QueryContext(ctx, s.q(query+` ORDER BY k.id DESC`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes token id of a user of tenant (user "": of any user of
// tenant). A token of another user or tenant is ErrNotFound; one revoked
// already stays as it was.
func (s *Store) RevokeToken(ctx context.Context, tenant, user string, id int64, actor string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		tid, err := s.tenantID(ctx, tx, tenant)
		if err != nil {
			return err
		}
		query := `SELECT u.name FROM api_tokens k JOIN users u ON u.id = k.user_id WHERE k.id = ? AND u.tenant_id = ?`
		args := []any{id, tid}
		if user != "" {
			query += ` AND u.name = ?`
			args = append(args, user)
		}
		var owner string
		if err := tx.QueryRowContext(ctx, s.q(query), args...).Scan(&owner); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("token %d: %w", id, ErrNotFound)
		} else if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE api_tokens SET revoked = ? WHERE id = ? AND revoked IS NULL`), micros(s.now()), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return s.audit(ctx, tx, tid, 0, actor, "token.revoke", map[string]any{"user": owner, "token": id})
	})
}

// revokeUserTokens revokes every live token of a user (a password reset:
// whoever held the old password may have made one).
func (s *Store) revokeUserTokens(ctx context.Context, tx *sql.Tx, tenantID int64, user string) error {
	_, err := tx.ExecContext(ctx, s.q(`UPDATE api_tokens SET revoked = ? WHERE revoked IS NULL
		AND user_id = (SELECT id FROM users WHERE tenant_id = ? AND name = ?)`), micros(s.now()), tenantID, user)
	return err
}

// ResetPassword is SetPassword by someone else (an admin): the user's
// tokens are revoked with the old password.
func (s *Store) ResetPassword(ctx context.Context, tenant, name, password, actor string) error {
	hash, err := hashPassword(s.argon, password)
	if err != nil {
		return err
	}
	return s.updateUser(ctx, tenant, name, actor, "user.passwd", `password_hash = ?`, hash, func(tx *sql.Tx, tid int64) error {
		return s.revokeUserTokens(ctx, tx, tid, name)
	})
}

// TokenUser returns who a token's secret acts for: its owner, with the
// lower of the token's role and the owner's role now, and the token. An
// unknown, revoked or expired token, or one whose owner is disabled, is
// ErrCredentials, the same for every cause.
func (s *Store) TokenUser(ctx context.Context, secret string) (User, Token, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 128 {
		return User{}, Token{}, ErrCredentials
	}
	var u User
	var disabled int
	var created int64
	row := s.db.QueryRowContext(ctx, s.q(`SELECT `+tokenColumns+`, u.id, u.role, u.disabled, u.created
		FROM api_tokens k JOIN users u ON u.id = k.user_id JOIN tenants t ON t.id = u.tenant_id WHERE k.secret_hash = ?`), secretHash(secret))
	var t Token
	var tc, te int64
	var used, revoked sql.NullInt64
	err := row.Scan(&t.ID, &t.Tenant, &t.User, &t.Name, &t.Role, &tc, &te, &used, &revoked, &u.ID, &u.Role, &disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, Token{}, ErrCredentials
	}
	if err != nil {
		return User{}, Token{}, err
	}
	now := s.now()
	t.Created, t.Expires = fromMicros(tc), fromMicros(te)
	if revoked.Valid || disabled != 0 || !now.Before(t.Expires) {
		return User{}, Token{}, ErrCredentials
	}
	if !used.Valid || now.Sub(fromMicros(used.Int64)) >= tokenTouch {
		if _, err := s.db.ExecContext(ctx, s.q(`UPDATE api_tokens SET last_used = ? WHERE id = ?`), micros(now), t.ID); err != nil {
			return User{}, Token{}, err
		}
		t.LastUsed = fromMicros(micros(now))
	} else {
		t.LastUsed = fromMicros(used.Int64)
	}
	u.Tenant, u.Name, u.Created = t.Tenant, t.User, fromMicros(created)
	if RoleRank(t.Role) < RoleRank(u.Role) {
		u.Role = t.Role
	}
	return u, t, nil
}

// FindUser returns the user named name, of whichever tenant (user names
// are unique in the store), or ErrNotFound: the user a single sign-on
// identity names.
func (s *Store) FindUser(ctx context.Context, name string) (User, error) {
	u := User{Name: name}
	var disabled int
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT u.id, t.name, u.role, u.disabled, u.created
		FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.name = ?`), name).
		Scan(&u.ID, &u.Tenant, &u.Role, &disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return User{}, err
	}
	u.Disabled, u.Created = disabled != 0, fromMicros(created)
	return u, nil
}

// Session is a browser's login session as the store keeps it: not the
// secret its cookie holds.
type Session struct {
	Tenant, User string
	// CSRF is the token its state changes carry.
	CSRF          string
	Created, Seen time.Time
}

// SessionLimits are what AddSession keeps: a user's newest PerUser
// sessions (older ones end), and none idle since before IdleBefore or
// made before MadeBefore (expired: pruned).
type SessionLimits struct {
	PerUser                int
	IdleBefore, MadeBefore time.Time
}

// AddSession starts a session of a user of tenant, named by secret (only
// its hash is kept), and prunes as lim says. It returns the session.
func (s *Store) AddSession(ctx context.Context, tenant, user, secret string, lim SessionLimits) (Session, error) {
	if lim.PerUser <= 0 {
		return Session{}, fmt.Errorf("%w: %d sessions per user", ErrInvalid, lim.PerUser)
	}
	now := fromMicros(micros(s.now()))
	sess := Session{Tenant: tenant, User: user, CSRF: newSecret(), Created: now, Seen: now}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, uid, _, err := s.userRef(ctx, tx, tenant, user)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE seen < ? OR created < ?`),
			micros(lim.IdleBefore), micros(lim.MadeBefore)); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, s.q(`INSERT INTO sessions (user_id, secret_hash, csrf, created, seen) VALUES (?, ?, ?, ?, ?) RETURNING id`),
			uid, secretHash(secret), sess.CSRF, micros(now), micros(now)).Scan(&id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE user_id = ? AND id NOT IN
			(SELECT id FROM sessions WHERE user_id = ? ORDER BY created DESC, id DESC LIMIT ?)`), uid, uid, lim.PerUser)
		return err
	})
	return sess, err
}

// GetSession returns the session secret names, or ErrNotFound.
func (s *Store) GetSession(ctx context.Context, secret string) (Session, error) {
	var sess Session
	var created, seen int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT t.name, u.name, x.csrf, x.created, x.seen
		FROM sessions x JOIN users u ON u.id = x.user_id JOIN tenants t ON t.id = u.tenant_id WHERE x.secret_hash = ?`),
		secretHash(secret)).Scan(&sess.Tenant, &sess.User, &sess.CSRF, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	sess.Created, sess.Seen = fromMicros(created), fromMicros(seen)
	return sess, err
}

// TouchSession records that the session secret names was used at seen.
func (s *Store) TouchSession(ctx context.Context, secret string, seen time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE sessions SET seen = ? WHERE secret_hash = ? AND seen < ?`),
		micros(seen), secretHash(secret), micros(seen))
	return err
}

// EndSession ends the session secret names (none: nothing to do).
func (s *Store) EndSession(ctx context.Context, secret string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE secret_hash = ?`), secretHash(secret))
	return err
}

// EndSessions ends the sessions of a user of tenant but the one keep names
// ("": all of them).
func (s *Store) EndSessions(ctx context.Context, tenant, user, keep string) error {
	_, uid, _, err := s.userRef(ctx, s.db, tenant, user)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE user_id = ? AND secret_hash <> ?`), uid, secretHash(keep))
	return err
}
