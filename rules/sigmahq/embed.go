// Package sigmahq holds the SigmaHQ rules embedded in spoor, as data: the
// rule files of a SigmaHQ checkout that spoor can use, unchanged, in one
// zip (sigmahq.zip), with the checkout's licence and attribution (LICENSE)
// and the package's version (VERSION). They are kept apart from spoor's own
// rules (package rules) and never edited: the generator packs them anew
// from a newer checkout.
//
// noisy.txt is ours: the ids of the rules left out of a default hunt because
// they fire too often on ordinary activity, measured by
// scripts/coverage (see docs/default-rules.md).
//
// Package rulepkg reads these files (rulepkg.Embedded); nothing else should.
package sigmahq

import _ "embed"

//go:generate go run ../../internal/rulepkg/cmd/sigmahqpack -src ../../../shared/datasets/sigma -commit 8eaafff1 -out .

// Zip is the zip of the rule files, named by their path in the SigmaHQ
// repository (rules/windows/..., rules-emerging-threats/...).
//
//go:embed sigmahq.zip
var Zip string

// Version is the version line: the date of the newest rule, and the
// SigmaHQ commit packed.
//
//go:embed VERSION
var Version string

// License is the licence and attribution of the rules.
//
//go:embed LICENSE
var License string

// Noisy lists the rules a default hunt leaves out: one per line, the id
// first; "#" starts a comment.
//
//go:embed noisy.txt
var Noisy string
