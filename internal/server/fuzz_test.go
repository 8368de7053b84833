package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzAPI sends arbitrary calls, queries and bodies as acme's analyst:
// whatever arrives, the answer is never a server error and never holds
// globex's case (its description is in no answer).
func FuzzAPI(f *testing.F) {
	fx := newFixture(f, f.TempDir())
	ann := fx.login("ann")
	for _, seed := range [][3]string{
		{"GET", "/api/cases/intrusion/detections?level=medium,high&q=msiexec%20run&sort=level&limit=2&after=1.2.3", ""},
		{"GET", "/api/cases/intrusion/detections?from=2022-02-03T00:00:00Z&to=2023-01-01T00:00:00Z&tactic=persistence&technique=t1547", ""},
		{"PUT", "/api/cases/intrusion/triage/detection/1", `{"state":"benign","assignee":"vic","notes":"ok"}`},
		{"PUT", "/api/cases/intrusion/triage/operation/op-x", `{"state":"new"}`},
		{"POST", "/api/cases", `{"name":"x"}`},
		{"GET", "/api/cases/intrusion/audit?after=0&limit=5", ""},
		{"GET", "/api/cases/..%2f..%2fglobex/detections", ""},
		{"GET", "/api/audit?after=1&limit=3", ""},
		{"PUT", "/api/me/password", `{"current":"x","new":"yyyyyyyyyyyyy"}`},
		{"POST", "/api/users/vic/disable", ""},
		{"PUT", "/api/users/gus/password", `{"password":"zzzzzzzzzzzzzz"}`},
		{"POST", "/api/cases/intrusion/filters", `{"detection":1,"fields":["CommandLine"]}`},
		{"DELETE", "/api/cases/intrusion/filters/1", ""},
		{"GET", "/api/cases/intrusion/operations/op-x/graph", ""},
		{"GET", "/api/cases/intrusion/export/timeline.csv?level=high&q=x", ""},
		{"GET", "/api/cases/intrusion/export/report.html", ""},
		{"GET", "/api/cases/intrusion/jobs/1", ""},
		{"POST", "/api/cases/intrusion/uploads", `{}`},
		{"POST", "/api/cases/intrusion/intel", `{}`},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !requestable(path) {
			return
		}
		switch method {
		case "GET", "POST", "PUT", "DELETE", "PATCH":
		default:
			return
		}
		fx.t = t
		w := fx.do(ann, method, path, nil, func(r *http.Request) {
			r.Body = http.NoBody
			if body != "" {
				r.Body = readCloser(body)
				r.Header.Set("Content-Type", "application/json")
			}
		})
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, w.Code, w.Body)
		}
		// globex's case description, unless the request wrote it itself
		// (an error message or a redirect may quote the request).
		quoted := strings.Contains(strings.ToLower(path+body), "globex") || strings.Contains(path, "%")
		if strings.Contains(w.Body.String(), "globex's case") && !quoted {
			t.Fatalf("%s %s %q: globex's data in %s", method, path, body, w.Body)
		}
	})
}

// requestable says whether net/http would hand a handler a request for path:
// a request line cannot hold spaces or line breaks, and a fragment is not sent.
func requestable(path string) bool {
	_, err := url.ParseRequestURI(path)
	return err == nil && strings.HasPrefix(path, "/") && !strings.ContainsAny(path, " \r\n\t#") && len(path) <= 2000
}
