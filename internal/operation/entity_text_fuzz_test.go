package operation

import (
	"strings"
	"testing"
)

// FuzzCommandLine runs the command-line readers (CommandTargets,
// CommandAccount, CommandDrops) over any text: they never panic, and what
// they return comes from the command.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{
		`wmic /node:10.0.0.5 /user:CORP\adm /password:x process call create "cmd /c whoami"`,
		`PsExec64.exe \\10.0.0.5 -u CORP\adm -p x -s cmd`,
		`cmd.exe /c copy /y C:\Temp\e.exe "\\DC01\ADMIN$\Temp\e.exe"`,
		`powershell -c "Invoke-Command -ComputerName dc01 -Credential CORP\adm {whoami}"`,
		`schtasks /create /s h /u u /tn t /tr c`, `\\`, `\\\\x\c$\`, `"\\a b\d$\c d" /user:`, "-u", "/u:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		for _, tg := range CommandTargets(cmd) {
			if tg == "" {
				t.Errorf("CommandTargets(%q): an empty target", cmd)
			}
		}
		if a := CommandAccount(cmd); a != "" && !strings.Contains(cmd, a) {
			t.Errorf("CommandAccount(%q) = %q, not in the command", cmd, a)
		}
		for _, d := range CommandDrops(cmd) {
			if d[0] == "" || !strings.Contains(cmd, d[0]) || len(d[1]) < 3 {
				t.Errorf("CommandDrops(%q): got %q", cmd, d)
			}
		}
	})
}
