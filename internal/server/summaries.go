package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/spoor-hunt/spoor/internal/store"
)

// huntSummaryJSON is one summary of one complete hunt's evidence: the
// JSON `spoor metrics`, `spoor logons` or `spoor gaps` gives for the
// hunt's paths, computed once when the hunt completed.
type huntSummaryJSON struct {
	Hunt     int64           `json:"hunt"`
	Paths    []string        `json:"paths"`
	Finished time.Time       `json:"finished"`
	Summary  json.RawMessage `json:"summary"`
}

// summaries answers GET /api/cases/{case}/{metrics,logons,gaps}: the
// summary of kind of each complete hunt of the case, oldest first. They
// are listed per hunt, not merged: each hunt read its own evidence, and
// a log hunted twice would be counted twice by a merge.
func (s *Server) summaries(kind string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, tenant, name := r.Context(), who(r).user.Tenant, r.PathValue("case")
		sums, err := s.st.Summaries(ctx, tenant, name, kind)
		if err != nil {
			s.storeError(w, r, err)
			return
		}
		hunts, err := s.st.Hunts(ctx, tenant, name)
		if err != nil {
			s.storeError(w, r, err)
			return
		}
		byID := make(map[int64]store.Hunt, len(hunts))
		for _, h := range hunts {
			byID[h.ID] = h
		}
		out := make([]huntSummaryJSON, len(sums))
		for i, sm := range sums {
			h := byID[sm.Hunt]
			out[i] = huntSummaryJSON{Hunt: sm.Hunt, Paths: h.Paths, Finished: h.Finished, Summary: sm.Body}
		}
		writeJSON(w, http.StatusOK, map[string]any{"kind": kind, "hunts": out})
	}
}
