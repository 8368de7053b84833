package exposure

import (
	"slices"
	"strings"

	"github.com/spoor-hunt/spoor/internal/result"
)

// action is one data movement a command performs, as its arguments say.
type action struct {
	kind      string // result.ExposureCollected, ...
	tool      string
	sources   []string
	dest      string
	password  bool
	headers   bool // file names encrypted too
	recursive bool
	volSize   int64
	// listFile is set when the sources are in a list or directive file
	// whose content the evidence does not show (makecab /F, rar @list).
	listFile string
	// note says what the item's reading assumed (a path with spaces
	// written unquoted and read as one, a default location).
	note string
	// bitsJob is the BITS job a `bitsadmin /addfile` adds to: an upload
	// only when the job was created as one.
	bitsJob string
}

// recognise returns the data movement c performs, resolving its paths
// against cwd (the process's working directory, "" when unknown). A
// -C/-w switch of the tool changes the folder its relative paths are in.
func recognise(c Command, cwd string) (action, bool) {
	if len(c.Args) == 0 {
		return action{}, false
	}
	// MEGAcmd's commands are batch files (mega-put.bat).
	name := strings.TrimSuffix(base(c.Args[0]), ".bat")
	args := c.Args[1:]
	if c.PowerShell {
		if a, ok := recognisePowerShell(strings.ToLower(c.Args[0]), args, cwd); ok {
			return a, true
		}
	}
	switch name {
	case "rar", "winrar":
		return recogniseRar(name, args, cwd)
	case "7z", "7za", "7zr", "7zg":
		return recognise7z(name, args, cwd)
	case "makecab":
		return recogniseMakecab(args, cwd)
	case "tar", "bsdtar":
		return recogniseTar(args, cwd)
	case "robocopy":
		return recogniseRobocopy(args, cwd)
	case "xcopy":
		return recogniseXcopy(args, cwd)
	case "copy", "move":
		return recogniseCopy(name, args, cwd)
	case "dir":
		return recogniseDir(args, cwd)
	case "net", "net1":
		return recogniseNetView(args)
	case "curl":
		return recogniseCurl(args, cwd)
	case "rclone":
		return recogniseRclone(args, cwd)
	case "bitsadmin":
		return recogniseBitsadmin(args, cwd)
	case "azcopy", "gsutil", "aws", "gcloud", "s3cmd":
		return recogniseCloudCLI(name, args, cwd)
	case "az":
		return recogniseAz(args, cwd)
	case "python", "python3", "pythonw", "py":
		if tool, rest, ok := pythonTool(args); ok {
			return recognise(Command{Args: append([]string{tool}, rest...)}, cwd)
		}
	case "restic":
		return recogniseRestic(args, cwd)
	case "certreq":
		return recogniseCertreq(args, cwd)
	case "configsecuritypolicy":
		if len(args) == 2 && strings.Contains(args[1], "://") {
			return action{kind: result.ExposureExfiltrated, tool: "ConfigSecurityPolicy", sources: []string{resolve(args[0], cwd)}, dest: args[1]}, true
		}
	case "zip":
		return recogniseZip(args, cwd)
	case "ntdsutil":
		return recogniseIFM(args)
	case "esentutl":
		return recogniseEsentutl(args, cwd)
	case "reg":
		return recogniseRegSave(args, cwd)
	case "psexec", "psexec64":
		// A command PsExec runs here (no \\computer): the command's own.
		if inner, ok := psexecCommand(args); ok {
			return recognise(Command{Args: inner}, cwd)
		}
	case "mega-put", "megaput", "megatools", "megaclient", "megacopy":
		return recogniseMega(name, args, cwd)
	case "scp", "pscp":
		return recogniseSCP(args, cwd)
	case "winscp", "winscp.com":
		return recogniseWinSCP(args, cwd)
	}
	// Renamed tools, by their own switches: RAR's and 7-Zip's add
	// command, rclone's flags with a remote destination.
	switch {
	case len(args) >= 2 && strings.EqualFold(args[0], "a") && rarLike(args[1:]):
		return recogniseRar(name, args, cwd)
	case len(args) >= 2 && strings.EqualFold(args[0], "a") && sevenZipLike(args[1:]):
		return recognise7z(name, args, cwd)
	case rcloneLike(args):
		return recogniseRclone(args, cwd)
	}
	return action{}, false
}

// sevenZipLike says whether args carry switches only 7-Zip uses (-t7z,
// -tzip, -mx<n>, -mhe, -sdel, -ssw, -spf) and an archive named .7z or
// .zip.
func sevenZipLike(args []string) bool {
	sw, file := false, false
	for _, a := range args {
		l := strings.ToLower(a)
		switch {
		case l == "-t7z", l == "-tzip", strings.HasPrefix(l, "-mhe"), strings.HasPrefix(l, "-mx"), l == "-sdel", l == "-ssw", l == "-spf":
			sw = true
		case strings.HasSuffix(l, ".7z"), strings.HasSuffix(l, ".zip"):
			file = true
		}
	}
	return sw && file
}

// rcloneFlags are flags of rclone's that other tools do not share.
var rcloneFlags = []string{"--transfers", "--checkers", "--multi-thread-streams", "--ignore-existing", "--auto-confirm", "--no-check-dest",
	"--bwlimit", "--max-age", "--min-age", "--fast-list", "--no-check-certificate", "--s3-", "--mega-", "--drive-", "--ftp-", "--sftp-"}

// rcloneLike says whether args are an rclone transfer to a remote
// (copy|sync|move|copyto|moveto SRC remote:path) with a flag only rclone
// has: a renamed rclone.
func rcloneLike(args []string) bool {
	flag := slices.ContainsFunc(args, func(a string) bool {
		l := strings.ToLower(a)
		return slices.ContainsFunc(rcloneFlags, func(f string) bool { return strings.HasPrefix(l, f) })
	})
	if !flag {
		return false
	}
	a, ok := recogniseRclone(args, "")
	return ok && a.kind == result.ExposureExfiltrated
}

// rarLike says whether args carry switches only RAR uses (-hp, -v<n>,
// -m0..5, -ep1) and an archive named .rar.
func rarLike(args []string) bool {
	sw, rarFile := false, false
	for _, a := range args {
		l := strings.ToLower(a)
		switch {
		case strings.HasPrefix(l, "-hp"), strings.HasPrefix(l, "-ep"), len(l) == 3 && strings.HasPrefix(l, "-m") && l[2] >= '0' && l[2] <= '5':
			sw = true
		case strings.HasPrefix(l, "-v") && len(l) > 2 && l[2] >= '0' && l[2] <= '9':
			sw = true
		case strings.HasSuffix(l, ".rar"):
			rarFile = true
		}
	}
	return sw && rarFile
}

