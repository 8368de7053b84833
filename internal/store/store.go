// Package store keeps cases: per tenant, the hunts run for a case, the
// detections they found, the operations built from them, the analysts'
// triage and an append-only audit log.
//
// Two backends share one schema and one API: SQLite in a data folder (the
// embedded default, pure Go, WAL) and PostgreSQL for teams. The store never
// interprets a detection or an operation beyond the columns it indexes: it
// takes each as the JSON object `spoor hunt --json` writes and returns that
// JSON unchanged, so what a case shows has the hunt's shape by construction.
//
// Every call about a case takes the tenant: a case of another tenant is
// ErrNotFound, as is a hunt, detection or operation of another case.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Errors the store returns; match them with errors.Is.
var (
	// ErrNotFound: no such tenant, user, case, hunt or object, or one of
	// another tenant or case.
	ErrNotFound = errors.New("not found")
	// ErrExists: a tenant, user or case of that name exists already.
	ErrExists = errors.New("already exists")
	// ErrFinished: the hunt was already finished or abandoned.
	ErrFinished = errors.New("hunt already finished")
	// ErrInvalid: an argument the store refuses (empty name, unknown
	// role, state or level, bad JSON).
	ErrInvalid = errors.New("invalid")
	// ErrCredentials: unknown user, disabled user or wrong password.
	ErrCredentials = errors.New("invalid credentials")
)

// FileName is the SQLite database file inside a store folder.
const FileName = "spoor.db"

// DefaultLease is how long a running hunt may go without a sign of life
// before the store reports it incomplete (its process is presumed dead).
const DefaultLease = 2 * time.Minute

// Store is a case store. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect dialect
	now     func() time.Time
	lease   time.Duration
	argon   argonParams
	// dummyHash is checked against when a user does not exist: a hash of
	// the store's own cost, so timing does not tell which names exist.
	dummyHash func() string
	// schema is the version Open migrates to; 0, the latest (tests of a
	// migration set it).
	schema int64
}

// Option changes how Open sets up a store.
type Option func(*Store)

// WithClock sets the clock the store stamps times with (tests).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithLease sets how long a running hunt may stay silent before it is
// reported incomplete (DefaultLease).
func WithLease(d time.Duration) Option { return func(s *Store) { s.lease = d } }

type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

func (d dialect) String() string {
	if d == postgresDialect {
		return "postgres"
	}
	return "sqlite"
}

// Open opens the store at target, creating and migrating it as needed: a
// postgres:// or postgresql:// URL opens PostgreSQL (the schema in the
// URL's search_path, if it sets one), anything else is a folder holding the
// SQLite file FileName (created if missing).
func Open(ctx context.Context, target string, opts ...Option) (*Store, error) {
	s := &Store{now: time.Now, lease: DefaultLease, argon: defaultArgon}
	for _, o := range opts {
		o(s)
	}
	s.dummyHash = sync.OnceValue(func() string {
		h, _ := hashPassword(s.argon, "spoor: no such user")
		return h
	})
	if s.lease <= 0 {
		return nil, fmt.Errorf("%w: lease %v", ErrInvalid, s.lease)
	}
	if target == "" {
		return nil, fmt.Errorf("%w: no store folder or URL", ErrInvalid)
	}
	var err error
	if strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://") {
		s.dialect = postgresDialect
		s.db, err = sql.Open("pgx", target)
		if err == nil {
			// Bounded: a busy console must not take every server connection.
			s.db.SetMaxOpenConns(16)
		}
	} else {
		s.db, err = openSQLite(target)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", redact(target), err)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open store %s: %w", redact(target), err)
	}
	if err := migrate(ctx, s.db, s.dialect, s.schema); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("migrate store %s: %w", redact(target), err)
	}
	return s, nil
}

// openSQLite opens dir/FileName in WAL mode. Writers wait for each other
// (busy timeout: a minute, as a hunt's batch of BatchSize detections holds
// the lock for about a second, and many times that on a loaded machine;
// ten seconds failed two concurrent hunts under the race detector) and
// take the write lock at BEGIN, so two writers never
// deadlock upgrading a read lock; synchronous=NORMAL keeps WAL consistent
// across a crash (the last transactions may be lost, never half of one).
func openSQLite(dir string) (*sql.DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	dsn := "file:" + filepath.Join(dir, FileName) +
		"?_pragma=busy_timeout(60000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate"
	return sql.Open("sqlite", dsn)
}

// redact hides a URL's password in messages.
func redact(target string) string {
	if i := strings.Index(target, "://"); i >= 0 {
		if at := strings.LastIndex(target, "@"); at > i {
			userinfo := target[i+3 : at]
			if name, _, ok := strings.Cut(userinfo, ":"); ok {
				return target[:i+3] + name + ":xxx" + target[at:]
			}
		}
	}
	return target
}

// Close closes the store. Hunts still running are left as they are: they
// are reported incomplete once their lease runs out.
func (s *Store) Close() error { return s.db.Close() }

// Backend names the backend: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.dialect.String() }

// q rewrites a query written with ? placeholders for the backend
// (PostgreSQL numbers them). No query of this package has a ? in a literal.
func (s *Store) q(query string) string {
	if s.dialect != postgresDialect {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// micros is the store's form of a time: microseconds since the Unix epoch,
// UTC, the same BIGINT on both backends.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros is the inverse of micros.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// inTx runs fn in a transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
