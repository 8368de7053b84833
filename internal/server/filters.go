package server

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/internal/store"
)

// A false positive becomes a Sigma filter: the server writes a v2 filter
// document naming the detection's rule, whose selection is the detection's
// computer and the fields the analyst keeps, each an exact value. It is kept
// with the case; every later hunt into the case loads it beside its rules,
// so the same event is not detected again by that rule.

type filterJSON struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title"`
	Rule      string    `json:"rule"`
	Sigma     string    `json:"sigma"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
}

func toFilter(f store.CaseFilter) filterJSON {
	return filterJSON{ID: f.ID, Title: f.Title, Rule: f.Rule, Sigma: string(f.Body), Created: f.Created, CreatedBy: f.CreatedBy}
}

func (s *Server) listFilters(w http.ResponseWriter, r *http.Request) {
	fs, err := s.st.Filters(r.Context(), who(r).user.Tenant, r.PathValue("case"))
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := make([]filterJSON, len(fs))
	for i, f := range fs {
		out[i] = toFilter(f)
	}
	writeJSON(w, http.StatusOK, map[string]any{"filters": out})
}

// addFilter writes the filter of one detection: {"detection": id,
// "fields": [names]}; fields absent keeps every field the detection shows.
func (s *Server) addFilter(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Detection int64     `json:"detection"`
		Fields    *[]string `json:"fields"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	ctx, u, name := r.Context(), who(r).user, r.PathValue("case")
	d, err := s.st.GetDetection(ctx, u.Tenant, name, in.Detection)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	var det result.Detection
	if err := json.Unmarshal(d.JSON, &det); err != nil {
		s.internal(w, r, err)
		return
	}
	var keep []string
	if in.Fields != nil {
		keep = *in.Fields
	}
	body, title, err := filterDocument(&det, in.Fields != nil, keep, fmt.Sprintf("detection %d of case %q by %s", d.ID, name, u.Name))
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	f, err := s.st.AddFilter(ctx, u.Tenant, name, store.CaseFilter{Title: title, Rule: det.Rule.ID, Body: body}, u.Name)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toFilter(f))
}

func (s *Server) removeFilter(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusNotFound, "not found")
		return
	}
	u := who(r).user
	if err := s.st.RemoveFilter(r.Context(), u.Tenant, r.PathValue("case"), id, u.Name); err != nil {
		s.storeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// fieldName is a field name a filter may use as a YAML key as it is.
var fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.]{0,127}$`)

// filterDocument writes the Sigma filter of d: its rule, its computer and
// the fields named in keep (all its fields when !only). made says where it
// came from, for the description.
func filterDocument(d *result.Detection, only bool, keep []string, made string) (doc []byte, title string, err error) {
	if d.Kind == result.KindCorrelation {
		return nil, "", fmt.Errorf("a correlation cannot become a filter: filter the rules it counts")
	}
	if d.Rule == nil || d.Rule.ID == "" {
		return nil, "", fmt.Errorf("the detection's rule has no id to filter")
	}
	type kv struct{ k, v string }
	var sel []kv
	if d.Computer != "" {
		sel = append(sel, kv{"Computer", d.Computer})
	}
	for _, f := range d.Fields {
		// An empty value is left out: the field may be absent rather
		// than empty in the next event.
		if (only && !slices.Contains(keep, f.Name)) || f.Value == "" || !fieldName.MatchString(f.Name) || f.Name == "Computer" ||
			slices.ContainsFunc(sel, func(x kv) bool { return x.k == f.Name }) {
			continue
		}
		sel = append(sel, kv{f.Name, f.Value})
	}
	if len(sel) == 0 {
		return nil, "", fmt.Errorf("no field left to filter on: it would silence the rule everywhere")
	}
	title = "False positive: " + d.Rule.Title
	if d.Computer != "" {
		title += " on " + d.Computer
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "title: %s\nid: %s\nstatus: experimental\ndescription: %s\n", yamlString(title), uuid4(),
		yamlString("A false positive turned into a filter in the spoor console: "+made))
	// The filter names its rule, which is what selects where it applies;
	// a logsource is required all the same.
	fmt.Fprintf(&b, "date: %s\nlogsource:\n    product: windows\nfilter:\n    rules:\n        - %s\n    selection:\n", time.Now().UTC().Format("2006-01-02"), yamlString(d.Rule.ID))
	for _, x := range sel {
		fmt.Fprintf(&b, "        %s: %s\n", x.k, yamlString(sigmaLiteral(x.v)))
	}
	b.WriteString("    condition: selection\n")
	// What was written must load as the filter it is meant to be.
	c := sigma.Parse(b.Bytes(), "filter.yml")
	if len(c.Filters) != 1 || len(c.Rules)+len(c.Correlations) != 0 {
		var errs []string
		for _, e := range c.Errors {
			if !e.Warning {
				errs = append(errs, e.Error())
			}
		}
		return nil, "", fmt.Errorf("the filter written does not load: %s", strings.Join(errs, "; "))
	}
	return b.Bytes(), title, nil
}

// sigmaLiteral escapes Sigma's wildcards and their escape, so a value
// matches only itself.
func sigmaLiteral(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`)
	return r.Replace(v)
}

// yamlString writes s as a YAML double-quoted scalar (JSON's string syntax
// is one).
func yamlString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

func uuid4() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}