// recogniseRar reads `rar <command> [-switches] <archive> [@list] [files]
// [path\]`: the add commands (a, m, u, f); -hp<pw>/-p<pw> (not -p-) a
// password, -v<size>[unit] volumes, -r recursion, -w<dir> and -ap are
// not sources; -- ends the switches.
func recogniseRar(tool string, args []string, cwd string) (action, bool) {
	if len(args) == 0 {
		return action{}, false
	}
	cmd := strings.ToLower(args[0])
	if cmd != "a" && cmd != "m" && cmd != "u" && cmd != "f" && cmd != "mf" {
		return action{}, false
	}
	a := action{kind: result.ExposureStaged, tool: "rar"}
	if tool == "winrar" {
		a.tool = "WinRAR"
	}
	switches := true
	var rest []string
	for _, arg := range args[1:] {
		if switches && arg == "--" {
			switches = false
			continue
		}
		if switches && len(arg) > 1 && (arg[0] == '-' || tool == "winrar" && arg[0] == '/') {
			sw := arg[1:]
			l := strings.ToLower(sw)
			switch {
			case strings.HasPrefix(l, "hp"):
				// -hp alone asks for the password: encrypted all the same.
				a.password, a.headers = true, true
			case strings.HasPrefix(l, "p") && l != "p-":
				// -p alone asks for it at the console.
				a.password = true
			case l == "r" || l == "r0":
				a.recursive = true
			case strings.HasPrefix(l, "v") && len(l) > 1 && l[1] >= '0' && l[1] <= '9':
				if n, ok := rarVolumeSize(sw[1:]); ok {
					a.volSize = n
				}
			case strings.HasPrefix(l, "w") && len(sw) > 1:
				// Work folder for temporary files: not data.
			}
			continue
		}
		rest = append(rest, arg)
	}
	if len(rest) == 0 {
		return action{}, false
	}
	a.dest = resolve(rest[0], cwd)
	if !strings.Contains(strings.ToLower(baseName(a.dest)), ".") {
		a.dest += ".rar" // rar adds the extension when none is given
	}
	for _, s := range rest[1:] {
		if strings.HasPrefix(s, "@") {
			a.listFile = resolve(s[1:], cwd)
			continue
		}
		a.sources = append(a.sources, resolve(s, cwd))
	}
	return a, true
}

// rarVolumeSize reads RAR's -v size: a number then an optional unit: b
// bytes, k 1024, K 1000, m 1024², M 10⁶, g 1024³, G 10⁹; a bare number is
// thousands of bytes (RAR's documented default).
func rarVolumeSize(s string) (int64, bool) {
	n, unit, ok := number(s)
	if !ok {
		return 0, false
	}
	mult := int64(1000)
	switch unit {
	case "":
	case "b", "B":
		mult = 1
	case "k":
		mult = 1 << 10
	case "K":
		mult = 1000
	case "m":
		mult = 1 << 20
	case "M":
		mult = 1_000_000
	case "g":
		mult = 1 << 30
	case "G":
		mult = 1_000_000_000
	default:
		return 0, false
	}
	return volumeBytes(n, mult)
}

// maxVolume bounds a volume size read from a command line: a pebibyte,
// more than any split archive is cut into. A larger one (twelve digits
// of terabytes) is not evidence of a size, and its bytes would overflow.
const maxVolume = 1 << 50

// volumeBytes is n units of mult bytes, when that is a size at all.
func volumeBytes(n, mult int64) (int64, bool) {
	if mult <= 0 || n > maxVolume/mult {
		return 0, false
	}
	return n * mult, true
}

// number reads leading decimal digits (at most 12) and returns the rest.
func number(s string) (int64, string, bool) {
	i := 0
	var n int64
	for i < len(s) && i < 12 && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int64(s[i]-'0')
		i++
	}
	if i == 0 || i < len(s) && s[i] >= '0' && s[i] <= '9' {
		return 0, "", false
	}
	return n, s[i:], true
}

