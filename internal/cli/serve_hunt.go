package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/intake"
	"github.com/spoor-hunt/spoor/internal/rulepkg"
	"github.com/spoor-hunt/spoor/internal/server"
	"github.com/spoor-hunt/spoor/internal/store"
)

// huntIntoCase is the console's HuntFunc: a default hunt (the built-in and
// SigmaHQ rules, with the case's filters) streamed into the case by
// intake.Hunt, which then rebuilds the case's operations over all its
// hunts.
func huntIntoCase(st *store.Store, env Env) server.HuntFunc {
	return func(ctx context.Context, tenant, caseName, actor string, paths []string, filters [][]byte, progress func(server.Progress)) error {
		opts := hunt.Options{Logger: env.logger()}
		dir, err := filterRules(filters)
		if err != nil {
			return err
		}
		if dir != "" {
			defer os.RemoveAll(dir)
			opts.Rules = []string{dir}
		}
		if pkg, err := rulepkg.Open(); err == nil {
			opts.SigmaHQ = pkg
		} else {
			opts.Logger.Warn("SigmaHQ rules not used", "err", err)
		}
		if kb, _, err := loadKB(); err == nil {
			opts.Attack = kb
		}
		_, err = intake.Hunt(ctx, st, tenant, caseName, actor, paths, intake.Options{
			Hunt:      opts,
			RulesText: rulesText(opts),
			OnProgress: func(p intake.Progress) {
				s := p.Read
				progress(server.Progress{Phase: string(p.Stage), FilesDone: s.FilesDone, FilesTotal: s.FilesTotal, BytesDone: s.BytesDone,
					BytesTotal: s.BytesTotal, Events: s.Events, Detections: p.Detections, Hunt: p.Hunt})
			},
		})
		return err
	}
}

// filterRules writes the Sigma filter documents of a case into a new
// temporary folder for a hunt's rules ("" when there are none); the caller
// removes it.
func filterRules(filters [][]byte) (string, error) {
	if len(filters) == 0 {
		return "", nil
	}
	dir, err := os.MkdirTemp("", "spoor-filters-")
	if err != nil {
		return "", err
	}
	for i, f := range filters {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("filter-%d.yml", i)), f, 0o600); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}
