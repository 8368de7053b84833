// Command coverage measures what a spoor binary's default rules catch and
// what they cost in noise, on the shared datasets (issue 13):
//
//	go run ./scripts/coverage [-spoor bin/spoor] [-shared ../shared] tactics [-files FILE] [-- HUNT FLAGS...]
//	go run ./scripts/coverage [-spoor bin/spoor] [-shared ../shared] noise [-list FILE] [-- HUNT FLAGS...]
//
// tactics hunts evtx-attack-samples and counts the files of its tactic
// folders (260 files in 8 folders) with a detection whose rule is tagged
// with the folder's tactic (for Defense Evasion: defense-evasion, or
// ATT&CK v19's stealth or defense-impairment, into which it was split). It
// prints a Markdown table per folder and, with -files, writes every file
// with the rules that caught it (or "missed", with the reason of
// misses.go where the file's recording was read).
//
// noise hunts security-datasets and prints the detections per million
// events at each level. With -list it also writes the noise list of the
// SigmaHQ package (rules/sigmahq/noisy.txt): the package's rules that fire
// at least -rate times per million events, or in at least -recordings of
// the recordings; run it with --noisy so that the rules already listed
// are measured too.
//
// techniques hunts each Windows recording of Security-Datasets that its
// metadata labels with ATT&CK techniques and counts those with a detection
// whose rule names a labelled technique (or its parent or sub-technique): a
// check on labels no rule here was written against.
//
// HUNT FLAGS are passed to spoor hunt (for example --no-sigmahq, or
// --rules PATH).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

func main() {
	spoor := flag.String("spoor", "bin/spoor", "the spoor binary to measure")
	shared := flag.String("shared", "", "the shared folder (default $SPOOR_SHARED, else ../shared)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: coverage [-spoor BIN] [-shared DIR] tactics [-files FILE] [-- HUNT FLAGS...]\n       coverage [-spoor BIN] [-shared DIR] noise [-list FILE] [-rate N] [-recordings N] [-- HUNT FLAGS...]\n       coverage [-spoor BIN] [-shared DIR] techniques [-files FILE] [-- HUNT FLAGS...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *shared == "" {
		*shared = os.Getenv("SPOOR_SHARED")
	}
	if *shared == "" {
		*shared = "../shared"
	}
	if flag.NArg() < 1 {
		flag.Usage()
		os.Exit(2)
	}
	var err error
	switch cmd, args := flag.Arg(0), flag.Args()[1:]; cmd {
	case "tactics":
		err = tactics(os.Stdout, *spoor, filepath.Join(*shared, "datasets", "evtx-attack-samples"), args)
	case "noise":
		err = noise(os.Stdout, *spoor, filepath.Join(*shared, "datasets", "security-datasets"), args)
	case "techniques":
		err = techniques(os.Stdout, *spoor, filepath.Join(*shared, "datasets", "security-datasets", "datasets", "atomic"), args)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "coverage: %v\n", err)
		os.Exit(1)
	}
}

// result is what coverage reads of spoor hunt --json.
type result struct {
	Rules struct {
		Loaded  int      `json:"loaded"`
		Sources []string `json:"sources"`
		Noisy   int      `json:"noisy"`
	} `json:"rules"`
	Evidence struct {
		Events int64 `json:"events"`
	} `json:"evidence"`
	Detections []struct {
		Source string `json:"source_file"`
		Rule   struct {
			ID    string   `json:"id"`
			Title string   `json:"title"`
			Level string   `json:"level"`
			Tags  []string `json:"tags"`
		} `json:"rule"`
		// Correlation holds, for a correlation's detection (which has no
		// source file of its own), the detections it is made of.
		Correlation *struct {
			Detections []struct {
				Source string `json:"source_file"`
			} `json:"detections"`
		} `json:"correlation"`
	} `json:"detections"`
}