// recognise7z reads `7z a [-switches] archive [files]`: -p[pw] a
// password (asked for when not given), -mhe(=on) encrypted headers, -v<size>[b|k|m|g] (1024-based)
// volumes, -r recursion, -w<dir> and -o not sources, @list.
func recognise7z(tool string, args []string, cwd string) (action, bool) {
	if len(args) == 0 {
		return action{}, false
	}
	cmd := strings.ToLower(args[0])
	if cmd != "a" && cmd != "u" {
		return action{}, false
	}
	a := action{kind: result.ExposureStaged, tool: "7-Zip"}
	var rest []string
	switches := true
	for _, arg := range args[1:] {
		if switches && arg == "--" {
			switches = false
			continue
		}
		if switches && len(arg) > 1 && arg[0] == '-' {
			sw := arg[1:]
			l := strings.ToLower(sw)
			switch {
			case strings.HasPrefix(l, "p"):
				// -p alone asks for the password at the console.
				a.password = true
			case l == "mhe" || l == "mhe=on" || l == "mhe+":
				a.headers = true
			case l == "r":
				a.recursive = true
			case strings.HasPrefix(l, "v") && len(l) > 1:
				n, unit, ok := number(sw[1:])
				if ok {
					mult := map[string]int64{"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[strings.ToLower(unit)]
					if b, ok := volumeBytes(n, mult); ok && a.volSize == 0 {
						a.volSize = b
					}
				}
			}
			continue
		}
		rest = append(rest, arg)
	}
	if len(rest) == 0 {
		return action{}, false
	}
	a.dest = resolve(rest[0], cwd)
	for _, s := range rest[1:] {
		if strings.HasPrefix(s, "@") {
			a.listFile = resolve(s[1:], cwd)
			continue
		}
		a.sources = append(a.sources, resolve(s, cwd))
	}
	if len(a.sources) == 0 && a.listFile == "" && cwd != "" {
		// 7z with no file names adds the working folder's files.
		a.sources = []string{resolve("*", cwd)}
		a.recursive = true
	}
	return a, true
}

// recogniseMakecab reads `makecab [/V] [/D var=value...] [/L dir] source
// [destination]` and `makecab /F directives`: with a directive file the
// sources and the cabinet are its content, which the evidence does not
// show (only /D CabinetNameTemplate and DiskDirectoryTemplate).
func recogniseMakecab(args []string, cwd string) (action, bool) {
	a := action{kind: result.ExposureStaged, tool: "makecab"}
	var rest []string
	dir, name := "", ""
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if len(arg) >= 2 && (arg[0] == '/' || arg[0] == '-') {
			l := strings.ToLower(arg[1:])
			switch {
			case l == "f" && i+1 < len(args):
				i++
				a.listFile = resolve(args[i], cwd)
			case l == "l" && i+1 < len(args):
				i++
				dir = resolve(args[i], cwd)
			case l == "d" && i+1 < len(args):
				i++
				k, v, _ := strings.Cut(args[i], "=")
				switch strings.ToLower(k) {
				case "cabinetnametemplate":
					name = v
				case "diskdirectorytemplate":
					dir = resolve(v, cwd)
				}
			}
			continue
		}
		rest = append(rest, arg)
	}
	if len(rest) > 0 {
		a.sources = []string{resolve(rest[0], cwd)}
		if len(rest) > 1 {
			name = rest[1]
		} else if name == "" {
			// makecab x.txt writes x.tx_.
			b := baseName(rest[0])
			if len(b) > 0 {
				name = b[:len(b)-1] + "_"
			}
		}
	}
	switch {
	case name != "" && dir != "":
		a.dest = clean(strings.TrimRight(dir, `\`) + `\` + name)
	case name != "":
		a.dest = resolve(name, cwd)
	case dir != "":
		a.dest = dir + `\`
	}
	if len(a.sources) == 0 && a.listFile == "" {
		return action{}, false
	}
	return a, true
}

// recogniseTar reads bsdtar's create mode (-c, --create, or an old-style
// first word with c): -f/--file the archive, -C/--directory the folder
// the following sources are read from, -z/-j/-J/-a compression.
func recogniseTar(args []string, cwd string) (action, bool) {
	a := action{kind: result.ExposureStaged, tool: "tar", recursive: true}
	create := false
	dir := cwd
	var archive string
	var sources []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case strings.HasPrefix(arg, "--"):
			k, v, hasV := strings.Cut(arg[2:], "=")
			switch k {
			case "create":
				create = true
			case "file", "directory", "cd":
				if !hasV && i+1 < len(args) {
					i++
					v = args[i]
				}
				if k == "file" {
					archive = resolve(v, dir)
				} else {
					dir = resolve(v, dir)
				}
			}
		case strings.HasPrefix(arg, "-") && len(arg) > 1 || i == 0 && strings.ContainsAny(arg, "c") && strings.Trim(arg, "cvzfjJaxtrupPkO") == "":
			flags := strings.TrimPrefix(arg, "-")
			for k := 0; k < len(flags); k++ {
				switch flags[k] {
				case 'c':
					create = true
				case 'f', 'C':
					v := flags[k+1:]
					if v == "" && i+1 < len(args) {
						i++
						v = args[i]
					}
					if flags[k] == 'f' {
						archive = resolve(v, dir)
					} else {
						dir = resolve(v, dir)
					}
					k = len(flags)
				}
			}
		default:
			sources = append(sources, resolve(arg, dir))
		}
	}
	if !create || archive == "" || archive == "-" {
		return action{}, false
	}
	a.dest, a.sources = archive, sources
	return a, true
}

// recogniseRobocopy reads `robocopy <source> <destination> [files...]
// [/options]`: /S, /E, /MIR recursion, /MOV and /MOVE moves.
func recogniseRobocopy(args []string, cwd string) (action, bool) {
	var pos []string
	a := action{kind: result.ExposureCollected, tool: "robocopy"}
	listing := false // the names after /XF, /XD, /IF are its, not files to copy
	for _, arg := range args {
		if strings.HasPrefix(arg, "/") && !strings.HasPrefix(arg, "//") {
			l := strings.ToLower(arg)
			switch l {
			case "/s", "/e", "/mir", "/move":
				a.recursive = true
			}
			listing = l == "/xf" || l == "/xd" || l == "/if"
			continue
		}
		if listing {
			continue
		}
		pos = append(pos, arg)
	}
	if len(pos) < 2 {
		return action{}, false
	}
	src := resolve(pos[0], cwd)
	a.dest = resolve(pos[1], cwd)
	if len(pos) == 2 {
		a.sources = []string{strings.TrimRight(src, `\`) + `\*`}
	}
	for _, f := range pos[2:] {
		a.sources = append(a.sources, strings.TrimRight(src, `\`)+`\`+f)
	}
	return a, true
}

// recogniseXcopy reads `xcopy <source> [<destination>] [/options]`.
func recogniseXcopy(args []string, cwd string) (action, bool) {
	var pos []string
	a := action{kind: result.ExposureCollected, tool: "xcopy"}
	for _, arg := range args {
		// Switches, /EXCLUDE:file and /D:m-d-y too.
		if strings.HasPrefix(arg, "/") {
			switch strings.ToLower(arg) {
			case "/s", "/e":
				a.recursive = true
			}
			continue
		}
		pos = append(pos, arg)
	}
	if len(pos) == 0 {
		return action{}, false
	}
	a.sources = []string{resolve(pos[0], cwd)}
	if len(pos) > 1 {
		a.dest = resolve(pos[1], cwd)
	} else {
		a.dest = cwd
	}
	return a, true
}

// recogniseCopy reads cmd's `copy [/switches] src[+src...] [dest]` and
// `move`.
func recogniseCopy(tool string, args []string, cwd string) (action, bool) {
	var pos []string
	for _, arg := range args {
		if strings.HasPrefix(arg, "/") && len(arg) <= 3 {
			continue
		}
		pos = append(pos, strings.Trim(arg, `"`))
	}
	if len(pos) == 0 {
		return action{}, false
	}
	a := action{kind: result.ExposureCollected, tool: tool}
	if len(pos) > 2 && !strings.Contains(strings.Join(pos, ""), "+") {
		// cmd refuses more than two names; an unquoted path with spaces
		// is what was meant.
		pos = []string{strings.Join(pos[:len(pos)-1], " "), pos[len(pos)-1]}
		a.note = "a path with spaces written unquoted, read as one"
	}
	for _, s := range strings.Split(pos[0], "+") {
		if s != "" {
			a.sources = append(a.sources, resolve(s, cwd))
		}
	}
	if len(pos) > 1 {
		a.dest = resolve(pos[len(pos)-1], cwd)
	} else {
		a.dest = cwd
	}
	return a, true
}

// recogniseDir reads `dir [/s] [/b] paths...`: a listing, collection of
// names only: recursive, of a file-type wildcard, or of a share.
func recogniseDir(args []string, cwd string) (action, bool) {
	a := action{kind: result.ExposureCollected, tool: "dir"}
	for _, arg := range args {
		if strings.HasPrefix(arg, "/") { // /s, /a:h, /o:-d

			if strings.EqualFold(arg, "/s") {
				a.recursive = true
			}
			continue
		}
		a.sources = append(a.sources, resolve(strings.Trim(arg, `"`), cwd))
	}
	// A bare `dir`, or one of a folder's top level, is discovery, not a
	// look for data: only recursive listings or file-type wildcards count.
	if len(a.sources) == 0 || !a.recursive && !slices.ContainsFunc(a.sources, hasWildcard) && !slices.ContainsFunc(a.sources, isUNC) {
		return action{}, false
	}
	return a, true
}

// isUNC says whether p is a UNC path (\\host\share), not a local
// device path (\\?\GLOBALROOT\..., \\.\C:).
func isUNC(p string) bool {
	return strings.HasPrefix(p, `\\`) && !strings.HasPrefix(p, `\\?\`) && !strings.HasPrefix(p, `\\.\`)
}

// recogniseNetView reads `net view \\host` (the shares of a host): a
// listing of shares.
func recogniseNetView(args []string) (action, bool) {
	if len(args) < 2 || !strings.EqualFold(args[0], "view") || !strings.HasPrefix(args[1], `\\`) {
		return action{}, false
	}
	return action{kind: result.ExposureCollected, tool: "net view", sources: []string{args[1]}}, true
}

// recogniseCurl reads curl's uploads: -T/--upload-file FILE (curl's {a,b}
// and [1-3] globbing expanded), -F/--form name=@FILE or <FILE,
// -d/--data/--data-binary/--data-raw @FILE; the URL is the first bare
// argument or --url. Short options may be grouped (-skT file, -Tfile).
func recogniseCurl(args []string, cwd string) (action, bool) {
	a := action{kind: result.ExposureExfiltrated, tool: "curl"}
	withValue := "oOuxXHAeEKmrdFTwbcCyYzQ"
	addFile := func(v string) {
		for _, f := range expandCurlGlob(v) {
			a.sources = append(a.sources, resolve(f, cwd))
		}
	}
	formFile := func(v string) {
		_, val, _ := strings.Cut(v, "=")
		if strings.HasPrefix(val, "@") || strings.HasPrefix(val, "<") {
			f, _, _ := strings.Cut(val[1:], ";")
			a.sources = append(a.sources, resolve(f, cwd))
		}
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		next := func() string {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case strings.HasPrefix(arg, "--"):
			k, v, hasV := strings.Cut(arg[2:], "=")
			valueOpts := map[string]bool{"upload-file": true, "form": true, "data": true, "data-binary": true, "data-raw": true,
				"data-ascii": true, "data-urlencode": true, "url": true, "output": true, "user": true, "proxy": true, "header": true,
				"request": true, "cookie": true, "user-agent": true, "referer": true, "config": true, "max-time": true, "connect-timeout": true,
				"retry": true, "cacert": true, "cert": true, "key": true, "resolve": true, "interface": true, "limit-rate": true, "form-string": true}
			if !valueOpts[k] {
				continue
			}
			if !hasV {
				v = next()
			}
			switch k {
			case "upload-file":
				addFile(v)
			case "form":
				formFile(v)
			case "data", "data-binary", "data-ascii", "data-urlencode":
				if strings.HasPrefix(v, "@") && v != "@-" {
					a.sources = append(a.sources, resolve(v[1:], cwd))
				}
			case "url":
				if a.dest == "" {
					a.dest = v
				}
			}
		case len(arg) > 1 && arg[0] == '-':
			for k := 1; k < len(arg); k++ {
				o := arg[k]
				if !strings.ContainsRune(withValue, rune(o)) {
					continue
				}
				v := arg[k+1:]
				if v == "" {
					v = next()
				}
				switch o {
				case 'T':
					addFile(v)
				case 'F':
					formFile(v)
				case 'd':
					if strings.HasPrefix(v, "@") && v != "@-" {
						a.sources = append(a.sources, resolve(v[1:], cwd))
					}
				}
				break
			}
		default:
			if a.dest == "" {
				a.dest = arg
			}
		}
	}
	if len(a.sources) == 0 {
		return action{}, false
	}
	return a, true
}

// recogniseRclone reads `rclone copy|sync|move|copyto|moveto SRC DST`
// with DST a remote (name:path): an upload; a local DST is a copy.
func recogniseRclone(args []string, cwd string) (action, bool) {
	var pos []string
	listFile := ""
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") {
			pos = append(pos, arg)
			continue
		}
		k, v, hasV := strings.Cut(arg, "=")
		k = strings.ToLower(k)
		if !hasV && i+1 < len(args) {
			// A flag's value: a flag known to take one, or a number, size
			// or duration (16, 1M, 10s) after any flag.
			n, _, isNum := number(args[i+1])
			if rcloneValueFlags[k] || isNum && n >= 0 && !strings.ContainsAny(args[i+1], `\/:`) {
				i++
				v, hasV = args[i], true
			}
		}
		if hasV && (k == "--files-from" || k == "--include-from") {
			listFile = resolve(v, cwd)
		}
	}
	if !verbOf(pos, "copy", "sync", "move", "copyto", "moveto") {
		return action{}, false
	}
	a := action{kind: result.ExposureCollected, tool: "rclone", recursive: true, sources: []string{resolve(pos[1], cwd)}, dest: pos[2], listFile: listFile}
	if isRemote(pos[2]) {
		a.kind = result.ExposureExfiltrated
	} else {
		a.dest = resolve(pos[2], cwd)
	}
	return a, true
}

// rcloneValueFlags are rclone's common flags that take a value.
var rcloneValueFlags = map[string]bool{"--config": true, "--transfers": true, "--include": true, "--exclude": true, "--bwlimit": true,
	"--max-age": true, "--min-age": true, "--max-size": true, "--min-size": true, "--filter": true, "--log-file": true, "--checkers": true,
	"--multi-thread-streams": true, "--user-agent": true, "--log-level": true, "--stats": true, "--stats-log-level": true, "--tpslimit": true,
	"--retries": true, "--low-level-retries": true, "--max-transfer": true, "--order-by": true, "--files-from": true, "--include-from": true,
	"--exclude-from": true, "--filter-from": true, "--backup-dir": true, "--suffix": true, "--buffer-size": true, "--timeout": true,
	"--contimeout": true, "--cache-dir": true, "--multi-thread-cutoff": true, "--max-depth": true, "--password-command": true}

// verbOf says whether the positional arguments pos are one of verbs (any
// case) followed by a source and a destination at least.
func verbOf(pos []string, verbs ...string) bool {
	return len(pos) >= 3 && slices.Contains(verbs, strings.ToLower(pos[0]))
}

// recogniseBitsadmin reads bitsadmin's uploads: `/transfer name /upload
// [/priority p] [/aclflags f] [/dynamic] URL FILE [URL FILE...]` (the name
// may come after /upload), an upload of each FILE to its URL; and
// `/addfile job URL FILE`, whose direction is the job's: it sets bitsJob,
// and build keeps it only when `/create /upload job` is in the operation
// on the same host (bitsUploadJobs).
func recogniseBitsadmin(args []string, cwd string) (action, bool) {
	upload, transfer, addfile := false, false, false
	var pos []string
	for i := 0; i < len(args); i++ {
		l := strings.ToLower(args[i])
		switch {
		case l == "/upload":
			upload = true
		case l == "/transfer":
			transfer = true
		case l == "/addfile":
			addfile = true
		case l == "/priority" || l == "/aclflags":
			i++
		case strings.HasPrefix(l, "/"):
		default:
			pos = append(pos, args[i])
		}
	}
	a := action{kind: result.ExposureExfiltrated, tool: "bitsadmin"}
	switch {
	case transfer && upload && len(pos) >= 3:
		// The job's name, then pairs of URL and file.
		for k := 1; k+1 < len(pos); k += 2 {
			if a.dest == "" {
				a.dest = pos[k]
			}
			a.sources = append(a.sources, resolve(pos[k+1], cwd))
		}
		return a, true
	case addfile && !transfer && len(pos) == 3:
		a.bitsJob = strings.ToLower(pos[0])
		a.dest, a.sources = pos[1], []string{resolve(pos[2], cwd)}
		return a, true
	}
	return action{}, false
}

// bitsUploadJob returns the name of the upload job that `bitsadmin
// /create /upload name` makes.
func bitsUploadJob(c Command) (string, bool) {
	if len(c.Args) < 3 || base(c.Args[0]) != "bitsadmin" {
		return "", false
	}
	create, upload := false, false
	name := ""
	for _, a := range c.Args[1:] {
		switch l := strings.ToLower(a); {
		case l == "/create":
			create = true
		case l == "/upload":
			upload = true
		case strings.HasPrefix(l, "/"):
		case create && name == "":
			name = l
		}
	}
	return name, create && upload && name != ""
}

// recogniseCloudCLI reads the copies to cloud storage of `azcopy copy
// SRC https://...`, `gsutil [-m] cp [-r] SRC gs://...`, `gcloud storage cp
// SRC gs://...`, `aws s3 cp|sync|mv SRC s3://...` and `s3cmd put|sync SRC
// s3://...`: the destination is the last argument with a storage URL,
// the sources the arguments between the verb and it; the options that
// take a value are skipped wherever they are.
func recogniseCloudCLI(tool string, args []string, cwd string) (action, bool) {
	a := action{kind: result.ExposureExfiltrated, tool: tool}
	var pos []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			pos = append(pos, arg)
			continue
		}
		k, v, hasV := strings.Cut(strings.ToLower(arg), "=")
		switch {
		case k == "--recursive" || k == "-r" || arg == "-R":
			a.recursive = v != "false"
		case !hasV && cloudValueOpts[k] && i+1 < len(args):
			i++
		}
	}
	var cmd []string // the command words before the verb
	switch tool {
	case "aws":
		cmd = []string{"s3"}
	case "gcloud":
		cmd = []string{"storage"}
	}
	for _, w := range cmd {
		if len(pos) == 0 || !strings.EqualFold(pos[0], w) {
			return action{}, false
		}
		pos = pos[1:]
	}
	if !verbOf(pos, "copy", "cp", "sync", "mv", "rsync", "put") {
		return action{}, false
	}
	last := -1
	for i := 2; i < len(pos); i++ {
		l := strings.ToLower(pos[i])
		if slices.ContainsFunc(cloudSchemes, func(s string) bool { return strings.HasPrefix(l, s) }) {
			last = i
		}
	}
	if last < 0 {
		return action{}, false
	}
	a.dest = pos[last]
	for _, s := range pos[1:last] {
		if strings.Contains(s, "://") {
			return action{}, false // from storage: a download or a copy between buckets
		}
		a.sources = append(a.sources, resolve(s, cwd))
	}
	return a, true
}

// cloudSchemes begin the URLs of cloud storage destinations.
var cloudSchemes = []string{"https://", "http://", "gs://", "s3://"}

// cloudValueOpts are the options of the cloud storage CLIs that take a
// value.
var cloudValueOpts = map[string]bool{"--profile": true, "--region": true, "--endpoint-url": true, "--storage-class": true, "--sse": true,
	"--acl": true, "--exclude": true, "--include": true, "--expires": true, "--content-type": true, "--grants": true, "--cache-control": true,
	"--metadata": true, "--sse-kms-key-id": true, "--output": true, "--log-level": true, "--from-to": true, "--include-pattern": true,
	"--exclude-pattern": true, "--cap-mbps": true, "--block-size-mb": true, "--overwrite": true, "-o": true, "-h": true, "--project": true,
	"--access_key": true, "--secret_key": true, "--host": true, "--host-bucket": true, "--config": true, "-c": true}

// pythonTools are the cloud storage CLIs written in Python, by module or
// script name: on Windows their .cmd wrappers run python.exe.
var pythonTools = map[string]string{"azure.cli": "az", "gsutil": "gsutil", "gcloud": "gcloud", "s3cmd": "s3cmd", "awscli": "aws"}

// pythonTool returns the cloud storage CLI a Python command line runs
// (`python -IBm azure.cli ...`, `python gsutil.py ...`) and its arguments.
func pythonTool(args []string) (string, []string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if strings.HasSuffix(a, "m") && !strings.HasPrefix(a, "--") && i+1 < len(args) {
				tool, ok := pythonTools[strings.ToLower(args[i+1])]
				return tool, args[i+2:], ok
			}
			continue
		}
		tool, ok := pythonTools[strings.TrimSuffix(base(a), ".py")]
		return tool, args[i+1:], ok
	}
	return "", nil, false
}

// recogniseAz reads Azure CLI's `az storage blob upload --file F
// --container-name C --account-name A` and `upload-batch --source DIR
// --destination C`: an upload to the account's blob storage.
func recogniseAz(args []string, cwd string) (action, bool) {
	if len(args) < 3 || !strings.EqualFold(args[0], "storage") || !strings.EqualFold(args[1], "blob") {
		return action{}, false
	}
	verb := strings.ToLower(args[2])
	if verb != "upload" && verb != "upload-batch" {
		return action{}, false
	}
	opts := map[string]string{}
	for i := 3; i < len(args); i++ {
		k, v, hasV := strings.Cut(args[i], "=")
		if !strings.HasPrefix(k, "-") {
			continue
		}
		if !hasV && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			v = args[i]
		}
		opts[strings.ToLower(k)] = v
	}
	get := func(names ...string) string {
		for _, n := range names {
			if v := opts[n]; v != "" {
				return v
			}
		}
		return ""
	}
	a := action{kind: result.ExposureExfiltrated, tool: "az storage", recursive: verb == "upload-batch"}
	src := get("--file", "-f")
	container := get("--container-name", "-c")
	if verb == "upload-batch" {
		src, container = get("--source", "-s"), get("--destination", "-d")
	}
	if src == "" {
		return action{}, false
	}
	a.sources = []string{resolve(src, cwd)}
	if acct := get("--account-name"); acct != "" {
		a.dest = "https://" + acct + ".blob.core.windows.net/" + container
	} else {
		a.dest = container
	}
	return a, true
}

// recogniseRestic reads `restic -r REPO backup PATH...` with a remote
// repository (rest:, s3:, sftp:, b2:, azure:, gs:, swift:, rclone:): an
// upload of the paths; a local repository is a copy.
func recogniseRestic(args []string, cwd string) (action, bool) {
	a := action{kind: result.ExposureExfiltrated, tool: "restic", recursive: true}
	backup := false
	for i := 0; i < len(args); i++ {
		arg := args[i]
		k, v, hasV := strings.Cut(arg, "=")
		switch {
		case (k == "-r" || k == "--repo" || k == "--repository-file" || k == "--password-file" || k == "-p" || k == "--files-from" ||
			k == "--exclude" || k == "--tag" || k == "--host" || k == "--cache-dir" || k == "-o" || k == "--option") && !hasV && i+1 < len(args):
			i++
			v = args[i]
			fallthrough
		case hasV && strings.HasPrefix(k, "-"):
			switch k {
			case "-r", "--repo":
				a.dest = v
			case "--files-from":
				a.listFile = resolve(v, cwd)
			}
		case strings.HasPrefix(arg, "-"):
		case !backup:
			backup = strings.EqualFold(arg, "backup")
			if !backup {
				return action{}, false // another command (init, restore...)
			}
		default:
			a.sources = append(a.sources, resolve(arg, cwd))
		}
	}
	if !backup || a.dest == "" || len(a.sources) == 0 && a.listFile == "" {
		return action{}, false
	}
	if !isRemote(a.dest) {
		a.kind, a.dest = result.ExposureCollected, resolve(a.dest, cwd)
	}
	return a, true
}

// recogniseCertreq reads `certreq -Post -config URL FILE [OUT]`, which
// sends FILE to URL (LOLBAS).
func recogniseCertreq(args []string, cwd string) (action, bool) {
	post := false
	a := action{kind: result.ExposureExfiltrated, tool: "certreq"}
	for i := 0; i < len(args); i++ {
		l := strings.ToLower(args[i])
		switch {
		case l == "-post" || l == "/post":
			post = true
		case (l == "-config" || l == "/config") && i+1 < len(args):
			i++
			a.dest = args[i]
		case strings.HasPrefix(l, "-") || strings.HasPrefix(l, "/") && len(l) < 12:
		case len(a.sources) == 0:
			a.sources = []string{resolve(args[i], cwd)}
		}
	}
	if !post || !strings.Contains(a.dest, "://") || len(a.sources) == 0 {
		return action{}, false
	}
	return a, true
}

// recogniseZip reads Info-ZIP's `zip [-options] archive files...`: -r
// recursion, -P pw or -e a password, -s size split volumes (k, m, g, t:
// 1024-based; bare: megabytes), -@ names from standard input.
func recogniseZip(args []string, cwd string) (action, bool) {
	a := action{kind: result.ExposureStaged, tool: "zip"}
	var pos []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") || len(arg) == 1 {
			pos = append(pos, arg)
			continue
		}
		switch arg {
		case "-P", "--password":
			a.password = true
			i++
		case "-s", "--split-size":
			if i+1 < len(args) {
				i++
				if n, unit, ok := number(args[i]); ok {
					mult := map[string]int64{"": 1 << 20, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[strings.ToLower(unit)]
					if b, ok := volumeBytes(n, mult); ok {
						a.volSize = b
					}
				}
			}
		case "-x", "-i", "-b", "-t", "-tt", "-n", "-O":
			i++
		default:
			for _, c := range arg[1:] {
				switch c {
				case 'r', 'R':
					a.recursive = true
				case 'e':
					a.password = true
				}
			}
		}
	}
	if len(pos) < 2 {
		return action{}, false
	}
	a.dest = resolve(pos[0], cwd)
	if !strings.Contains(baseName(a.dest), ".") {
		a.dest += ".zip"
	}
	for _, s := range pos[1:] {
		a.sources = append(a.sources, resolve(s, cwd))
	}
	return a, true
}

// recogniseIFM reads ntdsutil's `"activate instance ntds" ifm "create
// full|sysvol full|rodc PATH"`: a copy of the directory database (at its
// default place, C:\Windows\NTDS\ntds.dit) and the registry hives
// into PATH.
func recogniseIFM(args []string) (action, bool) {
	ifm := false
	for i, arg := range args {
		words := strings.Fields(arg)
		if len(words) == 1 && strings.EqualFold(words[0], "ifm") {
			ifm = true
			continue
		}
		if !ifm || len(words) == 0 || !strings.EqualFold(words[0], "create") && !strings.EqualFold(words[0], "cr") {
			continue
		}
		// The path is the rest of the argument after create's mode, or the
		// next argument when the mode was written alone.
		path := ""
		for k := 1; k < len(words); k++ {
			if l := strings.ToLower(words[k]); l != "full" && l != "sysvol" && l != "rodc" && l != "nodefrag" {
				path = strings.Join(words[k:], " ")
				break
			}
		}
		if path == "" && i+1 < len(args) {
			path = args[i+1]
		}
		if path == "" {
			return action{}, false
		}
		return action{kind: result.ExposureCollected, tool: "ntdsutil IFM", recursive: true, sources: []string{`C:\Windows\NTDS\ntds.dit`},
			dest: strings.Trim(path, `"`), note: "the directory database at its default place"}, true
	}
	return action{}, false
}

// credentialHives are the registry hives that hold credentials, as reg
// names them (upper-case, without HKLM\).
var credentialHives = []string{"SAM", "SECURITY", "SYSTEM"}

// recogniseRegSave reads `reg save|export HKLM\SAM|SECURITY|SYSTEM[\...]
// FILE`: the hive (or a key of it, LSA secrets) written to a file. Other
// keys are configuration, not data.
func recogniseRegSave(args []string, cwd string) (action, bool) {
	if len(args) < 3 || !strings.EqualFold(args[0], "save") && !strings.EqualFold(args[0], "export") {
		return action{}, false
	}
	src := args[1]
	if long := "HKEY_LOCAL_MACHINE"; len(src) >= len(long) && strings.EqualFold(src[:len(long)], long) {
		src = "HKLM" + src[len(long):] // reg takes either, in any case; markValuable knows HKLM
	}
	key := strings.TrimRight(strings.ToUpper(src), `\`)
	hive, sub, _ := strings.Cut(strings.TrimPrefix(key, `HKLM\`), `\`)
	// SYSTEM holds the key that decrypts the others whole; its subkeys
	// are configuration (diagnostic tools export them).
	if !strings.HasPrefix(key, `HKLM\`) || !slices.Contains(credentialHives, hive) || hive == "SYSTEM" && sub != "" {
		return action{}, false
	}
	return action{kind: result.ExposureCollected, tool: "reg save", sources: []string{src}, dest: resolve(args[2], cwd)}, true
}

// psexecCommand returns the command `psexec [options] command [args]`
// runs on this host; ok is false when it runs on another (\\computer, @file).
func psexecCommand(args []string) ([]string, bool) {
	valueOpts := map[string]bool{"-u": true, "-p": true, "-w": true, "-a": true, "-n": true, "-r": true, "-c": false}
	for i := 0; i < len(args); i++ {
		a := args[i]
		l := strings.ToLower(a)
		switch {
		case strings.HasPrefix(a, `\\`) || strings.HasPrefix(a, "@"):
			return nil, false
		case valueOpts[l]:
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return args[i:], true
		}
	}
	return nil, false
}

// recogniseEsentutl reads `esentutl /y SRC [/d DST] [/vss] [/o]` (the
// switches in any order): a copy of a file (locked ones too, with /vss),
// into DST or the working folder.
func recogniseEsentutl(args []string, cwd string) (action, bool) {
	src, dst := "", ""
	copying := false
	for i := 0; i < len(args); i++ {
		l := strings.ToLower(args[i])
		switch {
		case l == "/y":
			copying = true
		case l == "/d" && i+1 < len(args):
			i++
			dst = resolve(args[i], cwd)
		case strings.HasPrefix(l, "/"):
		case copying && src == "":
			src = resolve(args[i], cwd)
		}
	}
	if src == "" {
		return action{}, false
	}
	if dst == "" {
		dst = resolve(baseName(src), cwd)
	}
	return action{kind: result.ExposureCollected, tool: "esentutl", sources: []string{src}, dest: dst}, true
}

// recogniseMega reads MEGAcmd's `mega-put [-c] [-q] FILE... [/remote]`
// (mega-put.bat, or `MEGAclient put`), and megatools' `megatools put
// [options] FILE...` (megaput) and `megatools copy --local DIR --remote
// PATH` (megacopy), an upload unless --download.
func recogniseMega(tool string, args []string, cwd string) (action, bool) {
	verb := ""
	switch tool {
	case "megatools", "megaclient":
		if len(args) == 0 {
			return action{}, false
		}
		verb, args = strings.ToLower(args[0]), args[1:]
	case "megaput", "mega-put":
		verb = "put"
	case "megacopy":
		verb = "copy"
	}
	a := action{kind: result.ExposureExfiltrated, tool: "MEGA", dest: "mega.nz"}
	valueOpts := map[string]bool{"-u": true, "--username": true, "-p": true, "--password": true, "--config": true, "--path": true,
		"--limit-speed": true, "--proxy": true, "--netif": true, "--ip-proto": true, "--speed-limit": true}
	switch verb {
	case "put":
		for i := 0; i < len(args); i++ {
			arg := args[i]
			k, _, hasV := strings.Cut(arg, "=")
			switch {
			case valueOpts[k] && !hasV:
				if k == "--path" && i+1 < len(args) {
					a.dest = "mega.nz:" + args[i+1]
				}
				i++
			case strings.HasPrefix(arg, "-"), strings.HasPrefix(arg, "/"):
				// An option, or MEGAcmd's remote folder.
			default:
				a.sources = append(a.sources, resolve(arg, cwd))
			}
		}
	case "copy":
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "--download", "-d":
				return action{}, false
			case "--local", "-l":
				a.sources = append(a.sources, resolve(args[i+1], cwd))
				a.recursive = true
			}
		}
	}
	if len(a.sources) == 0 {
		return action{}, false
	}
	return a, true
}

// recogniseSCP reads `scp`/`pscp [options] SRC... [user@]host:path`: an
// upload when the last argument is a remote and the sources are local
// (a remote source is a download, or a copy between remotes).
func recogniseSCP(args []string, cwd string) (action, bool) {
	valueOpts := map[string]bool{"-c": true, "-F": true, "-i": true, "-J": true, "-l": true, "-o": true, "-P": true, "-S": true,
		"-pw": true, "-hostkey": true, "-load": true, "-proxycmd": true, "-sshlog": true, "-sshrawlog": true, "-logfile": true}
	a := action{kind: result.ExposureExfiltrated, tool: "scp"}
	var pos []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case valueOpts[arg]:
			i++
		case arg == "-r":
			a.recursive = true
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
		default:
			pos = append(pos, arg)
		}
	}
	if len(pos) < 2 || !isRemote(pos[len(pos)-1]) {
		return action{}, false
	}
	a.dest = pos[len(pos)-1]
	for _, src := range pos[:len(pos)-1] {
		if isRemote(src) {
			return action{}, false
		}
		a.sources = append(a.sources, resolve(src, cwd))
	}
	return a, true
}

