// Package exposure says what an operation's evidence shows the intruders
// took: the data they collected (copies, listings, share access), staged
// (archives, with their sources, password and volumes) and sent out
// (uploads, transfers to cloud storage), from its detections' fields
// alone (the events are gone by then). Command lines are split by the
// Windows rules and each tool's own switch syntax (argv.go, tools.go),
// relative paths resolved against the process's working directory, and
// wildcards against the files the operation's file events show.
package exposure

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
)

// linkWindow bounds how far apart two items may be to be linked by time
// alone (a connection and the upload that made it; a listing and the
// archive of unknown content after it).
const linkWindow = 10 * time.Minute

// listingWindow bounds how long after a listing an archive of unknown
// content is taken to hold what was listed.
const listingWindow = time.Hour

// maxFiles caps the files kept on one item.
const maxFiles = 32

// maxItems caps the items of one operation (linking is quadratic in
// them); past it, items are counted, not kept.
const maxItems = 1000

// Annotate sets the Exposure of each of ops (whose detections are in
// dets) and, when jewels names valuable data an operation touched, raises
// its severity and score (see raise) and re-sorts ops by score. jewels
// may be nil: valuable data is then inferred.
func Annotate(ops []result.Operation, dets []result.Detection, jewels *Jewels) {
	raised := false
	for i := range ops {
		ops[i].Exposure = contained(&ops[i], dets, jewels)
		if ops[i].Exposure != nil && ops[i].Exposure.Raised != "" {
			raised = true
		}
	}
	if raised {
		sort.SliceStable(ops, func(a, b int) bool { return ops[a].Score > ops[b].Score })
	}
}

// AnnotateMembers is Annotate for one operation whose detections are
// members, in the order of op.Detections (ids of the caller's, such as a
// case store's): its items name detections by those ids. The caller
// re-sorts operations whose Exposure.Raised is set, as Annotate does.
func AnnotateMembers(op *result.Operation, members []result.Detection, jewels *Jewels) {
	ids := op.Detections
	pos := make([]int, len(members))
	for i := range pos {
		pos[i] = i
	}
	op.Detections = pos
	op.Exposure = contained(op, members, jewels)
	op.Detections = ids
	if op.Exposure == nil {
		return
	}
	for i := range op.Exposure.Items {
		it := &op.Exposure.Items[i]
		for j, d := range it.Detections {
			it.Detections[j] = ids[d]
		}
	}
}

// builder is build; a test replaces it to reach contained's recovery.
var builder = build

// contained is build with a panic kept to its operation: command lines
// are the attacker's text, and a bug they reach (the fuzz targets look
// for them) costs that operation its exposure, said in its summary, not
// the hunt its results.
func contained(op *result.Operation, dets []result.Detection, jewels *Jewels) (e *result.Exposure) {
	defer func() {
		if p := recover(); p != nil {
			e = &result.Exposure{Summary: fmt.Sprintf("not worked out: internal error (%v); please report it", p)}
		}
	}()
	return builder(op, dets, jewels)
}

// item is an ExposureItem being built, with what linking needs.
type item struct {
	result.ExposureItem
	listFile  string
	outputs   []string // paths written: destination, volumes, files
	key       string
	connected bool // an exfiltration corroborated by a connection
	bitsJob   string
	fileOnly  bool // an archive seen only by its file event
	linkedBy  []string
}

func build(op *result.Operation, dets []result.Detection, jewels *Jewels) *result.Exposure {
	written := map[string][]fileWrite{} // host → files written
	for _, di := range op.Detections {
		d := &dets[di]
		if f, image := fileWritten(d); f != "" {
			h := shortHost(d.Computer)
			written[h] = append(written[h], fileWrite{path: f, image: image, det: di, time: d.Time, staging: stagingRule(d.Rule)})
		}
	}
	var items []*item
	dropped := 0
	byKey := map[string]*item{}
	add := func(it *item) {
		if prev := byKey[it.key]; prev != nil && absDur(prev.Time.Sub(it.Time)) <= linkWindow {
			// The tool's own process creation names its image in full.
			if !strings.ContainsAny(prev.Process, `\/`) && strings.ContainsAny(it.Process, `\/`) {
				prev.Process = it.Process
			}
			for _, d := range it.Detections {
				if !slices.Contains(prev.Detections, d) {
					prev.Detections = append(prev.Detections, d)
				}
			}
			return
		}
		if len(items) == maxItems {
			dropped++
			return
		}
		byKey[it.key] = it
		items = append(items, it)
	}
	for _, di := range op.Detections {
		d := &dets[di]
		for _, it := range recogniseDetection(d, di) {
			add(it)
		}
	}
	items = dropDownloadJobs(items, op, dets)
	items = foldUnresolved(items)
	mapDrives(items, op, dets)
	// Archive file events: the volumes and files of the staged items that
	// wrote them; an archive written by no recognised command is an item
	// of its own (weak: unknown content).
	for h, ws := range written {
		for _, w := range ws {
			if !isArchive(w.path) {
				continue
			}
			owner := ownerOf(items, h, w)
			if owner == nil && !w.staging {
				// An archive a download or an installer wrote, which no
				// staging rule flagged: not evidence of staging.
				continue
			}
			if owner == nil {
				it := &item{ExposureItem: result.ExposureItem{
					Kind: result.ExposureStaged, Tool: strings.TrimSuffix(strings.ToLower(baseName(w.image)), ".exe"),
					Time: w.time, Host: h, Process: w.image, Destination: w.path, Detections: []int{w.det},
				}}
				if it.Tool == "" {
					it.Tool = "archive written"
				}
				it.key = "file|" + h + "|" + strings.ToLower(w.path)
				it.fileOnly = true
				add(it)
				if owner = byKey[it.key]; owner == nil {
					continue
				}
			}
			addFile(owner, w.path)
			if !slices.Contains(owner.Detections, w.det) {
				owner.Detections = append(owner.Detections, w.det)
			}
		}
	}
	if len(items) == 0 {
		return nil
	}
	sort.SliceStable(items, func(a, b int) bool { return items[a].Time.Before(items[b].Time) })
	for _, it := range items {
		slices.Sort(it.Detections)
		if it.Kind == result.ExposureStaged && it.Destination == "" && len(it.Files) == 1 {
			it.Destination = it.Files[0]
		}
		it.outputs = append(it.outputs, it.Files...)
		if it.Destination != "" && it.Kind != result.ExposureExfiltrated {
			it.outputs = append(it.outputs, it.Destination)
		}
		expandSources(it, written[it.Host])
	}
	link(items)
	exp := &result.Exposure{}
	markValuable(items, jewels)
	carryValuable(items)
	for i, it := range items {
		size(it, items)
		grade(i, items)
	}
	for _, it := range items {
		exp.Items = append(exp.Items, it.ExposureItem)
	}
	summarise(exp, items)
	exp.Inferred = jewels == nil && len(exp.CrownJewels) > 0
	if dropped > 0 {
		exp.Summary += fmt.Sprintf("; %d more data movements not kept (more than %d)", dropped, maxItems)
	}
	if jewels != nil {
		raise(op, exp)
	}
	return exp
}

