package detect

import "testing"

func TestSmoke(t *testing.T) {
	checkRule(t, `
    sel:
        Image|endswith: '\cmd.exe'
        CommandLine|contains: 'whoami'
    condition: sel
`, Options{},
		yes("Image", `C:\Windows\System32\CMD.EXE`, "CommandLine", "cmd /c WhoAmI"),
		no("Image", `C:\Windows\System32\cmd.exe`, "CommandLine", "cmd /c dir"),
		no("CommandLine", "whoami"),
	)
}
