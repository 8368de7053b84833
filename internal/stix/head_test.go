package stix

import "testing"

func TestReadHead(t *testing.T) {
	const id = "6b5d1f0e-1c1a-4d5e-9f00-000000000001"
	for _, c := range []struct {
		obj, version string // version "" when refused
		ok           bool
	}{
		{`{"type":"indicator","spec_version":"2.1","id":"indicator--` + id + `","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-02T00:00:00.123Z"}`, "2026-01-02 00:00:00.123 +0000 UTC", true},
		{`{"type":"indicator","spec_version":"2.1","id":"indicator--` + id + `","created":"2026-01-01T00:00:00.000Z"}`, "2026-01-01 00:00:00 +0000 UTC", true},
		{`{"type":"ipv4-addr","id":"ipv4-addr--` + id + `","value":"1.2.3.4"}`, "0001-01-01 00:00:00 +0000 UTC", true},
		// STIX 2.0: created, no spec_version.
		{`{"type":"indicator","id":"indicator--` + id + `","created":"2026-01-01T00:00:00.000Z"}`, "", false},
		{`{"type":"indicator","spec_version":"2.0","id":"indicator--` + id + `"}`, "", false},
		{`{"type":"indicator","spec_version":"2.1","id":"malware--` + id + `"}`, "", false},
		{`{"type":"indicator","spec_version":"2.1","id":"indicator--xyz"}`, "", false},
		{`{"type":"In","spec_version":"2.1","id":"In--` + id + `"}`, "", false},
		{`{"type":"3d-thing","spec_version":"2.1","id":"3d-thing--` + id + `"}`, "", false},
		{`{"type":"indicator","spec_version":"2.1","id":"indicator--` + id + `","modified":"2026-01-01 00:00:00"}`, "", false},
		{`[1]`, "", false},
	} {
		h, err := ReadHead([]byte(c.obj))
		if (err == nil) != c.ok || (c.ok && h.Version.String() != c.version) {
			t.Errorf("%s: got %v, %v; want version %q, ok %v", c.obj, h.Version, err, c.version, c.ok)
		}
	}
}
