package attack

import (
	"slices"
	"testing"
)

func TestRecognizeSoftware(t *testing.T) {
	kb, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		kind TextKind
		want []string
	}{
		// True matches: names, aliases, several tokens, exe basenames.
		{`C:\Temp\mimikatz.exe "privilege::debug" "sekurlsa::logonpasswords"`, TextFree, []string{"S0002"}},
		{`C:\Tools\x64\Mimikatz.exe`, TextImage, []string{"S0002"}},
		{`HackTool - Mimikatz Execution`, TextTitle, []string{"S0002"}},
		{`rundll32.exe C:\ProgramData\PlugX\plugx.dll`, TextFree, []string{"S0013"}},
		{`beacon of Cobalt Strike`, TextFree, []string{"S0154"}},
		{`C:\Users\a\cobaltstrike\artifact.exe`, TextFree, []string{"S0154"}},
		{`powershell -ep bypass -c ShadowPad_loader`, TextFree, []string{"S0596"}},
		{`C:\inetpub\wwwroot\China_Chopper.aspx`, TextFree, []string{"S0020"}},
		{`C:\Windows\System32\net.exe`, TextImage, []string{"S0039"}},
		{`C:\Windows\System32\net1.exe`, TextImage, []string{"S0039"}},
		{`cmd /c net.exe group "Domain Admins" /domain`, TextFree, nil}, // a built-in: only as an image
		{`C:\Windows\System32\net.exe`, TextProgram, nil},
		{`\\host\c$\PsExec64.exe`, TextProgram, []string{"S0029"}},
		{`C:\Windows\System32\schtasks.exe`, TextImage, []string{"S0111"}},
		{`\\host\c$\PsExec64.exe`, TextImage, []string{"S0029"}},
		{`C:\Users\x\QuasarRAT.exe`, TextFree, []string{"S0262"}},
		{`C:\Users\x\xRAT.exe`, TextFree, []string{"S0262"}}, // alias
		// Ordinary words and short names are not software in free text.
		{`net group "Domain Admins" /domain`, TextFree, nil},
		{`cmd /c at 10:00 ping tor reg query`, TextFree, nil},
		{`open the web page`, TextFree, nil},
		{`schtasks /create /tn x`, TextFree, nil},
		{`C:\Users\Elise\Carbon Black\explosive\page.txt`, TextFree, nil},
		{`C:\Windows\page.exe`, TextImage, nil}, // Page is malware, an ordinary word
		{`mimikatz`, TextFree, nil},             // word-shaped: not a file name here
		// Boundaries: part of a longer token is no match.
		{`C:\Temp\mimikatzx.exe`, TextFree, nil},
		{`C:\Temp\notmimikatz.exe`, TextImage, nil},
		{`internet.exe`, TextImage, nil},
		{`plugxy`, TextFree, nil},
	}
	for _, tt := range tests {
		got := kb.RecognizeSoftware(tt.text, tt.kind)
		if !slices.Equal(got, tt.want) {
			t.Errorf("RecognizeSoftware(%q, %d) = %v, want %v", tt.text, tt.kind, got, tt.want)
		}
	}
}

// FuzzRecognizeSoftware: any text (capped at 4 KiB) gives sorted,
// distinct IDs of software the KB has, without panicking.
func FuzzRecognizeSoftware(f *testing.F) {
	kb, err := Load()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`C:\Temp\mimikatz.exe`, `cobalt strike`, `a.b.c..`, "\xff\xfe.exe", `"net1.exe"`, `.`, ``} {
		f.Add(s, uint8(TextImage))
	}
	f.Fuzz(func(t *testing.T, text string, k uint8) {
		if len(text) > 4096 {
			return
		}
		ids := kb.RecognizeSoftware(text, TextKind(k%4))
		for i, id := range ids {
			if _, _, err := kb.SoftwareByID(id); err != nil || (i > 0 && ids[i-1] >= id) {
				t.Fatalf("got %v: %s unknown or out of order", ids, id)
			}
		}
	})
}

// TestOrdinaryTool: the built-in commands ATT&CK records as software are
// ordinary tools; short names of other tools and malware are not.
func TestOrdinaryTool(t *testing.T) {
	kb := embeddedKB(t)
	for id, want := range map[string]bool{
		"S0106": true, "S0039": true, "S0111": true, "S0160": true, "S0075": true, // cmd, Net, schtasks, certutil, Reg
		"S0183": false, "S0002": false, "S0013": false, "S0154": false, // Tor, Mimikatz, PlugX, Cobalt Strike
	} {
		if got := kb.OrdinaryTool(id); got != want {
			t.Errorf("OrdinaryTool(%s): got %v, want %v", id, got, want)
		}
	}
}
