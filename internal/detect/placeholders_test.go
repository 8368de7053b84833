package detect

import (
	"reflect"
	"strings"
	"testing"
)

func TestLoadPlaceholders(t *testing.T) {
	got, err := LoadPlaceholders([]byte("Administrators: ['*\\adm-*', 'CORP\\Domain Admins']\n'%Workstations%': WS-*\n"), "p.yml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"Administrators": {`*\adm-*`, `CORP\Domain Admins`}, "Workstations": {"WS-*"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, tc := range []struct{ in, msg string }{
		{"- a\n- b\n", "p.yml:1: placeholders must be a mapping"},
		{"A: x\nA: y\n", "p.yml:2: A: placeholder given twice"},
		{"A: []\n", "p.yml:1: A: no values"},
		{"A: {b: c}\n", "p.yml:1: A: value must be a string"},
		{"A:\n  - [x]\n", "p.yml:2: A: values must be strings"},
	} {
		_, err := LoadPlaceholders([]byte(tc.in), "p.yml")
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("LoadPlaceholders(%q) error = %v, want it to contain %q", tc.in, err, tc.msg)
		}
	}
}

func TestPlaceholdersExpandInRule(t *testing.T) {
	rule := `title: admin logon
id: 11111111-1111-4111-8111-111111111111
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4624
    TargetUserName|expand: '%Administrators%'
  condition: sel
`
	vals, err := LoadPlaceholders([]byte("Administrators: [adm-*, root]\n"), "p.yml")
	if err != nil {
		t.Fatal(err)
	}
	e := mustCompile(t, rule, Options{Router: DefaultPipeline(), Placeholders: vals})
	for _, tc := range []struct {
		user string
		want int
	}{{"adm-jane", 1}, {"ROOT", 1}, {"jane", 0}} {
		ev := evt("Channel", "Security", "EventID", uint64(4624), "TargetUserName", tc.user)
		if got := len(e.NewMatcher().Match(ev, nil)); got != tc.want {
			t.Errorf("user %q: got %d detections, want %d", tc.user, got, tc.want)
		}
	}
}
