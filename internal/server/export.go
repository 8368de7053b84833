package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/spoor-hunt/spoor/internal/report"
	"github.com/spoor-hunt/spoor/internal/report/html"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/stix"
	"github.com/spoor-hunt/spoor/internal/store"
)

// Exports: the case's detections as a timeline (CSV or JSON lines, the
// columns of `spoor hunt --timeline`), filtered like the detection list,
// the HTML report of its operations, and their STIX 2.1 bundle. In the
// store, an operation refers to detections by their store IDs.

// maxReportDetections bounds the detections an exported report holds.
const maxReportDetections = 20_000

// exportPage is how many detections a timeline export reads at a time.
var exportPage = store.MaxLimit

// export answers the file named in the path: timeline.csv, timeline.jsonl,
// report.html or stix.json.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	switch r.PathValue("file") {
	case "timeline.csv":
		s.exportTimeline(w, r, report.CSV, "text/csv; charset=utf-8", "csv")
	case "timeline.jsonl":
		s.exportTimeline(w, r, report.JSONL, "application/x-ndjson", "jsonl")
	case "report.html":
		s.exportReport(w, r)
	case "stix.json":
		s.exportSTIX(w, r)
	default:
		fail(w, http.StatusNotFound, "not found")
	}
}

// exportSTIX answers the case's operations as one STIX 2.1 bundle: the
// objects `spoor case export CASE --stix` writes, which the case's TAXII
// collection serves too; its id is derived from the case and the objects,
// so the same export is the same bundle.
func (s *Server) exportSTIX(w http.ResponseWriter, r *http.Request) {
	ctx, u, name := r.Context(), who(r).user, r.PathValue("case")
	if _, err := s.st.Case(ctx, u.Tenant, name); err != nil {
		s.storeError(w, r, err) // another tenant's case too: 404
		return
	}
	if s.caseSTIX == nil {
		fail(w, http.StatusNotFound, "no STIX export on this server")
		return
	}
	objects, err := s.caseSTIX(ctx, u.Tenant, name)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if objects == nil {
		objects = []json.RawMessage{}
	}
	h := sha256.New()
	for _, o := range objects {
		h.Write(o)
	}
	bundle := struct {
		Type    string            `json:"type"`
		ID      string            `json:"id"`
		Objects []json.RawMessage `json:"objects"`
	}{"bundle", "bundle--" + stix.NameUUID("console-export\x00"+u.Tenant+"\x00"+name+"\x00"+hex.EncodeToString(h.Sum(nil))), objects}
	body, err := json.Marshal(bundle)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.st.Record(ctx, u.Tenant, name, u.Name, "export.stix", []byte(`{"objects":`+strconv.Itoa(len(objects))+`}`))
	w.Header().Set("Content-Type", "application/stix+json;version=2.1")
	w.Header().Set("Content-Disposition", `attachment; filename="stix.json"`)
	w.Write(body)
}

