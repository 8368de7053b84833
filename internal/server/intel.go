package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/stix"
)

// IntelFunc imports the indicators of a STIX 2.1 bundle into a case of
// tenant as actor (source names the file as the browser gave it) and
// hunts the case's evidence again for them, as spoor intel import does;
// the sightings bundle it returns is marked with the TLP level given.
// spoor serve provides it. An error wrapping ErrBadBundle is the bundle's
// fault (400).
type IntelFunc func(ctx context.Context, tenant, caseName, actor, source string, bundle []byte, tlp string) (IntelReport, error)

// ErrBadBundle: what was sent to import is no bundle of indicators.
var ErrBadBundle = errors.New("not a STIX bundle of indicators")

// IntelReport is what an import did, as the console shows it.
type IntelReport struct {
	Source string `json:"source"`
	// Hunted says what was hunted: the case's evidence, or its stored
	// detections when the evidence cannot be read.
	Hunted     string           `json:"hunted"`
	Indicators []IntelIndicator `json:"indicators"`
	// Sightings is the STIX bundle of the indicators seen and their
	// sightings, to send back to whoever shared them (absent when none
	// was seen).
	Sightings json.RawMessage `json:"sightings,omitempty"`
}

// IntelIndicator is one indicator imported and what became of it.
type IntelIndicator struct {
	ID          string    `json:"id"`
	Name        string    `json:"name,omitempty"`
	PatternType string    `json:"pattern_type"`
	Pattern     string    `json:"pattern"`
	Seen        int       `json:"seen"`
	First       time.Time `json:"first,omitzero"`
	Last        time.Time `json:"last,omitzero"`
	Hosts       []string  `json:"hosts,omitempty"`
	// Skipped says why it was not hunted ("" when it was).
	Skipped string `json:"skipped,omitempty"`
}

// maxIntelBundle bounds a bundle to import (a variable for tests).
var maxIntelBundle int64 = stix.MaxBundleBytes

// isIntelImport tells a request whose body may be as large as a bundle.
func isIntelImport(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/cases/") && strings.HasSuffix(r.URL.Path, "/intel")
}

// caseMultipart starts reading the multipart/form-data body of a request
// about a case of the user's tenant (an upload, an import): the case
// found, the feature on (else 501 with off), the body multipart. When it
// returns false it has answered. A large body takes longer than the
// server's read timeout: the request gets an hour.
func (s *Server) caseMultipart(w http.ResponseWriter, r *http.Request, on bool, off string) (*multipart.Reader, bool) {
	u := who(r).user
	if _, err := s.st.Case(r.Context(), u.Tenant, r.PathValue("case")); err != nil {
		s.storeError(w, r, err)
		return nil, false
	}
	if !on {
		fail(w, http.StatusNotImplemented, off)
		return nil, false
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		fail(w, http.StatusUnsupportedMediaType, "body must be multipart/form-data")
		return nil, false
	}
	mr, err := r.MultipartReader()
	if err != nil {
		fail(w, http.StatusBadRequest, "bad multipart body: "+err.Error())
		return nil, false
	}
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(time.Hour))
	return mr, true
}

// intelImport takes a partner's bundle (multipart/form-data: field "file",
// and "tlp" for the sightings bundle) into the case, one import at a time
// per server (another is refused before its bundle is read): it hunts the
// case's evidence again, before it answers.
func (s *Server) intelImport(w http.ResponseWriter, r *http.Request) {
	ctx, u, name := r.Context(), who(r).user, r.PathValue("case")
	mr, ok := s.caseMultipart(w, r, s.intel != nil, "this server does not import intelligence")
	if !ok {
		return
	}
	// Taken before the bundle is read: a request waiting its turn would
	// hold a whole bundle.
	select {
	case s.intelBusy <- struct{}{}:
		defer func() { <-s.intelBusy }()
	default:
		fail(w, http.StatusServiceUnavailable, "another import is running; try again later")
		return
	}
	var bundle []byte
	var source string
	tlp := stix.DefaultTLP
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.uploadError(w, r, err)
			return
		}
		switch {
		case part.FormName() == "file" && bundle == nil:
			source = part.FileName()
			bundle, err = io.ReadAll(io.LimitReader(part, maxIntelBundle+1))
			if err == nil && int64(len(bundle)) > maxIntelBundle {
				err = &http.MaxBytesError{Limit: maxIntelBundle}
			}
		case part.FormName() == "tlp":
			var v []byte
			v, err = io.ReadAll(io.LimitReader(part, 64))
			tlp = strings.TrimSpace(string(v))
		}
		part.Close()
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("bundle larger than %d bytes", maxIntelBundle))
				return
			}
			s.uploadError(w, r, err)
			return
		}
	}
	if bundle == nil {
		fail(w, http.StatusBadRequest, `no bundle in the body (form field "file")`)
		return
	}
	if _, err := stix.TLPMarking(tlp); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
	rep, err := s.intel(ctx, u.Tenant, name, u.Name, source, bundle, tlp)
	switch {
	case errors.Is(err, ErrBadBundle):
		fail(w, http.StatusBadRequest, err.Error())
	case err != nil:
		s.storeError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}
