package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"

	"github.com/spoor-hunt/spoor/internal/server"
	"github.com/spoor-hunt/spoor/internal/stix"
	"github.com/spoor-hunt/spoor/internal/store"
)

// intelIntoCase is the console's IntelFunc: what spoor intel import does
// with a bundle file (importIntel), the sightings bundle made by the
// tenant (its name the identity) at the TLP level asked.
func intelIntoCase(st *store.Store, env Env) server.IntelFunc {
	return func(ctx context.Context, tenant, caseName, actor, source string, bundle []byte, tlp string) (server.IntelReport, error) {
		var warnings []string
		res, err := importIntel(ctx, st, tenant, caseName, actor, "console upload "+source, bundle, runtime.NumCPU(), env.logger(),
			func(msg string) { warnings = append(warnings, msg) })
		if errors.Is(err, errNoIndicator) {
			return server.IntelReport{}, fmt.Errorf("%w: %v", server.ErrBadBundle, err)
		}
		if err != nil {
			return server.IntelReport{}, err
		}
		for _, w := range warnings {
			env.logger().Warn("intel import", "case", caseName, "tenant", tenant, "msg", w)
		}
		rep := server.IntelReport{Source: source, Hunted: res.hunted, Indicators: make([]server.IntelIndicator, len(res.items))}
		for i, im := range res.items {
			rep.Indicators[i] = server.IntelIndicator{ID: im.ind.ID, Name: im.ind.Name, PatternType: im.ind.PatternType,
				Pattern: im.ind.Pattern, Seen: im.seen.Count, First: im.seen.First, Last: im.seen.Last, Hosts: im.seen.Hosts, Skipped: im.skip}
		}
		if seen := res.seen(); len(seen) > 0 {
			b, err := stix.Sightings(seen, tenant, tlp, stix.Redact{})
			if err != nil {
				return server.IntelReport{}, err
			}
			if rep.Sightings, err = json.Marshal(b); err != nil {
				return server.IntelReport{}, err
			}
		}
		return rep, nil
	}
}