func (s *Server) exportTimeline(w http.ResponseWriter, r *http.Request, f report.Format, ctype, ext string) {
	q, err := detectionFilter(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	q.Limit, q.Order = exportPage, store.ByTime
	ctx, u, name := r.Context(), who(r).user, r.PathValue("case")
	// The first page before any byte is sent: a case not found is a 404.
	page, err := s.st.Detections(ctx, u.Tenant, name, q)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	s.st.Record(ctx, u.Tenant, name, u.Name, "export.timeline", []byte(`{"format":"`+ext+`"}`))
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="timeline.`+ext+`"`)
	var buf bytes.Buffer
	for first := true; ; first = false {
		res := &result.Result{Detections: make([]result.Detection, len(page.Detections))}
		for i, d := range page.Detections {
			if err := json.Unmarshal(d.JSON, &res.Detections[i]); err != nil {
				s.log.Error("export: stored detection unreadable", "id", d.ID, "err", err)
				return
			}
		}
		buf.Reset()
		if err := report.Timeline(&buf, res, f); err != nil {
			s.log.Error("export", "err", err)
			return
		}
		b := buf.Bytes()
		if f == report.CSV && !first {
			// Timeline writes the header with every page: keep the first.
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				b = b[i+1:]
			}
		}
		if _, err := w.Write(b); err != nil || page.Next == "" {
			return
		}
		q.After = page.Next
		if page, err = s.st.Detections(ctx, u.Tenant, name, q); err != nil {
			s.log.Error("export", "err", err)
			return
		}
	}
}

// caseOperations reads a case's operations and the detections they refer
// to as one hunt result: detections in time order, operations' references
// renumbered to them.
func (s *Server) caseOperations(r *http.Request, tenant, name string) (*result.Result, error) {
	ctx := r.Context()
	stored, err := s.st.Operations(ctx, tenant, name)
	if err != nil {
		return nil, err
	}
	res := &result.Result{Operations: make([]result.Operation, len(stored))}
	ids := map[int]bool{}
	for i, o := range stored {
		if err := json.Unmarshal(o.JSON, &res.Operations[i]); err != nil {
			return nil, fmt.Errorf("operation %s: %w", o.ID, err)
		}
		res.Operations[i].EachDetectionRef(func(p *int) { ids[*p] = true })
	}
	type ref struct {
		id int
		d  result.Detection
	}
	var refs []ref
	for id := range ids {
		if len(refs) == maxReportDetections {
			break
		}
		d, err := s.st.GetDetection(ctx, tenant, name, int64(id))
		if err != nil {
			continue // a detection gone is left out of the report
		}
		var rd result.Detection
		if err := json.Unmarshal(d.JSON, &rd); err != nil {
			return nil, fmt.Errorf("detection %d: %w", id, err)
		}
		refs = append(refs, ref{id, rd})
	}
	slices.SortFunc(refs, func(a, b ref) int {
		if c := a.d.Time.Compare(b.d.Time); c != 0 {
			return c
		}
		return a.id - b.id
	})
	at := map[int]int{}
	for i, x := range refs {
		at[x.id] = i
		res.Detections = append(res.Detections, x.d)
	}
	for i := range res.Operations {
		res.Operations[i].EachDetectionRef(func(p *int) {
			if n, ok := at[*p]; ok {
				*p = n
			} else {
				*p = -1
			}
		})
		dropMissing(&res.Operations[i])
	}
	return res, nil
}

// dropMissing removes the references renumbered to -1.
func dropMissing(op *result.Operation) {
	gone := func(n int) bool { return n < 0 }
	op.Detections = slices.DeleteFunc(op.Detections, gone)
	for i := range op.Steps {
		op.Steps[i].Detections = slices.DeleteFunc(op.Steps[i].Detections, gone)
	}
	op.Joins = slices.DeleteFunc(op.Joins, func(j result.Join) bool { return j.Detections[0] < 0 || j.Detections[1] < 0 })
	for i := range op.Graph.Nodes {
		op.Graph.Nodes[i].Detections = slices.DeleteFunc(op.Graph.Nodes[i].Detections, gone)
	}
}

func (s *Server) exportReport(w http.ResponseWriter, r *http.Request) {
	u, name := who(r).user, r.PathValue("case")
	res, err := s.caseOperations(r, u.Tenant, name)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	res.Version = "spoor console, case " + name
	res.Started = s.now()
	var buf bytes.Buffer
	if err := html.Write(&buf, res); err != nil {
		s.internal(w, r, err)
		return
	}
	s.st.Record(r.Context(), u.Tenant, name, u.Name, "export.report", nil)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="report.html"`)
	w.Write(buf.Bytes())
}

// operationGraph answers an operation's graph laid out as the HTML report
// draws it; each box lists its graph node IDs, whose detections are in
// the operation's graph.
func (s *Server) operationGraph(w http.ResponseWriter, r *http.Request) {
	ctx, tenant, name, id := r.Context(), who(r).user.Tenant, r.PathValue("case"), r.PathValue("id")
	o, err := s.st.GetOperation(ctx, tenant, name, id)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	var op result.Operation
	if err := json.Unmarshal(o.JSON, &op); err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"layout": html.LayoutOperation(&op)})
}
