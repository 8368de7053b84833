// Command attackgen converts an ATT&CK STIX 2.0 or 2.1 bundle into the
// compact data file embedded in package attack:
//
//	go run ./cmd/attackgen -in enterprise-attack.json -out data/enterprise-attack.bin
//
// It is run by `go generate` in internal/attack, from the bundle in
// ../shared. The output is deterministic for a given bundle.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/spoor-hunt/spoor/internal/attack"
)

func main() {
	in := flag.String("in", "", "STIX bundle to read")
	out := flag.String("out", "", "compact data file to write (see attack.KB.Encode)")
	flag.Parse()
	if *in == "" || *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: attackgen -in BUNDLE.json -out DATA.bin")
		os.Exit(2)
	}
	if err := run(*in, *out); err != nil {
		fmt.Fprintf(os.Stderr, "attackgen: %v\n", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	kb, err := attack.LoadBundle(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	var buf bytes.Buffer
	if err := kb.Encode(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "attackgen: %s: %d tactics, %d techniques, %d groups, %d software, %d campaigns, %d revoked; %d bytes\n",
		out, len(kb.Tactics), len(kb.Techniques), len(kb.Groups), len(kb.Software), len(kb.Campaigns), len(kb.Revoked), buf.Len())
	return nil
}