// recogniseWinSCP reads WinSCP's `/command "open URL" "put [-switches]
// FILE... [remote]" ...` and `winscp [session] /upload FILE...`: an
// upload of the files to the session's host. A /script file's content
// is not in the evidence.
func recogniseWinSCP(args []string, cwd string) (action, bool) {
	a := action{kind: result.ExposureExfiltrated, tool: "WinSCP"}
	session, upload := "", false
	for i := 0; i < len(args); i++ {
		arg := args[i]
		l := strings.ToLower(arg)
		switch {
		case l == "/command":
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "/") {
				i++
				words := SplitArgs("x " + args[i])[1:]
				if len(words) < 2 {
					continue
				}
				switch strings.ToLower(words[0]) {
				case "open":
					for _, w := range words[1:] {
						if !strings.HasPrefix(w, "-") {
							session = w
							break
						}
					}
				case "put":
					var files []string
					for _, w := range words[1:] {
						if !strings.HasPrefix(w, "-") {
							files = append(files, w)
						}
					}
					if len(files) > 1 && (strings.HasPrefix(files[len(files)-1], "/") || strings.HasPrefix(files[len(files)-1], ".")) {
						files = files[:len(files)-1] // the remote folder
					}
					for _, f := range files {
						a.sources = append(a.sources, resolve(f, cwd))
					}
				}
			}
		case l == "/upload":
			upload = true
		case strings.HasPrefix(l, "/"):
		case upload:
			a.sources = append(a.sources, resolve(arg, cwd))
		case session == "":
			session = arg
		}
	}
	if len(a.sources) == 0 {
		return action{}, false
	}
	a.dest = session
	return a, true
}

