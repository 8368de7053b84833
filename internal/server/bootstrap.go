package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/spoor-hunt/spoor/internal/store"
)

// AdminPasswordEnv names the variable that sets the first admin's password
// instead of a generated one.
const AdminPasswordEnv = "SPOOR_ADMIN_PASSWORD"

// FirstAdmin is the account the first start creates.
const FirstAdmin = "admin"

// Bootstrap prepares a store that has no tenant yet: it creates the tenant
// store.DefaultTenant and its admin FirstAdmin, with password (when not
// "") or a generated one; a start that stopped between the two finishes
// the job, and of two starts at once one makes the admin. It returns the
// password generated ("" when the store had users, another start made the
// admin, or password was given), for the caller to show once: it is
// stored only hashed.
func Bootstrap(ctx context.Context, st *store.Store, password string) (generated string, err error) {
	ts, err := st.Tenants(ctx)
	if err != nil {
		return "", err
	}
	if len(ts) > 1 || len(ts) == 1 && ts[0].Name != store.DefaultTenant {
		return "", nil
	}
	if len(ts) == 1 {
		us, err := st.Users(ctx, store.DefaultTenant)
		if err != nil || len(us) > 0 {
			return "", err
		}
	}
	if password == "" {
		generated = rand.Text() // 26 characters, 130 bits
		password = generated
	} else if len(password) < minPassword {
		return "", fmt.Errorf("%s: at least %d characters", AdminPasswordEnv, minPassword)
	}
	// Another start on the same store may get there first: its tenant is
	// ours, and its admin is the one (it shows the password).
	if len(ts) == 0 {
		if _, err := st.AddTenant(ctx, store.DefaultTenant, "spoor serve"); err != nil && !errors.Is(err, store.ErrExists) {
			return "", err
		}
	}
	_, err = st.AddUser(ctx, store.DefaultTenant, FirstAdmin, store.RoleAdmin, password, "spoor serve")
	if errors.Is(err, store.ErrExists) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return generated, nil
}