// hunt runs spoor hunt --json over dir with the extra flags.
func hunt(spoor, dir string, flags []string) (*result, error) {
	args := append([]string{"hunt", "--json", "--no-progress", "--workers", "2"}, flags...)
	args = append(args, dir)
	cmd := exec.Command(spoor, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", spoor, strings.Join(args, " "), err, stderr.String())
	}
	var res result
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("%s: read JSON: %w", spoor, err)
	}
	return &res, nil
}

// folderTactics maps the tactic folders of evtx-attack-samples to the
// tactic tags that count for them.
var folderTactics = map[string][]string{
	"Command and Control":  {"command-and-control"},
	"Credential Access":    {"credential-access"},
	"Defense Evasion":      {"defense-evasion", "stealth", "defense-impairment"},
	"Discovery":            {"discovery"},
	"Execution":            {"execution"},
	"Lateral Movement":     {"lateral-movement"},
	"Persistence":          {"persistence"},
	"Privilege Escalation": {"privilege-escalation"},
}

// tagged reports whether tags hold attack.<one of tactics>.
func tagged(tags, tactics []string) bool {
	for _, t := range tags {
		t = strings.ReplaceAll(strings.ToLower(t), "_", "-")
		if rest, ok := strings.CutPrefix(t, "attack."); ok && slices.Contains(tactics, rest) {
			return true
		}
	}
	return false
}