// recognisePowerShell reads the cmdlets that move data: Compress-Archive,
// Copy-Item (copy, cp, cpi), Invoke-WebRequest/Invoke-RestMethod (iwr,
// irm, and Windows PowerShell's curl and wget aliases) with -InFile.
// Parameters may be abbreviated to a unique prefix and given as -Name
// value or -Name:value; positional parameters are read in order.
func recognisePowerShell(cmdlet string, args []string, cwd string) (action, bool) {
	if strings.HasPrefix(cmdlet, ".") {
		return recogniseMethod(cmdlet[1:], args, cwd)
	}
	var known []string
	switch cmdlet {
	case "compress-archive":
		known = psCompress
	case "copy-item", "copy", "cp", "cpi", "move-item", "move", "mv", "mi":
		known = psCopy
	case "get-childitem", "gci", "ls", "dir":
		known = psList
	default:
		known = psWeb
	}
	params, pos := psParams(args, known)
	get := func(names ...string) string {
		for _, n := range names {
			if v, ok := params[n]; ok {
				return v
			}
		}
		return ""
	}
	split := func(v string) []string { return psPaths(v, cwd) }
	switch cmdlet {
	case "compress-archive":
		a := action{kind: result.ExposureStaged, tool: "Compress-Archive", recursive: true}
		src, dst := pathAndDestination(get("path", "literalpath"), get("destinationpath"), pos)
		if dst == "" {
			return action{}, false
		}
		a.sources, a.dest = split(src), resolve(strings.Trim(dst, `"'`), cwd)
		return a, true
	case "copy-item", "copy", "cp", "cpi", "move-item", "move", "mv", "mi":
		a := action{kind: result.ExposureCollected, tool: "Copy-Item"}
		if strings.HasPrefix(cmdlet, "m") {
			a.tool = "Move-Item"
		}
		_, a.recursive = params["recurse"]
		src, dst := pathAndDestination(get("path", "literalpath"), get("destination"), pos)
		a.sources = split(src)
		if len(a.sources) == 0 {
			return action{}, false
		}
		if dst != "" {
			a.dest = resolve(strings.Trim(dst, `"'`), cwd)
		} else {
			a.dest = cwd
		}
		return a, true
	case "get-childitem", "gci", "ls", "dir":
		// A listing: recursive, of a file-type filter, or of a share.
		a := action{kind: result.ExposureCollected, tool: "Get-ChildItem"}
		if get("path", "literalpath") == "" && len(pos) == 0 {
			return action{}, false
		}
		a.sources, a.recursive, _ = psListing(cmdlet, args, cwd)
		if len(a.sources) == 0 || !a.recursive && !slices.ContainsFunc(a.sources, hasWildcard) && !slices.ContainsFunc(a.sources, isUNC) {
			return action{}, false
		}
		return a, true
	case "invoke-webrequest", "iwr", "invoke-restmethod", "irm", "curl", "wget":
		in := get("infile")
		if in == "" {
			return action{}, false
		}
		tool := "Invoke-WebRequest"
		if cmdlet == "invoke-restmethod" || cmdlet == "irm" {
			tool = "Invoke-RestMethod"
		}
		uri := get("uri")
		if uri == "" && len(pos) > 0 {
			uri = pos[0]
		}
		return action{kind: result.ExposureExfiltrated, tool: tool, dest: uri, sources: split(in)}, true
	}
	return action{}, false
}

