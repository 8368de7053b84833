package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/spoor-hunt/spoor/internal/attack"
	"github.com/spoor-hunt/spoor/internal/rulepkg"
	"github.com/spoor-hunt/spoor/internal/server"
	"github.com/spoor-hunt/spoor/internal/stix"
	"github.com/spoor-hunt/spoor/internal/store"
)

// caseSTIX is the console's CaseSTIXFunc: the objects of the bundle
// `spoor case export CASE --stix` writes (built-in and SigmaHQ rules,
// ATT&CK's names, the default TLP), for the case's TAXII collection. The
// knowledge base is loaded once, on the first export.
func caseSTIX(st *store.Store) server.CaseSTIXFunc {
	kb := sync.OnceValue(func() *attack.KB {
		if kb, _, err := loadKB(); err == nil {
			return kb
		}
		kb, _ := attack.Load()
		return kb
	})
	return func(ctx context.Context, tenant, caseName string) ([]json.RawMessage, error) {
		ops, err := caseOperations(ctx, st, tenant, caseName, "")
		if err != nil || len(ops) == 0 {
			return nil, err
		}
		pkg, err := rulepkg.Open()
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := exportSTIX(&buf, ops, stix.Options{}, ruleSources{builtin: true, sigmaHQ: pkg}, kb()); err != nil {
			return nil, err
		}
		var b struct{ Objects []json.RawMessage }
		if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
			return nil, fmt.Errorf("read the export back: %w", err)
		}
		return b.Objects, nil
	}
}
