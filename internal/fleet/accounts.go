package fleet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/spoor-hunt/spoor/internal/outfile"
)

// Accounts are spoor's NATS accounts, kept in a folder (spoor serve's
// data folder's nats-auth/): an operator, a system account and one
// account per tenant, each a key pair and a JWT the operator signed.
// Tenants are apart by their accounts (each its own subjects, streams
// and buckets); within one, a credential's role says what it may do
// (Permissions). A NATS server trusting the operator (the embedded one,
// or a cluster given ServerConfig) checks the user JWTs Mint makes.
//
//	DIR/operator.nk, operator.jwt   the operator's seed and JWT
//	DIR/system.nk                   the system account's seed
//	DIR/tenants/<Token(tenant)>.nk  each tenant's account seed
//	DIR/accounts/<account>.jwt      each account's JWT, by public key (what servers resolve)
//
// Seeds are written 0600 in folders of 0700. An Accounts is used by one
// goroutine, or several that only Mint for tenants that exist.
type Accounts struct {
	dir      string
	operator nkeys.KeyPair
	opJWT    string
	system   string // the system account's public key
}

// Role is what a credential of a tenant may do.
type Role string

// The roles of credentials.
const (
	// RoleCollector publishes events (spoor ship) and its heartbeat; it
	// reads nothing of the stream.
	RoleCollector Role = "collector"
	// RoleWorker consumes the tenant's stream and uses its bucket (spoor
	// worker, spoor fleet status).
	RoleWorker Role = "worker"
)

// ErrNoAccounts: the folder holds no accounts (no credential was minted).
var ErrNoAccounts = errors.New("no NATS accounts (mint a credential first: spoor fleet credential add)")

// OpenAccounts opens the accounts in dir; with create, it makes the
// operator and the system account when dir has none, else that is
// ErrNoAccounts.
func OpenAccounts(dir string, create bool) (*Accounts, error) {
	a := &Accounts{dir: dir}
	seed, err := os.ReadFile(filepath.Join(dir, "operator.nk"))
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		return a, a.init()
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: %w", dir, ErrNoAccounts)
	case err != nil:
		return nil, err
	}
	if a.operator, err = nkeys.FromSeed(trimSeed(seed)); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "operator.nk"), err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "operator.jwt"))
	if err != nil {
		return nil, err
	}
	a.opJWT = strings.TrimSpace(string(b))
	oc, err := jwt.DecodeOperatorClaims(a.opJWT)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "operator.jwt"), err)
	}
	a.system = oc.SystemAccount
	return a, nil
}