// recogniseMethod reads a call of one of dataMethods (see methodCalls):
// WebClient's UploadFile(address, [method,] file) and its Async forms, an
// upload of the file; UploadData(address, [method,] data) with the data
// read by [IO.File]::ReadAllBytes('file'); ZipFile's
// CreateFromDirectory(folder, archive), staging. Arguments that are
// expressions are not evaluated.
func recogniseMethod(m string, args []string, cwd string) (action, bool) {
	literal := func(s string) bool { return s != "" && !strings.ContainsAny(s[:1], "$([@") }
	switch m {
	case "createfromdirectory":
		if len(args) < 2 || !literal(args[0]) || !literal(args[1]) {
			return action{}, false
		}
		return action{kind: result.ExposureStaged, tool: "ZipFile", sources: []string{resolve(args[0], cwd)}, dest: resolve(args[1], cwd), recursive: true}, true
	case "uploadfile", "uploadfileasync", "uploadfiletaskasync", "uploaddata", "uploaddataasync", "uploaddatataskasync":
		if len(args) < 2 {
			return action{}, false
		}
		data := args[1]
		if len(args) >= 3 {
			data = args[2] // after the method
		}
		if strings.HasPrefix(m, "uploaddata") {
			low := asciiLower(data)
			i := strings.Index(low, "readallbytes(")
			if i < 0 {
				return action{}, false
			}
			in := callArgs(data[i+len("readallbytes("):])
			if len(in) == 0 {
				return action{}, false
			}
			data = in[0]
		}
		if !literal(data) {
			return action{}, false
		}
		a := action{kind: result.ExposureExfiltrated, tool: "WebClient", sources: []string{resolve(data, cwd)}}
		if literal(args[0]) {
			a.dest = args[0]
		}
		return a, true
	}
	return action{}, false
}

