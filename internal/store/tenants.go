package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/crypto/argon2"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DefaultTenant is the one tenant of a single-organisation install.
const DefaultTenant = "default"

// Tenant is an organisation: its users see its cases and no other's.
type Tenant struct {
	ID      int64
	Name    string
	Created time.Time
}

// Role is what a user may do: a viewer reads, an analyst also triages and
// hunts, an admin also manages users and cases.
type Role string

// The roles.
const (
	RoleViewer  Role = "viewer"
	RoleAnalyst Role = "analyst"
	RoleAdmin   Role = "admin"
)

func (r Role) valid() bool { return r == RoleViewer || r == RoleAnalyst || r == RoleAdmin }

// User is an account of a tenant. User names are unique in the store.
type User struct {
	ID       int64
	Tenant   string
	Name     string
	Role     Role
	Disabled bool
	Created  time.Time
}

// isUnique tells a unique-constraint violation of either backend.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// checkName refuses names that are empty, padded or hold control
// characters: names are typed on command lines and shown in lists.
func checkName(kind, name string) error {
	if name == "" || strings.TrimSpace(name) != name || len(name) > 200 ||
		strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: %s name %q", ErrInvalid, kind, name)
	}
	return nil
}

// AddTenant creates a tenant.
func (s *Store) AddTenant(ctx context.Context, name, actor string) (Tenant, error) {
	if err := checkName("tenant", name); err != nil {
		return Tenant{}, err
	}
	t := Tenant{Name: name, Created: fromMicros(micros(s.now()))}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO tenants (name, created) VALUES (?, ?) RETURNING id`),
			name, micros(t.Created)).Scan(&t.ID)
		if isUnique(err) {
			return fmt.Errorf("tenant %q: %w", name, ErrExists)
		}
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, t.ID, 0, actor, "tenant.add", map[string]any{"tenant": name})
	})
	return t, err
}

// Tenants lists the tenants by name.
func (s *Store) Tenants(ctx context.Context) ([]Tenant, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, created FROM tenants ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Tenant
	for rows.Next() {
		var t Tenant
		var created int64
		if err := rows.Scan(&t.ID, &t.Name, &created); err != nil {
			return nil, err
		}
		t.Created = fromMicros(created)
		out = append(out, t)
	}
	return out, rows.Err()
}

// tenantID resolves a tenant's name.
func (s *Store) tenantID(ctx context.Context, q querier, tenant string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, s.q(`SELECT id FROM tenants WHERE name = ?`), tenant).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("tenant %q: %w", tenant, ErrNotFound)
	}
	return id, err
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// AddUser creates a user of tenant with a password.
func (s *Store) AddUser(ctx context.Context, tenant, name string, role Role, password, actor string) (User, error) {
	if err := checkName("user", name); err != nil {
		return User{}, err
	}
	if strings.EqualFold(name, ExportActor) {
		return User{}, fmt.Errorf("%w: user name %q is spoor's own (its exports are added by it)", ErrInvalid, name)
	}
	if !role.valid() {
		return User{}, fmt.Errorf("%w: role %q", ErrInvalid, role)
	}
	hash, err := hashPassword(s.argon, password)
	if err != nil {
		return User{}, err
	}
	u := User{Tenant: tenant, Name: name, Role: role, Created: fromMicros(micros(s.now()))}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		tid, err := s.tenantID(ctx, tx, tenant)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO users (tenant_id, name, role, password_hash, created) VALUES (?, ?, ?, ?, ?) RETURNING id`),
			tid, name, string(role), hash, micros(u.Created)).Scan(&u.ID)
		if isUnique(err) {
			return fmt.Errorf("user %q: %w", name, ErrExists)
		}
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, tid, 0, actor, "user.add", map[string]any{"user": name, "role": role})
	})
	return u, err
}

// Users lists the users of tenant by name.
func (s *Store) Users(ctx context.Context, tenant string) ([]User, error) {
	tid, err := s.tenantID(ctx, s.db, tenant)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, name, role, disabled, created FROM users WHERE tenant_id = ? ORDER BY name`), tid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u := User{Tenant: tenant}
		var disabled int
		var created int64
		if err := rows.Scan(&u.ID, &u.Name, &u.Role, &disabled, &created); err != nil {
			return nil, err
		}
		u.Disabled, u.Created = disabled != 0, fromMicros(created)
		out = append(out, u)
	}
	return out, rows.Err()
}

// SetPassword replaces the password of a user of tenant.
func (s *Store) SetPassword(ctx context.Context, tenant, name, password, actor string) error {
	hash, err := hashPassword(s.argon, password)
	if err != nil {
		return err
	}
	return s.updateUser(ctx, tenant, name, actor, "user.passwd", `password_hash = ?`, hash)
}

// DisableUser disables a user of tenant: Authenticate refuses it after.
func (s *Store) DisableUser(ctx context.Context, tenant, name, actor string) error {
	return s.updateUser(ctx, tenant, name, actor, "user.disable", `disabled = ?`, 1)
}

// updateUser sets a column of a user of tenant, audited; also runs in the
// same transaction.
func (s *Store) updateUser(ctx context.Context, tenant, name, actor, action, set string, value any, also ...func(*sql.Tx, int64) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		tid, err := s.tenantID(ctx, tx, tenant)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE users SET `+set+` WHERE tenant_id = ? AND name = ?`), value, tid, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("user %q of tenant %q: %w", name, tenant, ErrNotFound)
		}
		for _, f := range also {
			if err := f(tx, tid); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, tid, 0, actor, action, map[string]any{"user": name})
	})
}

// Authenticate returns the user named name if password is its password and
// it is not disabled; otherwise ErrCredentials, the same for every cause.
func (s *Store) Authenticate(ctx context.Context, name, password string) (User, error) {
	// Made before the lookup, on the first call whoever it names: made on
	// the first unknown name, it would cost that call a hash more.
	dummy := s.dummyHash()
	u := User{Name: name}
	var hash string
	var disabled int
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT u.id, t.name, u.role, u.password_hash, u.disabled, u.created
		FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.name = ?`), name).
		Scan(&u.ID, &u.Tenant, &u.Role, &hash, &disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		// Spend the time a hash takes, so timing does not tell which names exist.
		verifyPassword(dummy, password)
		return User{}, ErrCredentials
	}
	if err != nil {
		return User{}, err
	}
	if !verifyPassword(hash, password) || disabled != 0 {
		return User{}, ErrCredentials
	}
	u.Created = fromMicros(created)
	return u, nil
}

// argonParams are the costs of an argon2id hash; each hash records its own,
// so they can be raised without invalidating stored passwords.
type argonParams struct {
	time, memory uint32 // passes, KiB
	threads      uint8
}

// defaultArgon is RFC 9106's second recommended option (memory-light).
var defaultArgon = argonParams{time: 3, memory: 64 << 10, threads: 2}

const (
	argonKeyLen  = 32
	argonSaltLen = 16
)

// hashPassword returns password's argon2id hash in the PHC string format.
func hashPassword(p argonParams, password string) (string, error) {
	if password == "" {
		return "", fmt.Errorf("%w: empty password", ErrInvalid)
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyPassword tells whether password matches a hash of hashPassword,
// with the parameters written in the hash.
func verifyPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<21 || t > 64 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 || len(key) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}