// init makes the operator and the system account.
func (a *Accounts) init() error {
	for _, sub := range []string{"", "tenants", "accounts"} {
		if err := os.MkdirAll(filepath.Join(a.dir, sub), 0o700); err != nil {
			return err
		}
	}
	op, err := nkeys.CreateOperator()
	if err != nil {
		return err
	}
	sys, err := nkeys.CreateAccount()
	if err != nil {
		return err
	}
	sysPub, _ := sys.PublicKey()
	opPub, _ := op.PublicKey()
	oc := jwt.NewOperatorClaims(opPub)
	oc.Name = "spoor"
	oc.SystemAccount = sysPub
	if a.opJWT, err = oc.Encode(op); err != nil {
		return err
	}
	a.operator, a.system = op, sysPub
	sc := jwt.NewAccountClaims(sysPub)
	sc.Name = "SYS"
	sysJWT, err := sc.Encode(op)
	if err != nil {
		return err
	}
	// The seeds first: the operator's seed last of all, as it marks the
	// folder as made.
	sysSeed, _ := sys.Seed()
	opSeed, _ := op.Seed()
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"system.nk", sysSeed},
		{filepath.Join("accounts", sysPub+".jwt"), []byte(sysJWT)},
		{"operator.jwt", []byte(a.opJWT)},
		{"operator.nk", opSeed},
	} {
		if err := WriteSecret(filepath.Join(a.dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

// Dir is the accounts' folder.
func (a *Accounts) Dir() string { return a.dir }

// Tenant returns the public key of tenant's account, made (and its JWT
// written) when missing.
func (a *Accounts) Tenant(tenant string) (string, error) {
	kp, err := a.tenantKey(tenant, true)
	if err != nil {
		return "", err
	}
	return kp.PublicKey()
}

// tenantKey returns tenant's account key pair, made when missing (and
// create): its seed is claimed first, written only if no file is there
// (so that two processes making one tenant at once agree on its
// account), then its JWT is written if missing.
func (a *Accounts) tenantKey(tenant string, create bool) (nkeys.KeyPair, error) {
	file := filepath.Join(a.dir, "tenants", Token(tenant)+".nk")
	seed, err := os.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		kp, err := nkeys.CreateAccount()
		if err != nil {
			return nil, err
		}
		fresh, _ := kp.Seed()
		if err := claimSecret(file, fresh); err == nil {
			seed = fresh
		} else if !errors.Is(err, fs.ErrExist) {
			return nil, err
		} else if seed, err = os.ReadFile(file); err != nil { // made meanwhile
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	kp, err := nkeys.FromSeed(trimSeed(seed))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	pub, _ := kp.PublicKey()
	jwtFile := filepath.Join(a.dir, "accounts", pub+".jwt")
	if _, err := os.Stat(jwtFile); errors.Is(err, fs.ErrNotExist) {
		ac := jwt.NewAccountClaims(pub)
		ac.Name = tenant
		ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1, MaxAckPending: -1}
		token, err := ac.Encode(a.operator)
		if err != nil {
			return nil, err
		}
		if err := WriteSecret(jwtFile, []byte(token)); err != nil {
			return nil, err
		}
	}
	return kp, nil
}

// claimSecret writes data to file (0600) only if there is no file there
// (fs.ErrExist otherwise), whole: it is written aside, then linked in.
func claimSecret(file string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Link(tmp.Name(), file)
}

// Permissions are what a credential of role in tenant may publish and
// subscribe to, user being its public key. Within the tenant's account a
// collector publishes events and its heartbeat (c.<name> in the bucket),
// looks its stream and bucket up and creates them when missing; a
// worker calls JetStream's API (but deleting or purging a stream or
// messages), acknowledges and uses the bucket. Both subscribe only to
// replies under their own inbox prefix (InboxPrefix), so that no user of
// the account reads another's replies (a worker's fetched events).
func Permissions(tenant string, role Role, user string) (jwt.Permissions, error) {
	stream, bucket := StreamName(tenant), BucketName(tenant)
	var p jwt.Permissions
	p.Sub.Allow.Add(InboxPrefix(user) + ".>")
	switch role {
	case RoleCollector:
		p.Pub.Allow.Add(
			"spoor."+Token(tenant)+".events.>",
			"$JS.API.STREAM.INFO."+stream,
			"$JS.API.STREAM.CREATE."+stream,
			"$JS.API.STREAM.INFO.KV_"+bucket,
			"$JS.API.STREAM.CREATE.KV_"+bucket,
			"$JS.API.INFO", // the account's limits, read before a bucket is made
			"$KV."+bucket+"."+collectorKeyPrefix+">",
		)
	case RoleWorker:
		p.Pub.Allow.Add("$JS.API.>", "$JS.ACK."+stream+".>", "$JS.FC.>", "$KV."+bucket+".>")
		p.Pub.Deny.Add("$JS.API.STREAM.DELETE.>", "$JS.API.STREAM.PURGE.>", "$JS.API.STREAM.MSG.DELETE.>")
	default:
		return p, fmt.Errorf("role %q: not %s or %s", role, RoleCollector, RoleWorker)
	}
	return p, nil
}

// Mint makes a credential of role for tenant (its account made when
// missing): a user JWT, named name, expiring after expires (0: never),
// and its user's seed. It returns them as a .creds file's content and
// the user's public key.
func (a *Accounts) Mint(tenant string, role Role, name string, expires time.Duration) (creds []byte, user string, err error) {
	token, seed, user, err := a.MintJWT(tenant, role, name, expires)
	if err != nil {
		return nil, "", err
	}
	creds, err = jwt.FormatUserConfig(token, seed)
	return creds, user, err
}

// MintJWT is Mint's user JWT and seed, apart.
func (a *Accounts) MintJWT(tenant string, role Role, name string, expires time.Duration) (token string, seed []byte, user string, err error) {
	acc, err := a.tenantKey(tenant, true)
	if err != nil {
		return "", nil, "", err
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", nil, "", err
	}
	user, _ = kp.PublicKey()
	perms, err := Permissions(tenant, role, user)
	if err != nil {
		return "", nil, "", err
	}
	uc := jwt.NewUserClaims(user)
	uc.Name = name
	uc.Permissions = perms
	uc.Tags.Add("spoor-role:" + string(role))
	if expires > 0 {
		uc.Expires = time.Now().Add(expires).Unix()
	}
	if token, err = uc.Encode(acc); err != nil {
		return "", nil, "", err
	}
	seed, err = kp.Seed()
	return token, seed, user, err
}

// accountJWT returns the JWT of the account whose public key is pub.
func (a *Accounts) accountJWT(pub string) (string, error) {
	if !nkeys.IsValidPublicAccountKey(pub) {
		return "", fmt.Errorf("account %q: not an account's public key", pub)
	}
	b, err := os.ReadFile(filepath.Join(a.dir, "accounts", pub+".jwt"))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// ServerConfig is the part of a nats-server configuration that makes it
// trust the accounts: the operator, the system account and every
// account's JWT, preloaded (resolver MEMORY). Include it in each server
// of a cluster; a tenant added later needs the file written again and
// the servers reloaded (nats-server --signal reload).
func (a *Accounts) ServerConfig() (string, error) {
	ents, err := os.ReadDir(filepath.Join(a.dir, "accounts"))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# spoor's NATS accounts (spoor fleet credential server-config), made from %s\n", a.dir)
	fmt.Fprintf(&b, "operator: %s\nsystem_account: %s\nresolver: MEMORY\nresolver_preload: {\n", a.opJWT, a.system)
	var names []string
	for _, e := range ents {
		if pub, ok := strings.CutSuffix(e.Name(), ".jwt"); ok {
			names = append(names, pub)
		}
	}
	slices.Sort(names)
	for _, pub := range names {
		token, err := a.accountJWT(pub)
		if err != nil {
			return "", err
		}
		claims, err := jwt.DecodeAccountClaims(token)
		if err != nil {
			return "", fmt.Errorf("account %s: %w", pub, err)
		}
		fmt.Fprintf(&b, "  # %s\n  %s: %s\n", Token(claims.Name), pub, token)
	}
	b.WriteString("}\n")
	return b.String(), nil
}

// resolver serves the servers the accounts' JWTs from the folder, read
// when an account is first used: an account made after the server
// started is found (read-only; the server never writes it).
type resolver struct{ a *Accounts }

func (r resolver) Fetch(pub string) (string, error) { return r.a.accountJWT(pub) }
func (resolver) Store(string, string) error         { return errors.New("spoor's accounts are read-only") }
func (resolver) IsReadOnly() bool                   { return true }
func (resolver) IsTrackingUpdate() bool             { return false }
func (resolver) Reload() error                      { return nil }
func (resolver) Close()                             {}

// trimSeed takes a seed from a file's content (a decorated one too).
func trimSeed(b []byte) []byte {
	if kp, err := jwt.ParseDecoratedNKey(b); err == nil {
		if seed, err := kp.Seed(); err == nil {
			return seed
		}
	}
	return []byte(strings.TrimSpace(string(b)))
}

// WriteSecret writes data to file whole or not at all, readable and
// writable by its owner only (0600).
func WriteSecret(file string, data []byte) error {
	f, err := outfile.Create(file)
	if err != nil {
		return err
	}
	if tmp := f.Temp(); tmp != "" {
		if err := os.Chmod(tmp, 0o600); err != nil {
			f.Discard()
			return err
		}
	}
	if _, err := f.Write(data); err != nil {
		f.Discard()
		return err
	}
	return f.Commit()
}