func tactics(w io.Writer, spoor, dir string, args []string) error {
	fs := flag.NewFlagSet("tactics", flag.ExitOnError)
	files := fs.String("files", "", "write every file with the rules that caught it to `FILE` (Markdown)")
	fs.Parse(args)
	// Every EVTX file of a tactic folder, by path as the hunt names it.
	folderOf := map[string]string{}
	for folder := range folderTactics {
		err := filepath.WalkDir(filepath.Join(dir, folder), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".evtx") {
				folderOf[p] = folder
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	res, err := hunt(spoor, dir, fs.Args())
	if err != nil {
		return err
	}
	caught := map[string]map[string]bool{} // file → rule titles
	for _, d := range res.Detections {
		// A correlation catches the files its events came from.
		sources := []string{d.Source}
		if d.Correlation != nil {
			sources = sources[:0]
			for _, part := range d.Correlation.Detections {
				if !slices.Contains(sources, part.Source) {
					sources = append(sources, part.Source)
				}
			}
		}
		for _, src := range sources {
			folder, ok := folderOf[src]
			if !ok || !tagged(d.Rule.Tags, folderTactics[folder]) {
				continue
			}
			if caught[src] == nil {
				caught[src] = map[string]bool{}
			}
			caught[src][d.Rule.Title] = true
		}
	}
	type row struct{ files, caught int }
	rows := map[string]*row{}
	for f, folder := range folderOf {
		r := rows[folder]
		if r == nil {
			r = &row{}
			rows[folder] = r
		}
		r.files++
		if caught[f] != nil {
			r.caught++
		}
	}
	fmt.Fprintf(w, "rules: %d loaded (%s)\n\n", res.Rules.Loaded, strings.Join(res.Rules.Sources, ", "))
	fmt.Fprintln(w, "| tactic folder | files | caught | share |")
	fmt.Fprintln(w, "|---|---|---|---|")
	folders := slices.Sorted(maps.Keys(rows))
	total := row{}
	for _, f := range folders {
		r := rows[f]
		total.files += r.files
		total.caught += r.caught
		fmt.Fprintf(w, "| %s | %d | %d | %s |\n", f, r.files, r.caught, pct(r.caught, r.files))
	}
	fmt.Fprintf(w, "| **all** | **%d** | **%d** | **%s** |\n", total.files, total.caught, pct(total.caught, total.files))
	if *files == "" {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Tactic coverage of evtx-attack-samples, file by file\n\n")
	cmdline := "go run ./scripts/coverage tactics -files " + *files
	if fs.NArg() > 0 {
		cmdline += " -- " + strings.Join(fs.Args(), " ")
	}
	fmt.Fprintf(&b, "Written by `%s` (see BENCHMARKS.md, issue 13).\n", cmdline)
	fmt.Fprintf(&b, "Rules: %d loaded (%s). Each file of a tactic folder, with the rules whose detections in it are\n", res.Rules.Loaded, strings.Join(res.Rules.Sources, ", "))
	fmt.Fprintf(&b, "tagged with the folder's tactic (Defense Evasion: defense-evasion, stealth or defense-impairment), or **missed**.\n\n")
	fmt.Fprintf(&b, "Caught: %d of %d files (%s).\n\n", total.caught, total.files, pct(total.caught, total.files))
	paths := slices.Sorted(maps.Keys(folderOf))
	for _, p := range paths {
		rel, _ := filepath.Rel(dir, p)
		if c := caught[p]; c != nil {
			fmt.Fprintf(&b, "- `%s`: %s\n", filepath.ToSlash(rel), strings.Join(slices.Sorted(maps.Keys(c)), "; "))
		} else if why := missReasons[filepath.ToSlash(rel)]; why != "" {
			fmt.Fprintf(&b, "- `%s`: **missed**: %s\n", filepath.ToSlash(rel), why)
		} else {
			fmt.Fprintf(&b, "- `%s`: **missed**\n", filepath.ToSlash(rel))
		}
	}
	return os.WriteFile(*files, []byte(b.String()), 0o644)
}

func noise(w io.Writer, spoor, dir string, args []string) error {
	fs := flag.NewFlagSet("noise", flag.ExitOnError)
	list := fs.String("list", "", "write the noise list of the SigmaHQ package to `FILE`")
	rate := fs.Float64("rate", 100, "noisy from this many detections per million events")
	recordings := fs.Int("recordings", 30, "noisy from this many recordings fired on")
	background := fs.Int("background", 3, "noisy from this many detections on the written background of examples/cuckoobees")
	fs.Parse(args)
	res, err := hunt(spoor, dir, fs.Args())
	if err != nil {
		return err
	}
	perM := func(n int) string {
		return fmt.Sprintf("%.0f", float64(n)*1e6/float64(res.Evidence.Events))
	}
	levels := []string{"critical", "high", "medium", "low", "informational"}
	byLevel := map[string]int{}
	type ruleNoise struct {
		id, title, level string
		n, background    int
		recordings       map[string]bool
	}
	byRule := map[string]*ruleNoise{}
	for _, d := range res.Detections {
		byLevel[d.Rule.Level]++
		key := d.Rule.ID
		if key == "" {
			key = d.Rule.Title
		}
		rn := byRule[key]
		if rn == nil {
			rn = &ruleNoise{id: d.Rule.ID, title: d.Rule.Title, level: d.Rule.Level, recordings: map[string]bool{}}
			byRule[key] = rn
		}
		rn.n++
		rec, _, _ := strings.Cut(d.Source, "!")
		rn.recordings[rec] = true
	}
	fmt.Fprintf(w, "rules: %d loaded (%s), %d left out as noisy; %d events, %d detections\n\n",
		res.Rules.Loaded, strings.Join(res.Rules.Sources, ", "), res.Rules.Noisy, res.Evidence.Events, len(res.Detections))
	fmt.Fprintln(w, "| detections per million events | critical | high | medium | low | informational | all |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	fmt.Fprint(w, "| |")
	for _, l := range levels {
		fmt.Fprintf(w, " %s |", perM(byLevel[l]))
	}
	fmt.Fprintf(w, " %s |\n", perM(len(res.Detections)))
	if *list == "" {
		return nil
	}
	bg, bgEvents, err := backgroundNoise(spoor, fs.Args())
	if err != nil {
		return err
	}
	var noisy []*ruleNoise
	for _, rn := range byRule {
		rn.background = bg[rn.id]
		delete(bg, rn.id)
	}
	for id, n := range bg { // rules that fire on the background only
		byRule[id] = &ruleNoise{id: id, title: bgTitles[id], level: bgLevels[id], background: n, recordings: map[string]bool{}}
	}
	for _, rn := range byRule {
		if rn.background >= *background {
			noisy = append(noisy, rn)
			continue
		}
		// Breadth counts below high only: the recordings clear their logs
		// before each run, which high rules on log clearing rightly report.
		broad := len(rn.recordings) >= *recordings && rn.level != "high" && rn.level != "critical"
		if rn.id != "" && (float64(rn.n)*1e6/float64(res.Evidence.Events) >= *rate || broad) {
			noisy = append(noisy, rn)
		}
	}
	sort.Slice(noisy, func(i, j int) bool {
		if noisy[i].n != noisy[j].n {
			return noisy[i].n > noisy[j].n
		}
		return noisy[i].id < noisy[j].id
	})
	var b strings.Builder
	fmt.Fprintf(&b, "# SigmaHQ rules a default hunt leaves out as too noisy (spoor hunt --noisy keeps them).\n")
	fmt.Fprintf(&b, "# Written by: go run ./scripts/coverage noise -list rules/sigmahq/noisy.txt -- %s\n", strings.Join(fs.Args(), " "))
	fmt.Fprintf(&b, "# A rule is listed when it fires at least %g times per million events of Security-Datasets\n", *rate)
	fmt.Fprintf(&b, "# (%d events), or, below level high, in at least %d of its recordings; or at least %d times\n", res.Evidence.Events, *recordings, *background)
	fmt.Fprintf(&b, "# on the ordinary activity written around the intrusion of examples/cuckoobees (%d events). See docs/default-rules.md.\n", bgEvents)
	fmt.Fprintf(&b, "# id  Security-Datasets: detections per million events, recordings; background detections; level, title\n")
	for _, rn := range noisy {
		fmt.Fprintf(&b, "%s  # %s/M, %d recordings; %d; %s, %s\n", rn.id, perM(rn.n), len(rn.recordings), rn.background, rn.level, rn.title)
	}
	return os.WriteFile(*list, []byte(b.String()), 0o644)
}

// bgTitles and bgLevels are the titles and levels of the rules that fired
// on the background, by id.
var bgTitles, bgLevels = map[string]string{}, map[string]string{}

// backgroundNoise hunts the ordinary activity of examples/cuckoobees (its
// lines that are not the intrusion's, internal/operation/testdata/cuckoobees)
// and returns the detections of each rule id, and the events hunted.
func backgroundNoise(spoor string, flags []string) (map[string]int, int64, error) {
	tmp, err := os.MkdirTemp("", "spoor-background-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(tmp)
	logs, err := filepath.Glob(filepath.Join("examples", "cuckoobees", "*.jsonl"))
	if err != nil || len(logs) == 0 {
		return nil, 0, fmt.Errorf("no examples/cuckoobees/*.jsonl (run from the repository's root)")
	}
	for _, l := range logs {
		all, err := os.ReadFile(l)
		if err != nil {
			return nil, 0, err
		}
		attack, err := os.ReadFile(filepath.Join("internal", "operation", "testdata", "cuckoobees", filepath.Base(l)))
		if err != nil {
			return nil, 0, err
		}
		isAttack := map[string]bool{}
		for line := range strings.Lines(string(attack)) {
			isAttack[line] = true
		}
		var b strings.Builder
		for line := range strings.Lines(string(all)) {
			if !isAttack[line] {
				b.WriteString(line)
			}
		}
		if err := os.WriteFile(filepath.Join(tmp, filepath.Base(l)), []byte(b.String()), 0o644); err != nil {
			return nil, 0, err
		}
	}
	res, err := hunt(spoor, tmp, flags)
	if err != nil {
		return nil, 0, err
	}
	n := map[string]int{}
	for _, d := range res.Detections {
		n[d.Rule.ID]++
		bgTitles[d.Rule.ID], bgLevels[d.Rule.ID] = d.Rule.Title, d.Rule.Level
	}
	return n, res.Evidence.Events, nil
}

func pct(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}
