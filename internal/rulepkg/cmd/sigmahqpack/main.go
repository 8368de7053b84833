// Command sigmahqpack packs the SigmaHQ rules spoor embeds (package
// rules/sigmahq) from a checkout of the SigmaHQ repository:
//
//	go run ./internal/rulepkg/cmd/sigmahqpack -src ../shared/datasets/sigma -commit 8eaafff1 -out rules/sigmahq
//
// It writes OUT/sigmahq.zip (the rule files, unchanged; see rulepkg.Pack),
// OUT/VERSION (one line: the package's date and the commit) and
// OUT/LICENSE (the checkout's licence, with the Detection Rule License's
// terms of attribution). It is run by `go generate` in rules/sigmahq. The
// output is deterministic for a given checkout.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spoor-hunt/spoor/internal/rulepkg"
)

func main() {
	src := flag.String("src", "", "SigmaHQ checkout to read")
	commit := flag.String("commit", "", "the checkout's commit, for the version line")
	out := flag.String("out", "", "folder to write sigmahq.zip, VERSION and LICENSE to")
	flag.Parse()
	if *src == "" || *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: sigmahqpack -src SIGMA-CHECKOUT [-commit ID] -out FOLDER")
		os.Exit(2)
	}
	if err := run(*src, *commit, *out); err != nil {
		fmt.Fprintf(os.Stderr, "sigmahqpack: %v\n", err)
		os.Exit(1)
	}
}

func run(src, commit, out string) error {
	var zip bytes.Buffer
	info, err := rulepkg.Pack(&zip, src)
	if err != nil {
		return err
	}
	licence, err := os.ReadFile(filepath.Join(src, "LICENSE"))
	if err != nil {
		return err
	}
	version := rulepkg.PackVersion(info.Newest, commit)
	files := []struct {
		name string
		data []byte
	}{
		{"sigmahq.zip", zip.Bytes()},
		{"VERSION", []byte(version + "\n")},
		{"LICENSE", append([]byte(rulepkg.Attribution+"\n\n"), licence...)},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(out, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "sigmahqpack: %s: %d rule files (%d of other products, %d with placeholders left out), version %s; %d bytes\n",
		filepath.Join(out, "sigmahq.zip"), info.Files, info.Other, info.Placeholder, version, zip.Len())
	return nil
}