type fileWrite struct {
	path, image string
	det         int
	time        time.Time
	staging     bool // its rule is about staging or exfiltration
}

// stagingRule says whether a rule is about collection, staging or
// exfiltration (its tactics, or T1560/T1074 techniques).
func stagingRule(r *result.Rule) bool {
	if r == nil {
		return false
	}
	if slices.Contains(r.Tactics, "collection") || slices.Contains(r.Tactics, "exfiltration") {
		return true
	}
	return slices.ContainsFunc(r.Techniques, func(t string) bool { return strings.HasPrefix(t, "T1560") || strings.HasPrefix(t, "T1074") })
}

// recogniseDetection returns the data movements one detection's fields
// show: a process creation's command line (and the commands of the
// shells it runs), a PowerShell script block, a 5145 share access, a
// connection to a cloud storage service or an exfiltration rule's
// connection, a transfer with its bytes.
func recogniseDetection(d *result.Detection, di int) []*item {
	h := shortHost(d.Computer)
	proto := result.ExposureItem{Time: d.Time, Host: h, Account: account(d), Detections: []int{di}}
	var out []*item
	switch {
	case d.EventID == 5145:
		share := strings.Replace(field(d, "ShareName"), `\\*\`, `\\`+h+`\`, 1)
		rel := field(d, "RelativeTargetName")
		// Named pipes (IPC$) carry no files; a program written to a share is
		// a tool moved; an access that cannot read data takes none.
		if share == "" || strings.HasSuffix(strings.ToUpper(share), `\IPC$`) || isProgram(rel) || !readsData(field(d, "AccessMask")) {
			return nil
		}
		it := &item{ExposureItem: proto}
		it.Kind, it.Tool = result.ExposureCollected, "share access"
		p := share
		if rel != "" {
			p += `\` + rel
		}
		it.Sources = []string{p}
		it.Destination = field(d, "IpAddress")
		it.key = "5145|" + strings.ToLower(share) + "|" + strings.ToLower(it.Account) + "|" + it.Destination
		return []*item{it}
	case field(d, "CommandLine") != "":
		line := field(d, "CommandLine")
		cwd := field(d, "CurrentDirectory")
		image := field(d, "Image")
		if image == "" {
			image = field(d, "NewProcessName")
		}
		out = append(out, fromCommands(proto, Commands(line), cwd, image, line)...)
	case field(d, "ScriptBlockText") != "":
		text := field(d, "ScriptBlockText")
		out = append(out, fromCommands(proto, PowerShellCommands(text), "", "powershell.exe", text)...)
	}
	if host := field(d, "DestinationHostname"); d.EventID == 3 || host != "" || field(d, "DestinationIp") != "" {
		if it := connection(d, proto); it != nil {
			out = append(out, it)
		}
	}
	return out
}

// dropDownloadJobs removes the `bitsadmin /addfile` items whose job no
// `bitsadmin /create /upload` of the operation made on their host: the
// files of a download job are fetched, not sent.
func dropDownloadJobs(items []*item, op *result.Operation, dets []result.Detection) []*item {
	if !slices.ContainsFunc(items, func(it *item) bool { return it.bitsJob != "" }) {
		return items
	}
	uploads := map[string]bool{} // host|job
	for _, di := range op.Detections {
		d := &dets[di]
		line := field(d, "CommandLine")
		if !strings.Contains(asciiLower(line), "/create") {
			continue
		}
		for _, c := range Commands(line) {
			if job, ok := bitsUploadJob(c); ok {
				uploads[shortHost(d.Computer)+"|"+job] = true
			}
		}
	}
	return slices.DeleteFunc(items, func(it *item) bool { return it.bitsJob != "" && !uploads[it.Host+"|"+it.bitsJob] })
}

// foldUnresolved folds an item whose paths are relative, unresolved (a
// Security 4688 record gives no working folder), into the twin item of
// the same action that resolved them (the Sysmon record of the same
// process creation): same host, kind and tool within linkWindow, each
// relative path the end of the twin's path in its place.
func foldUnresolved(items []*item) []*item {
	relative := func(p string) bool {
		u := strings.ToUpper(p)
		registry := strings.HasPrefix(u, `HKLM\`) || strings.HasPrefix(u, `HKCU\`) || strings.HasPrefix(u, `HKU\`) || strings.HasPrefix(u, "HKEY_")
		return p != "" && !registry && !strings.HasPrefix(p, `\\`) && !strings.Contains(p, ":")
	}
	endsWith := func(abs, rel string) bool {
		la, lr := strings.ToLower(abs), strings.ToLower(strings.TrimPrefix(rel, `.\`))
		return la == lr || strings.HasSuffix(la, `\`+lr)
	}
	twin := func(a, b *item) bool { // a unresolved, b resolved
		if a == b || a.Host != b.Host || a.Kind != b.Kind || a.Tool != b.Tool || absDur(a.Time.Sub(b.Time)) > linkWindow ||
			len(a.Sources) != len(b.Sources) || (a.Destination == "") != (b.Destination == "") {
			return false
		}
		if a.Destination != "" && !(relative(a.Destination) && endsWith(b.Destination, a.Destination) || strings.EqualFold(a.Destination, b.Destination)) {
			return false
		}
		for i, s := range a.Sources {
			if !(relative(s) && endsWith(b.Sources[i], s) || strings.EqualFold(s, b.Sources[i])) {
				return false
			}
		}
		return true
	}
	resolved := func(it *item) bool { return !relative(it.Destination) && !slices.ContainsFunc(it.Sources, relative) }
	folded := map[*item]bool{}
	for _, a := range items {
		if resolved(a) {
			continue
		}
		for _, b := range items {
			if resolved(b) && twin(a, b) {
				for _, d := range a.Detections {
					if !slices.Contains(b.Detections, d) {
						b.Detections = append(b.Detections, d)
					}
				}
				folded[a] = true
				break
			}
		}
	}
	if len(folded) == 0 {
		return items
	}
	return slices.DeleteFunc(items, func(it *item) bool { return folded[it] })
}

// mapDrives rewrites the paths of items on a drive that a command of the
// operation mapped to a share on their host (`net use Z: \\FS01\Fin`,
// `New-PSDrive -Name Z -Root \\FS01\Fin`) as paths on that share, and
// says so in their Why.
func mapDrives(items []*item, op *result.Operation, dets []result.Detection) {
	maps := map[string]string{} // host|z: → \\host\share
	for _, di := range op.Detections {
		d := &dets[di]
		line := field(d, "CommandLine")
		if low := asciiLower(line); !strings.Contains(low, " use ") && !strings.Contains(low, "psdrive") && !strings.Contains(low, "ndr ") {
			continue
		}
		for _, c := range Commands(line) {
			if drive, share, ok := driveMap(c); ok {
				maps[shortHost(d.Computer)+"|"+drive] = share
			}
		}
	}
	if len(maps) == 0 {
		return
	}
	for _, it := range items {
		var said []string
		onShare := func(p string) string {
			if len(p) < 2 || p[1] != ':' || len(p) > 2 && p[2] != '\\' {
				return p
			}
			drive := strings.ToLower(p[:2])
			share, ok := maps[it.Host+"|"+drive]
			if !ok {
				return p
			}
			if note := strings.ToUpper(drive) + " is " + share; !slices.Contains(said, note) {
				said = append(said, note)
			}
			return strings.TrimRight(share, `\`) + p[2:]
		}
		for i, s := range it.Sources {
			it.Sources[i] = onShare(s)
		}
		it.Destination = onShare(it.Destination)
		if len(said) > 0 {
			it.Why += strings.Join(said, ", ") + " (a drive mapped to a share); "
		}
	}
}

// driveMap reads `net use Z: \\host\share` and `New-PSDrive -Name Z
// -PSProvider FileSystem -Root \\host\share` (ndr, mount): the drive
// (lower-case, with its colon) and the share.
func driveMap(c Command) (drive, share string, ok bool) {
	a := c.Args
	switch {
	case !c.PowerShell && len(a) >= 4 && (base(a[0]) == "net" || base(a[0]) == "net1") && strings.EqualFold(a[1], "use"):
		drive, share = a[2], a[3]
	case c.PowerShell && len(a) > 1:
		switch strings.ToLower(a[0]) {
		case "new-psdrive", "ndr", "mount":
		default:
			return "", "", false
		}
		// -Name and -Root (or the first and third by position); psParams'
		// switches are Get-ChildItem's, whose -Name takes no value.
		var pos []string
		for i := 1; i < len(a); i++ {
			name, val, hasVal := strings.Cut(a[i], ":")
			if !strings.HasPrefix(name, "-") || len(name) < 2 {
				pos = append(pos, a[i])
				continue
			}
			name = strings.ToLower(name[1:])
			if len(name) > 2 && strings.HasPrefix("persist", name) {
				continue // a switch
			}
			if !hasVal && i+1 < len(a) {
				i++
				val = a[i]
			}
			switch {
			case strings.HasPrefix("name", name):
				drive = val
			case strings.HasPrefix("root", name):
				share = val
			}
		}
		if drive == "" && len(pos) > 0 {
			drive = pos[0]
		}
		if share == "" && len(pos) > 2 {
			share = pos[2] // -Name, -PSProvider, -Root by position
		}
		drive = strings.TrimSuffix(drive, ":") + ":"
	default:
		return "", "", false
	}
	if len(drive) != 2 || !isLetter(drive[0]) || drive[1] != ':' || !isUNC(share) {
		return "", "", false
	}
	return strings.ToLower(drive), share, true
}

// fromCommands recognises each command of a line; cd/pushd/Set-Location
// change the working folder of the commands after them.
func fromCommands(proto result.ExposureItem, cmds []Command, cwd, image, line string) []*item {
	var out []*item
	var listed []string // what the pipeline's listing named
	var vars psVars
	forCommands := 0 // commands cmd for loops added (nested loops multiply)
	rewrite := room(maxRewrite)
	for k := 0; k < len(cmds); k++ {
		c := cmds[k]
		if len(c.Args) == 0 {
			continue
		}
		if !c.PowerShell && strings.EqualFold(c.Args[0], "for") {
			// The loop's command, once per pattern, in its place.
			if body, ok := cmdFor(c.Args, cwd, &rewrite); ok && forCommands+len(body) <= 4*maxForSet {
				forCommands += len(body)
				cmds = slices.Insert(slices.Clone(cmds), k+1, body...)
			}
			continue
		}
		if c.PowerShell && c.Block && len(listed) > 0 {
			c = pipelineItem(c, listed, &rewrite)
		}
		if c.PowerShell {
			command, ok := vars.assign(c.Args)
			if ok && command == nil {
				continue
			}
			if ok {
				c.Args = command
			}
			c = vars.expand(c, &rewrite)
		}
		if c.PowerShell && !c.Block {
			if !c.Piped {
				listed = nil
			}
			if src, _, ok := psListing(strings.ToLower(c.Args[0]), c.Args[1:], cwd); ok {
				listed = src
			} else if c.Piped && len(listed) > 0 {
				c = pipedInput(c, listed, &rewrite)
			}
		}
		switch strings.ToLower(base0(c.Args[0])) {
		case "cd", "chdir", "pushd", "set-location", "sl":
			for _, a := range c.Args[1:] {
				if !strings.HasPrefix(a, "/") && !strings.HasPrefix(a, "-") {
					cwd = resolve(a, cwd)
					break
				}
			}
			continue
		}
		a, ok := recognise(c, cwd)
		if !ok || toolTransfer(a) {
			continue
		}
		it := &item{ExposureItem: proto}
		it.Kind, it.Tool = a.kind, a.tool
		it.Sources, it.Destination = a.sources, a.dest
		it.Password, it.HeadersEncrypted, it.Recursive = a.password, a.headers, a.recursive
		it.VolumeSize = a.volSize
		it.listFile = a.listFile
		it.bitsJob = a.bitsJob
		if a.note != "" {
			it.Why = a.note + "; "
		}
		it.CommandLine = cut(line, 1024)
		it.Process = image
		if b := base(image); b == "cmd" || b == "powershell" || b == "pwsh" {
			if builtin := a.tool == "copy" || a.tool == "move" || a.tool == "dir" || c.PowerShell; !c.PowerShell && base(c.Args[0]) != b && !builtin {
				it.Process = c.Args[0]
			}
		}
		it.key = strings.Join([]string{"cmd", proto.Host, a.kind, strings.ToLower(a.tool), strings.ToLower(a.dest), strings.ToLower(strings.Join(a.sources, "|"))}, "|")
		out = append(out, it)
	}
	return out
}

// base0 is a command's name for cd detection (cd.. glued to its dots).
func base0(s string) string {
	if strings.HasPrefix(strings.ToLower(s), "cd.") {
		return "cd"
	}
	return base(s)
}

// cloudStorage are host suffixes of consumer cloud storage and file
// sharing services.
var cloudStorage = []string{"onedrive.com", "onedrive.live.com", "1drv.com", "1drv.ms", "storage.live.com", "dropbox.com",
	"dropboxapi.com", "mega.nz", "mega.co.nz", "mega.io", "drive.google.com", "googleusercontent.com", "googleapis.com",
	"blob.core.windows.net", "amazonaws.com", "box.com", "pcloud.com", "mediafire.com", "transfer.sh", "wetransfer.com",
	"anonfiles.com", "gofile.io", "file.io", "pastebin.com", "sendspace.com", "dropboxusercontent.com", "backblazeb2.com",
	"wasabisys.com", "r2.cloudflarestorage.com", "digitaloceanspaces.com", "cloud-api.yandex.net", "disk.yandex.com",
	"icedrive.net", "box.net", "sync.com", "jottacloud.com", "4shared.com", "pixeldrain.com", "catbox.moe", "litterbox.catbox.moe",
	"temp.sh", "bashupload.com", "oshi.at", "filebin.net", "ufile.io", "tmpfiles.org", "transfer.it", "filetransfer.io",
	"wormhole.app", "send.cm", "anonymfile.com", "files.fm", "uploadfiles.io", "webhook.site"}

// bytesFields are the fields of a connection or transfer that give the
// bytes sent (firewall, proxy and EDR exports), and the least that makes
// a transfer large.
var bytesFields = []string{"SentBytes", "BytesSent", "sent_bytes", "bytes_out", "BytesOut", "source.bytes", "network.bytes_out", "cs-bytes"}

const largeTransfer = 100 << 20

// connection is the exfiltration a connection shows: one to a cloud
// storage host, one an exfiltration rule matched, or one that sent at least
// largeTransfer bytes; nil otherwise.
func connection(d *result.Detection, proto result.ExposureItem) *item {
	host := strings.ToLower(field(d, "DestinationHostname"))
	ip := field(d, "DestinationIp")
	cloud := false
	for _, s := range cloudStorage {
		if host == s || strings.HasSuffix(host, "."+s) {
			cloud = true
		}
	}
	var sent int64
	for _, f := range bytesFields {
		if n, rest, ok := number(field(d, f)); ok && rest == "" {
			sent = n
		}
	}
	exfilRule := slices.Contains(d.Rule.Tactics, "exfiltration")
	if !cloud && !exfilRule && sent < largeTransfer {
		return nil
	}
	if field(d, "Initiated") == "false" {
		return nil
	}
	it := &item{ExposureItem: proto}
	it.Kind, it.Tool = result.ExposureExfiltrated, "connection"
	it.Process = field(d, "Image")
	it.Destination = host
	if it.Destination == "" {
		it.Destination = ip
	}
	if p := field(d, "DestinationPort"); p != "" && it.Destination != "" {
		if strings.Contains(it.Destination, ":") {
			it.Destination = "[" + it.Destination + "]" // IPv6
		}
		it.Destination += ":" + p
	}
	if sent > 0 {
		it.SizeMin, it.SizeMax, it.SizeNote = sent, sent, "bytes sent as logged"
	}
	it.key = "conn|" + proto.Host + "|" + strings.ToLower(it.Process) + "|" + it.Destination
	return it
}

// ownerOf is the staged item on host h that wrote w: the archive it names
// (or a volume of it), else a recognised archiver item of the same image
// shortly before.
func ownerOf(items []*item, h string, w fileWrite) *item {
	lw := strings.ToLower(w.path)
	var near *item
	for _, it := range items {
		if it.Host != h || it.Kind != result.ExposureStaged {
			continue
		}
		dest := strings.ToLower(it.Destination)
		if dest != "" && (dest == lw || isVolumeOf(lw, dest) || strings.HasSuffix(dest, `\`) && strings.HasPrefix(lw, dest) || hasWildcard(dest) && globMatch(dest, lw)) {
			return it
		}
		if w.image != "" && base(w.image) == base(it.Process) && !w.time.Before(it.Time) && w.time.Sub(it.Time) <= listingWindow {
			near = it
		}
	}
	return near
}

// volumesSeen counts the volumes of the split archive dest among files
// and says how many there are at least: the highest volume number seen
// (a volume missing from the file events still counts), or the count.
// RAR's old naming starts with the .rar itself (then .r00, .r01...); a
// split zip ends with it (.z01, .z02..., then the .zip).
func volumesSeen(files []string, dest string) (seen, atLeast int) {
	ld := strings.ToLower(dest)
	stem := strings.TrimSuffix(ld, ".rar")
	stem = strings.TrimSuffix(stem, ".zip")
	destSeen, numbered := false, false
	for _, f := range files {
		lf := strings.ToLower(f)
		if lf == ld {
			destSeen = true
			continue
		}
		if !isVolumeOf(lf, ld) {
			continue
		}
		seen++
		suffix := lf[len(stem):]
		k := volumeNumber(suffix)
		if len(suffix) == 4 && (suffix[1] == 'r' || suffix[1] == 'z') {
			numbered = true // .r00, .z01
		}
		atLeast = max(atLeast, k)
	}
	if destSeen && numbered {
		seen++ // the .rar first, or the .zip last, of the old namings
	}
	return seen, max(seen, atLeast)
}

// volumeNumber is the position of a volume by its name's suffix (after
// the archive's stem): .part3.rar 3, .r00 2 (the .rar is the first),
// .7z.003 or .zip.003 3, .z02 2; 0 when unknown.
func volumeNumber(suffix string) int {
	digits := strings.TrimPrefix(suffix, ".7z")
	digits = strings.TrimLeft(digits, ".abcdefghijklmnopqrstuvwxyz")
	digits, _, _ = strings.Cut(digits, ".")
	n, rest, ok := number(digits)
	if !ok || rest != "" || n > 1<<20 {
		return 0
	}
	if strings.HasPrefix(suffix, ".r") && !strings.HasPrefix(suffix, ".rar") {
		return int(n) + 2
	}
	return int(n)
}

// isVolumeOf says whether path is a volume of the split archive dest:
// name.partN.rar, name.rNN, name.7z.NNN, name.zip.NNN, name.zNN.
func isVolumeOf(path, dest string) bool {
	stem, ext := dest, ""
	if i := strings.LastIndexByte(dest, '.'); i > strings.LastIndexByte(dest, '\\') {
		stem, ext = dest[:i], dest[i:]
	}
	if !strings.HasPrefix(path, stem+".") {
		return false
	}
	rest := path[len(stem)+1:]
	digits := func(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }
	switch ext {
	case ".rar":
		if p, ok := strings.CutPrefix(rest, "part"); ok {
			n, e, _ := strings.Cut(p, ".")
			return digits(n) && e == "rar"
		}
		return len(rest) == 3 && rest[0] == 'r' && digits(rest[1:])
	case ".zip":
		return len(rest) == 3 && rest[0] == 'z' && digits(rest[1:]) || strings.HasPrefix(rest, "zip.") && digits(rest[4:])
	}
	if e, ok := strings.CutPrefix(rest, strings.TrimPrefix(ext, ".")+"."); ok {
		return digits(e)
	}
	return false
}

// expandSources resolves an item's wildcard sources against the files the
// operation wrote on its host.
func expandSources(it *item, written []fileWrite) {
	for _, s := range it.Sources {
		if !hasWildcard(s) {
			continue
		}
		for _, w := range written {
			if globMatch(s, w.path) && !w.time.After(it.Time) {
				addFile(it, w.path)
			}
		}
	}
}

func addFile(it *item, p string) {
	for _, f := range it.Files {
		if strings.EqualFold(f, p) {
			return
		}
	}
	if len(it.Files) < maxFiles {
		it.Files = append(it.Files, p)
	}
}

// link joins each item to the earlier items that wrote what it read: a
// source equal to (or matching) an output of theirs on its host, or on
// the host an administrative share path names; a connection to the upload
// by the same program on its host shortly before; an archive of unknown
// content to the listing before it on its host.
func link(items []*item) {
	for bi, b := range items {
		for ai := range bi {
			a := items[ai]
			why := ""
			switch {
			case b.Tool == "connection":
				if a.Kind == result.ExposureExfiltrated && a.Host == b.Host && a.Tool != "connection" && b.Time.Sub(a.Time) <= linkWindow &&
					(b.Process == "" || strings.EqualFold(baseName(a.Process), baseName(b.Process))) && sameHost(a.Destination, b.Destination) {
					why = "connection"
					a.connected = true
				}
			case b.Kind == result.ExposureStaged && len(b.Sources) == 0 && isListing(a) && a.Tool != "net view" && a.Host == b.Host && b.Time.Sub(a.Time) <= listingWindow:
				why = "listing"
			default:
				if readsOutputOf(b, a) {
					why = "data"
				}
			}
			if why != "" {
				a.Linked = append(a.Linked, bi)
				b.Linked = append(b.Linked, ai)
				b.linkedBy = append(b.linkedBy, why)
			}
		}
	}
}

// sameHost says whether a destination (URL, scp target or host) and a
// connection's host:port name the same host; true when either is
// unknown.
func sameHost(dest, conn string) bool {
	u, c := destHost(dest), destHost(conn)
	return u == "" || c == "" || u == c || strings.HasSuffix(u, "."+c) || strings.HasSuffix(c, "."+u)
}

// readsOutputOf says whether b reads a file a wrote.
func readsOutputOf(b, a *item) bool {
	if a.Kind == result.ExposureExfiltrated {
		return false
	}
	srcs := append(slices.Clone(b.Sources), b.Files...)
	for _, s := range srcs {
		host := b.Host
		if _, local, ok := adminLocal(s); ok {
			s, host = local, "" // any host: the admin share's host is often an address
		}
		if host != "" && a.Host != host {
			continue
		}
		ls := strings.ToLower(s)
		for _, o := range a.outputs {
			lo := strings.ToLower(o)
			// A folder written (a tree copied, an IFM) holds what is under it.
			if lo == ls || hasWildcard(ls) && globMatch(ls, lo) || isVolumeOf(ls, lo) || strings.HasPrefix(ls, strings.TrimRight(lo, `\`)+`\`) {
				return true
			}
		}
	}
	return false
}

// size sets what the evidence says of an item's size: a split archive's
// volumes (all but the last are the volume size: more than (n−1)×size, at
// most n×size), an upload of such volumes the same bound for those it
// sent.
func size(it *item, items []*item) {
	if it.SizeMin > 0 {
		return
	}
	if it.Kind == result.ExposureStaged && it.VolumeSize > 0 {
		seen, n := volumesSeen(it.Files, it.Destination)
		it.Volumes = n
		if n == 0 || it.VolumeSize > math.MaxInt64/int64(n) {
			return
		}
		vs := bytesText(it.VolumeSize)
		it.SizeMin = int64(n-1)*it.VolumeSize + 1
		it.SizeMax = int64(n) * it.VolumeSize
		count := fmt.Sprintf("%d volumes of %s", n, vs)
		if seen < n {
			count = fmt.Sprintf("volumes numbered up to %d of %s (%d in the file events)", n, vs, seen)
		}
		it.SizeNote = fmt.Sprintf("%s: more than %s (each but the last is full; the last one's size is not in the evidence), at most %s if there are no more volumes than these",
			count, bytesText(int64(n-1)*it.VolumeSize), bytesText(it.SizeMax))
		return
	}
	if it.Kind != result.ExposureExfiltrated && it.Kind != result.ExposureCollected {
		return
	}
	// The volumes of split archives this item moved: its sources traced
	// back through the items linked before it (copies) to the archive.
	var ancestors []*item
	seen := map[int]bool{}
	queue := slices.Clone(it.Linked)
	for len(queue) > 0 {
		li := queue[0]
		queue = queue[1:]
		a := items[li]
		if seen[li] || !a.Time.Before(it.Time) && a.Time != it.Time {
			continue
		}
		seen[li] = true
		ancestors = append(ancestors, a)
		queue = append(queue, a.Linked...)
	}
	var vs int64
	sent := map[string]bool{}
	last := false
	for _, s := range append(slices.Clone(it.Sources), it.Files...) {
		bn := strings.ToLower(baseName(s))
		for _, a := range ancestors {
			if a.Kind != result.ExposureStaged || a.VolumeSize == 0 || !isVolumeOf(bn, strings.ToLower(baseName(a.Destination))) {
				continue
			}
			if vs != 0 && vs != a.VolumeSize {
				continue
			}
			vs = a.VolumeSize
			sent[bn] = true
			last = last || isLastVolume(bn, a)
			break
		}
	}
	n := int64(len(sent))
	if n == 0 || vs > math.MaxInt64/n {
		return
	}
	it.VolumeSize, it.Volumes = vs, int(n)
	it.SizeMax = n * vs
	switch {
	case last && n == 1:
		it.SizeMin = 1
		it.SizeNote = fmt.Sprintf("the last volume of a split archive of %s volumes: at most %s", bytesText(vs), bytesText(vs))
	case last:
		it.SizeMin = (n-1)*vs + 1
		it.SizeNote = fmt.Sprintf("%d volumes of %s, the last among them: more than %s (the last volume's size is not in the evidence), at most %s",
			n, bytesText(vs), bytesText((n-1)*vs), bytesText(n*vs))
	default:
		it.SizeMin = n * vs
		it.SizeNote = fmt.Sprintf("%d whole volume(s) of %s: %s", n, bytesText(vs), bytesText(n*vs))
	}
}

// isLastVolume says whether s may be the last volume of staged item a:
// the highest numbered of those its file events show (or unknown).
func isLastVolume(s string, a *item) bool {
	high := "" // by volume number, then name
	for _, f := range a.Files {
		if l := strings.ToLower(f); isVolumeOf(l, strings.ToLower(a.Destination)) && (len(l) > len(high) || len(l) == len(high) && l > high) {
			high = strings.ToLower(f)
		}
	}
	return high == "" || strings.EqualFold(baseName(high), baseName(s))
}

// grade sets an item's strength and why.
func grade(i int, items []*item) {
	it := items[i]
	var why []string
	explicit := len(it.Sources) > 0 && it.listFile == ""
	linked := len(it.Linked) > 0
	var linkedKinds []string
	movedOn, listed := false, false // a later item reads its output; a listing precedes it
	for _, li := range it.Linked {
		k := items[li].Kind
		if !slices.Contains(linkedKinds, k) {
			linkedKinds = append(linkedKinds, k)
		}
		if li > i {
			movedOn = true
		}
		if li < i && isListing(items[li]) {
			listed = true
		}
	}
	switch it.Kind {
	case result.ExposureStaged:
		switch {
		case explicit:
			why = append(why, "the command names its sources and archive")
		case it.listFile != "":
			why = append(why, "the sources are in "+it.listFile+", whose content the evidence does not show")
		default:
			why = append(why, "an archive of unknown content")
		}
		if len(it.Files) > 0 {
			why = append(why, fmt.Sprintf("file events show %d archive file(s) written", len(it.Files)))
		}
		if listed {
			why = append(why, "a listing precedes it on the host")
		}
		if movedOn {
			why = append(why, "its output is moved on by a later item")
		}
		switch {
		case explicit && (len(it.Files) > 0 || movedOn):
			it.Strength = "strong"
		case explicit || linked || len(it.Files) > 0 && !it.fileOnly:
			it.Strength = "medium"
		default:
			it.Strength = "weak"
		}
	case result.ExposureExfiltrated:
		switch {
		case it.Tool == "connection" && it.SizeMin > 0:
			why = append(why, "a connection whose log gives the bytes sent")
			it.Strength = "medium"
		case it.Tool == "connection":
			why = append(why, "a connection to a storage or exfiltration destination; what was sent is not in the evidence")
			it.Strength = "weak"
			if linked {
				why = append(why, "it follows an upload command of the same program")
				it.Strength = "medium"
			}
		default:
			why = append(why, "the command uploads named files")
			it.Strength = "medium"
			if linked && slices.Contains(linkedKinds, result.ExposureStaged) || slices.Contains(linkedKinds, result.ExposureCollected) {
				why = append(why, "the files were staged or fetched by earlier items")
				it.Strength = "strong"
			}
			if it.connected {
				why = append(why, "a connection to the destination was logged")
				it.Strength = "strong"
			}
		}
	case result.ExposureCollected:
		switch {
		case isListing(it):
			why = append(why, "a listing: names read, no data moved")
			it.Strength = "weak"
			if linked {
				why = append(why, "an archive follows it on the host")
				it.Strength = "medium"
			}
		case it.Tool == "reg save":
			why = append(why, "reg writes the registry hive (or key) with credentials to a file")
			it.Strength = "medium"
		case it.Tool == "ntdsutil IFM":
			why = append(why, "ntdsutil's IFM writes a copy of the directory database and the SYSTEM and SECURITY hives")
			it.Strength = "medium"
		case it.Tool == "share access":
			why = append(why, "Security 5145: a file on a share opened over the network")
			it.Strength = "medium"
		default:
			why = append(why, "the command copies named files")
			it.Strength = "medium"
			if slices.ContainsFunc(it.Sources, func(s string) bool { return strings.Contains(strings.ToLower(s), `\harddiskvolumeshadowcopy`) }) {
				why = append(why, "read from a volume shadow copy (files in use copied)")
			}
			if !slices.ContainsFunc(it.Sources, isUNC) && !isUNC(it.Destination) {
				if len(it.Valuable) == 0 {
					why = append(why, "from a local folder to another: what the files hold is not known")
					it.Strength = "weak"
				} else {
					why = append(why, "from a local folder to another, of data marked valuable")
				}
			}
			switch {
			case slices.Contains(linkedKinds, result.ExposureStaged) || slices.Contains(linkedKinds, result.ExposureExfiltrated):
				why = append(why, "linked to staging or exfiltration")
				it.Strength = "strong"
			case linked:
				why = append(why, "linked to another copy")
			}
		}
	}
	it.Why += strings.Join(why, "; ")
}

// isListing says whether an item lists names (dir, net view,
// Get-ChildItem) rather than moving data.
func isListing(it *item) bool {
	return it.Kind == result.ExposureCollected && (it.Tool == "dir" || it.Tool == "net view" || it.Tool == "Get-ChildItem")
}

// summarise fills the operation-level fields of exp.
func summarise(exp *result.Exposure, items []*item) {
	counts := map[string]int{}
	var archives []string
	dests := map[string]bool{}
	labels := map[string]bool{}
	for _, it := range items {
		counts[it.Kind]++
		if it.Kind == result.ExposureStaged && it.Destination != "" {
			archives = append(archives, baseName(it.Destination))
		}
		if it.Kind == result.ExposureExfiltrated && it.Destination != "" {
			dests[destHost(it.Destination)] = true
			if it.SizeMin > exp.SentMin {
				exp.SentMin, exp.SentMax, exp.SizeNote = it.SizeMin, it.SizeMax, it.SizeNote
			}
		}
		for _, v := range it.Valuable {
			labels[v] = true
		}
	}
	for d := range dests {
		exp.Destinations = append(exp.Destinations, d)
	}
	slices.Sort(exp.Destinations)
	for l := range labels {
		exp.CrownJewels = append(exp.CrownJewels, l)
	}
	slices.Sort(exp.CrownJewels)
	var parts []string
	for _, k := range []string{result.ExposureCollected, result.ExposureStaged, result.ExposureExfiltrated} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	s := strings.Join(parts, ", ")
	if len(archives) > 0 {
		s += "; archives " + strings.Join(dedupe(archives), ", ")
	}
	if len(exp.Destinations) > 0 {
		s += "; sent to " + strings.Join(exp.Destinations, ", ")
	}
	if exp.SentMin > 0 {
		s += "; sent: " + exp.SizeNote
	}
	if len(exp.CrownJewels) > 0 {
		s += "; valuable: " + strings.Join(exp.CrownJewels, ", ")
	}
	exp.Summary = s
}

// destHost is the host a destination names, lower-cased, without user
// or port: a URL's, an scp target's ([user@]host:path), a host:port's; an
// rclone remote (name:path, the name without a dot) is its name and colon.
func destHost(d string) string {
	l := strings.ToLower(d)
	_, after, url := strings.Cut(l, "://")
	if url {
		l = after
	}
	l, _, _ = strings.Cut(l, "/")
	hostPort := l
	if i := strings.LastIndexByte(l, '@'); i >= 0 {
		hostPort = l[i+1:]
	}
	if strings.HasPrefix(hostPort, "[") { // [IPv6]:port
		h, _, _ := strings.Cut(hostPort[1:], "]")
		return h
	}
	h, rest, port := strings.Cut(hostPort, ":")
	if !url && port && hostPort == l && !strings.Contains(h, ".") && (rest == "" || strings.Trim(rest, "0123456789") != "") && isRemote(l) {
		return h + ":"
	}
	return h
}

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// bytesText writes n in binary units (200 MiB).
func bytesText(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	u := 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d %s", int64(f), units[u])
	}
	return fmt.Sprintf("%.1f %s", f, units[u])
}

func field(d *result.Detection, name string) string {
	for _, f := range d.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func account(d *result.Detection) string {
	if u := field(d, "User"); u != "" {
		return u
	}
	if u := field(d, "SubjectUserName"); u != "" {
		if dom := field(d, "SubjectDomainName"); dom != "" {
			return dom + `\` + u
		}
		return u
	}
	return ""
}

// fileWritten returns the file a detection's event shows written and the
// program that wrote it: Sysmon 11 (created) and 23 (deleted, archived),
// Security 4663 with WriteData or AppendData on a file.
func fileWritten(d *result.Detection) (path, image string) {
	switch {
	case d.EventID == 11, d.EventID == 23 && strings.Contains(strings.ToLower(d.Channel), "sysmon"):
		return field(d, "TargetFilename"), field(d, "Image")
	case d.EventID == 4663:
		if t := field(d, "ObjectType"); t != "" && t != "File" || !maskHas(field(d, "AccessMask"), 0x2|0x4) {
			return "", ""
		}
		return field(d, "ObjectName"), field(d, "ProcessName")
	}
	return "", ""
}

// archiveExt are the extensions of archives and split volumes.
func isArchive(p string) bool {
	l := strings.ToLower(baseName(p))
	for _, e := range []string{".rar", ".zip", ".7z", ".cab", ".tar", ".tgz", ".gz", ".bz2", ".xz"} {
		if strings.HasSuffix(l, e) {
			return true
		}
	}
	i := strings.LastIndexByte(l, '.')
	if i < 0 {
		return false
	}
	ext := l[i+1:]
	// name.r00, name.z01, name.7z.001
	return len(ext) == 3 && (ext[0] == 'r' || ext[0] == 'z') && strings.Trim(ext[1:], "0123456789") == "" ||
		len(ext) == 3 && strings.Trim(ext, "0123456789") == "" && (strings.Contains(l, ".7z.") || strings.Contains(l, ".zip."))
}

func shortHost(c string) string {
	h, _, _ := strings.Cut(c, ".")
	return h
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// programExt are the extensions of programs and scripts: a copy of one is
// a tool moved (T1570, T1105), not data collected.
var programExt = []string{".exe", ".dll", ".sys", ".bat", ".cmd", ".ps1", ".vbs", ".js", ".hta", ".jsp", ".aspx", ".php", ".msi", ".scr", ".ocx", ".cpl", ".manifest"}

// readsData says whether a 5145 access mask includes ReadData (0x1) or
// GENERIC_READ; true when the mask is not given or not read.
func readsData(mask string) bool {
	m, ok := parseMask(mask)
	return !ok || m&(0x1|0x80000000) != 0
}

// maskHas says whether an access mask (0x...) has any of bits; false
// when it is not given or not read.
func maskHas(mask string, bits uint64) bool {
	m, ok := parseMask(mask)
	return ok && m&bits != 0
}

// parseMask reads an access mask written 0x<hex>.
func parseMask(mask string) (uint64, bool) {
	var m uint64
	h, ok := strings.CutPrefix(strings.ToLower(mask), "0x")
	if !ok || h == "" || len(h) > 16 {
		return 0, false
	}
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			m = m<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			m = m<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return m, true
}

func isProgram(p string) bool {
	l := strings.ToLower(p)
	return slices.ContainsFunc(programExt, func(e string) bool { return strings.HasSuffix(l, e) })
}

// toolTransfer says whether a copy moves tools rather than data: it
// pushes named local files to another host's administrative share, or a
// source or the destination is a program or script.
func toolTransfer(a action) bool {
	if a.kind == result.ExposureStaged {
		// An archive of programs only: a tool packed for delivery (a DLL
		// into a cabinet for a UAC bypass), not data.
		return len(a.sources) > 0 && !slices.ContainsFunc(a.sources, func(s string) bool { return !isProgram(s) })
	}
	if a.kind != result.ExposureCollected || a.tool == "dir" || a.tool == "net view" || a.tool == "Get-ChildItem" {
		return false
	}
	if isProgram(a.dest) || slices.ContainsFunc(a.sources, isProgram) {
		return true
	}
	// Named local files pushed to another host's administrative share:
	// lateral tool transfer (data pushes are folders or wildcards).
	_, _, admin := adminLocal(a.dest)
	remoteSrc := slices.ContainsFunc(a.sources, isUNC)
	return admin && !remoteSrc && !a.recursive && !slices.ContainsFunc(a.sources, hasWildcard)
}