// psPaths reads a PowerShell path argument (a,b or 'a','b'), each
// resolved against cwd; an expression ($var, (Get-Command x).Path) is
// not evaluated, and left out.
func psPaths(v, cwd string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.Trim(p, `"' `)
		env := len(p) > 5 && strings.EqualFold(p[:5], "$env:")
		if p != "" && (env || !strings.ContainsAny(p[:1], "$(@[")) {
			out = append(out, resolve(p, cwd))
		}
	}
	return out
}

// psListing returns what a listing cmdlet (Get-ChildItem, Get-Item and
// their aliases) names: its paths (the working folder's items when none
// is given), the first with its -Filter or -Include, and whether it
// recurses; ok is false for another cmdlet.
func psListing(cmdlet string, args []string, cwd string) (sources []string, recursive, ok bool) {
	switch cmdlet {
	case "get-childitem", "gci", "ls", "dir", "get-item", "gi":
	default:
		return nil, false, false
	}
	params, pos := psParams(args, psList)
	_, recursive = params["recurse"]
	src := params["path"]
	if src == "" {
		src = params["literalpath"]
	}
	if src == "" && len(pos) > 0 {
		src = pos[0]
	}
	if src == "" && cwd != "" {
		src = cwd
	}
	sources = psPaths(src, cwd)
	f := params["filter"]
	if f == "" {
		f = params["include"]
	}
	if f != "" && len(sources) > 0 {
		// Each path with each pattern (-Include *.xlsx,*.docx).
		var with []string
		for _, src := range sources {
			for _, pat := range strings.Split(f, ",") {
				if pat = strings.Trim(pat, `"' `); pat != "" && len(with) < maxExpansion {
					with = append(with, strings.TrimRight(src, `\`)+`\`+pat)
				}
			}
		}
		sources = with
	}
	return sources, recursive, true
}

// pipelineItem replaces, in a command of a script block of a pipeline
// (gci ... | % { Copy-Item $_.FullName C:\t }), the current item ($_,
// $PSItem, with a property or not) by the paths the pipeline's listing
// named, while r has room for them.
func pipelineItem(c Command, listed []string, r *room) Command {
	var out []string
	joined := ""
	for i, a := range c.Args {
		l := strings.ToLower(a)
		if l != "$_" && l != "$psitem" && !strings.HasPrefix(l, "$_.") && !strings.HasPrefix(l, "$psitem.") {
			continue
		}
		if !r.take(joinedLen(listed)) {
			break
		}
		if out == nil {
			out, joined = slices.Clone(c.Args), strings.Join(listed, ",")
		}
		out[i] = joined
	}
	if out != nil {
		c.Args = out
	}
	return c
}

// maxForSet bounds the patterns of a cmd for loop's set that are read.
const maxForSet = 16

// cmdFor reads cmd's `for [/r [root]] %v in (set) do command`: the
// command once per pattern of the set, with %v (%%v in a batch file,
// %~fv) replaced by the files it names: root\**\pattern with /r (root:
// the working folder when not given), the pattern itself otherwise. ok is
// false for other forms (/f, /l, /d). The commands made take their
// bytes from r; those past its room are left out.
func cmdFor(args []string, cwd string, r *room) ([]Command, bool) {
	i, root, recursive := 1, "", false
	for i < len(args) && strings.HasPrefix(args[i], "/") {
		switch strings.ToLower(args[i]) {
		case "/r":
			recursive = true
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "%") {
				i++
				root = args[i]
			}
		default:
			return nil, false
		}
		i++
	}
	if i+3 >= len(args) || !strings.HasPrefix(args[i], "%") || !strings.EqualFold(args[i+1], "in") || !strings.HasPrefix(args[i+2], "(") {
		return nil, false
	}
	letter := strings.TrimLeft(args[i], "%")
	var set []string
	k := i + 2
	for ; k < len(args); k++ {
		end := strings.HasSuffix(args[k], ")")
		if p := strings.Trim(args[k], "()"); p != "" && len(set) < maxForSet {
			set = append(set, p)
		}
		if end {
			break
		}
	}
	if k+2 >= len(args) || !strings.EqualFold(args[k+1], "do") || len(letter) != 1 {
		return nil, false
	}
	body := slices.Clone(args[k+2:])
	if strings.HasPrefix(strings.TrimLeft(body[0], "@"), "(") { // do (copy ...)
		body[len(body)-1] = strings.TrimSuffix(body[len(body)-1], ")")
	}
	body[0] = strings.TrimLeft(body[0], "@(") // do @copy
	if body[0] == "" {
		body = body[1:]
	}
	if len(body) == 0 {
		return nil, false
	}
	var out []Command
	for _, pat := range set {
		v := pat
		if recursive {
			r := root
			if r == "" {
				r = cwd
			}
			v = strings.TrimRight(resolve(r, cwd), `\`) + `\**\` + pat
		}
		c := Command{Args: slices.Clone(body)}
		size := 0
		for _, a := range c.Args {
			size += len(a)
			if form := loopVariable(a, letter); form != "" {
				size += strings.Count(a, form) * (len(v) - len(form))
			}
		}
		if !r.take(size) {
			break
		}
		for j, a := range c.Args {
			if form := loopVariable(a, letter); form != "" {
				c.Args[j] = strings.ReplaceAll(a, form, v)
			}
		}
		out = append(out, c)
	}
	return out, true
}

// loopVariable returns the form of a for loop's variable (%%~fv, %~fv,
// %%v, %v) that a holds, or "".
func loopVariable(a, letter string) string {
	for _, form := range []string{"%%~f" + letter, "%~f" + letter, "%%" + letter, "%" + letter} {
		if strings.Contains(a, form) {
			return form
		}
	}
	return ""
}

// pipedInput gives a Compress-Archive, Copy-Item or Move-Item that names
// no path the paths listed before it in its pipeline (src), bound to
// -LiteralPath as PowerShell binds the items a listing emits, when r has
// room for them.
func pipedInput(c Command, src []string, r *room) Command {
	var known []string
	switch strings.ToLower(c.Args[0]) {
	case "compress-archive":
		known = psCompress
	case "copy-item", "copy", "cp", "cpi", "move-item", "move", "mv", "mi":
		known = psCopy
	default:
		return c
	}
	params, _ := psParams(c.Args[1:], known)
	if _, ok := params["path"]; ok {
		return c
	}
	if _, ok := params["literalpath"]; ok {
		return c
	}
	if !r.take(joinedLen(src)) {
		return c
	}
	c.Args = append(slices.Clone(c.Args), "-LiteralPath", strings.Join(src, ","))
	return c
}

// pathAndDestination fills a cmdlet's -Path and -Destination(Path) not
// given by name from its positional arguments, in that order.
func pathAndDestination(src, dst string, pos []string) (string, string) {
	if src == "" && len(pos) > 0 {
		src, pos = pos[0], pos[1:]
	}
	if dst == "" && len(pos) > 0 {
		dst = pos[0]
	}
	return src, dst
}

// Parameters of the cmdlets above, for PowerShell's unique-prefix
// abbreviations; psSwitches take no value.
var (
	psCompress = []string{"path", "literalpath", "destinationpath", "compressionlevel", "update", "force", "passthru", "confirm", "whatif"}
	psCopy     = []string{"path", "literalpath", "destination", "recurse", "force", "filter", "include", "exclude", "container",
		"passthru", "credential", "confirm", "whatif", "tosession", "fromsession"}
	psList = []string{"path", "literalpath", "filter", "include", "exclude", "recurse", "depth", "force", "name", "file", "directory",
		"hidden", "attributes", "erroraction"}
	psWeb = []string{"uri", "infile", "method", "outfile", "headers", "body", "contenttype", "credential", "usebasicparsing",
		"usedefaultcredentials", "proxy", "timeoutsec", "useragent", "skipcertificatecheck", "form", "session", "websessionvariable"}
)

var psSwitches = map[string]bool{"name": true, "file": true, "directory": true, "hidden": true, "recurse": true, "force": true, "update": true, "passthru": true, "usebasicparsing": true,
	"usedefaultcredentials": true, "container": true, "confirm": true, "whatif": true, "skipcertificatecheck": true}

// psParams reads PowerShell arguments into named parameters (full names,
// lower-case) and positional ones.
func psParams(args, known []string) (map[string]string, []string) {
	params := map[string]string{}
	var pos []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if len(arg) < 2 || arg[0] != '-' || arg[1] >= '0' && arg[1] <= '9' {
			pos = append(pos, arg)
			continue
		}
		name, val, hasVal := strings.Cut(arg[1:], ":")
		name = strings.ToLower(name)
		full := ""
		for _, k := range known {
			if k == name {
				full = k
				break
			}
			if strings.HasPrefix(k, name) {
				if full != "" {
					full = name // ambiguous: keep as written
					break
				}
				full = k
			}
		}
		if full == "" {
			full = name
		}
		if psSwitches[full] {
			params[full] = "true"
			continue
		}
		if !hasVal && i+1 < len(args) {
			i++
			val = args[i]
		}
		params[full] = val
	}
	return params, pos
}
