package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/rulepkg"
	"github.com/spoor-hunt/spoor/internal/server"
	"github.com/spoor-hunt/spoor/internal/source"
	"github.com/spoor-hunt/spoor/internal/store"
)

// huntIntoCase is the console's HuntFunc: a default hunt (the built-in and
// SigmaHQ rules, with the case's filters) whose detections are then written
// to the store as one hunt, and whose operations join the case's, their
// detection numbers turned into store IDs.
//
// It holds the whole result in memory, as `spoor hunt` does; the streaming
// hunt into a store (internal/intake) is to replace it.
func huntIntoCase(st *store.Store, env Env) server.HuntFunc {
	return func(ctx context.Context, tenant, caseName, actor string, paths []string, filters [][]byte, progress func(server.Progress)) error {
		opts := hunt.Options{Logger: env.logger()}
		if len(filters) > 0 {
			dir, err := os.MkdirTemp("", "spoor-filters-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			for i, f := range filters {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("filter-%d.yml", i)), f, 0o600); err != nil {
					return err
				}
			}
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
		var prog source.Progress
		var phase atomic.Value
		phase.Store("rules")
		opts.Progress = &prog
		opts.OnPhase = func(p hunt.Phase) {
			if p == hunt.PhaseEvidence {
				phase.Store("evidence")
			}
		}
		report := func(p string, detections, huntID int64) {
			s := prog.Snapshot()
			progress(server.Progress{Phase: p, FilesDone: s.FilesDone, FilesTotal: s.FilesTotal, BytesDone: s.BytesDone,
				BytesTotal: s.BytesTotal, Events: s.Events, Detections: detections, Hunt: huntID})
		}
		stop := make(chan struct{})
		ticked := make(chan struct{})
		go func() {
			defer close(ticked)
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					report(phase.Load().(string), 0, 0)
				}
			}
		}()
		res, err := hunt.Run(ctx, paths, opts)
		close(stop)
		<-ticked
		if err != nil {
			return err
		}
		report("storing", int64(len(res.Detections)), 0)
		return storeResult(ctx, st, tenant, caseName, actor, paths, res, func(n, h int64) { report("storing", n, h) })
	}
}

// storeResult writes a hunt's result into a case: its detections as one
// hunt, then its operations added to the case's.
func storeResult(ctx context.Context, st *store.Store, tenant, caseName, actor string, paths []string, res *result.Result, stored func(n, hunt int64)) error {
	w, err := st.BeginHunt(ctx, tenant, caseName, store.HuntSpec{By: actor, Paths: paths, Rules: strings.Join(res.Rules.Sources, ", ")})
	if err != nil {
		return err
	}
	for i := range res.Detections {
		b, err := json.Marshal(&res.Detections[i])
		if err == nil {
			err = w.Write(ctx, b)
		}
		if err != nil {
			w.Abort(context.WithoutCancel(ctx), err.Error())
			return err
		}
		if i%1000 == 999 {
			stored(int64(i+1), w.Hunt())
		}
	}
	summary, err := json.Marshal(map[string]any{"evidence": res.Evidence, "rules": res.Rules, "levels": res.Levels})
	if err != nil {
		return err
	}
	if err := w.Finish(ctx, summary); err != nil {
		return err
	}
	stored(int64(len(res.Detections)), w.Hunt())
	if len(res.Operations) == 0 {
		return nil
	}
	ids, err := st.HuntDetectionIDs(ctx, tenant, caseName, w.Hunt())
	if err != nil {
		return err
	}
	old, err := st.Operations(ctx, tenant, caseName)
	if err != nil {
		return err
	}
	ops := make([]json.RawMessage, 0, len(old)+len(res.Operations))
	fresh := map[string]bool{}
	for i := range res.Operations {
		fresh[res.Operations[i].ID] = true
	}
	for _, o := range old {
		// An operation found again (its ID is made from its content) is
		// the new hunt's.
		if !fresh[o.ID] {
			ops = append(ops, o.JSON)
		}
	}
	for i := range res.Operations {
		op := &res.Operations[i]
		renumber(op, ids)
		b, err := json.Marshal(op)
		if err != nil {
			return err
		}
		ops = append(ops, b)
	}
	return st.ReplaceOperations(ctx, tenant, caseName, ops, actor)
}

// renumber turns an operation's detection numbers (indices in its hunt's
// result) into the store's detection IDs.
func renumber(op *result.Operation, ids []int64) {
	op.EachDetectionRef(func(p *int) {
		if *p >= 0 && *p < len(ids) {
			*p = int(ids[*p])
		}
	})
}
