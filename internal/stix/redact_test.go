package stix

import (
	"net/netip"
	"testing"
)

func TestRedactor(t *testing.T) {
	var r redactor
	r.addHost("FS01.corp.local")
	r.addUser(`CORP\adm.wang`)
	r.addUser(`NT AUTHORITY\SYSTEM`)
	r.addIP("10.10.20.15")
	r.addIP("198.51.100.23")
	r.addIPsIn(`ping FE80:0:0:0::1c2d and fd12:3456::10 at 12:30:45, not 2001:db8::7`)
	r.compile()
	fs01, adm, ip := Pseudonym("host", "fs01"), Pseudonym("user", "adm.wang"), Pseudonym("ip", "10.10.20.15")
	ll, ula := Pseudonym("ip", "fe80::1c2d"), Pseudonym("ip", "fd12:3456::10")
	for in, want := range map[string]string{
		`FS01.corp.local ran`:                 fs01 + ` ran`,
		`fs01: net use \\10.10.20.15\c$`:      fs01 + `: net use \\` + ip + `\c$`,
		`FS01$ logged on`:                     fs01 + ` logged on`,
		`CORP\adm.wang on FS01`:               `CORP\` + adm + ` on ` + fs01,
		`C:\Users\adm.wang\x.exe`:             `C:\Users\` + adm + `\x.exe`,
		`offs01x and fs012 stay`:              `offs01x and fs012 stay`,
		`10.10.20.150 and 198.51.100.23 stay`: `10.10.20.150 and 198.51.100.23 stay`,
		`NT AUTHORITY\SYSTEM stays`:           `NT AUTHORITY\SYSTEM stays`,
		// IPv6: link-local and unique local addresses are the
		// organisation's, as written; a public one stays.
		`from FE80:0:0:0::1c2d to fd12:3456::10`: `from ` + ll + ` to ` + ula,
		`2001:db8::7 stays`:                      `2001:db8::7 stays`,
	} {
		if got := r.text(in); got != want {
			t.Errorf("text(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRedactorManyValues: the values are split over several expressions
// (one of a few million values is more than Go's regexp takes, and
// MustCompile panicked); every value is still replaced, the longest where
// values overlap.
func TestRedactorManyValues(t *testing.T) {
	var r redactor
	for i := range 200_000 {
		r.addIP(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String())
	}
	r.addHost("FS01.corp.local")
	r.compile()
	if len(r.res) < 2 {
		t.Fatalf("%d expressions: the test no longer covers the split", len(r.res))
	}
	first, last := "10.0.0.0", "10.3.13.63" // 199,999 = 3<<16 | 13<<8 | 63
	in := `\\` + first + `\c$ then ` + last + ` from FS01.corp.local and fs01`
	want := `\\` + Pseudonym("ip", first) + `\c$ then ` + Pseudonym("ip", last) + ` from ` +
		Pseudonym("host", "fs01") + ` and ` + Pseudonym("host", "fs01")
	if got := r.text(in); got != want {
		t.Errorf("text(%q)\n = %q\nwant %q", in, got, want)
	}
}
