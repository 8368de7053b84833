package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/digest"
	"github.com/spoor-hunt/spoor/internal/gaps"
	"github.com/spoor-hunt/spoor/internal/source"
	"github.com/spoor-hunt/spoor/internal/termsafe"
)

func newGaps(env Env) *cobra.Command {
	var f analyseFlags
	cmd := &cobra.Command{
		Use:   "gaps PATH...",
		Short: "Find where event logs were tampered with or lost events",
		Long: `Gaps looks for evidence that event logs were edited, cleared, stopped or lost
events, log by log:

  records-removed   record numbers missing inside an EVTX file: log editing
                    tools cut records out of a chunk and recompute its
                    checksums, leaving the chunk valid; each finding gives the
                    missing records, the time window around them and the chunk
  time-backwards    a record dated well before the record written before it
  log-cleared       Security 1102, System 104
  logging-stopped   the EventLog service stopped (1100, 6006, 7036) with no
                    startup of Windows after it
  logging-disabled  the EventLog service set to disabled (7040)
  events-lost       Security 1101 (events dropped), 1104 (log full)
  silence           no event for far longer than the log's normal gaps, with
                    no shutdown to explain it
  filtered-export   a file whose records follow each other while their
                    EventRecordIDs skip: a filtered export or a collector's
                    selection, not the whole log

A file may hold several logs (a collector's export: many computers and
channels); each is followed on its own, by its EventRecordIDs.

Each finding has a confidence (high, medium, low) and says what it means.
spoor hunt reports the tampering findings (records removed, logging stopped
or disabled, at medium confidence or more) as detections.`,
		Example: `  spoor gaps Security.evtx
  spoor gaps --json ./collection/ | jq -c 'select(.confidence == "high")'`,
		Args: needPaths("gaps"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return analyse(cmd, env, f, args, gaps.New, func(w io.Writer, as []*gaps.Analyzer, sum *source.Summary) error {
				found := gaps.Findings(gaps.Options{Chunks: gaps.FileChunks, Damaged: digest.Damaged(sum)}, as...)
				if f.json {
					return encodeEach(json.NewEncoder(w), found)
				}
				writeGaps(w, found)
				return nil
			})
		},
	}
	addAnalyseFlags(cmd, &f)
	return cmd
}

// writeGaps writes the findings as a table, a log (source, channel and
// computer) at a time, each finding's meaning under it.
func writeGaps(w io.Writer, found []gaps.Finding) {
	w = termsafe.NewWriter(w) // names and messages come from the evidence
	if len(found) == 0 {
		fmt.Fprintln(w, "No evidence of tampering or loss found.")
		return
	}
	var log [3]string // source, channel, computer
	for i, f := range found {
		if this := [3]string{f.Source, f.Channel, f.Computer}; i == 0 || this != log {
			log = this
			fmt.Fprintf(w, "\n%s (%s, %s)\n", f.Source, orDash(f.Channel), orDash(f.Computer))
		}
		records := ""
		switch {
		case f.FirstRecord == 0:
		case f.FirstRecord == f.LastRecord:
			records = fmt.Sprintf("record %d", f.FirstRecord)
		default:
			records = fmt.Sprintf("records %d-%d", f.FirstRecord, f.LastRecord)
		}
		line := strings.Join([]string{strings.ToUpper(string(f.Confidence)), string(f.Kind), window(f.From, f.To), records, f.Technique}, "  ")
		fmt.Fprintf(w, "  %s\n", strings.TrimRight(line, " "))
		fmt.Fprintf(w, "      %s\n", f.Meaning)
	}
}

// window renders a finding's time window.
func window(from, to time.Time) string {
	const layout = "2006-01-02 15:04:05Z"
	switch {
	case from.IsZero() && to.IsZero():
		return "-"
	case from.Equal(to) || to.IsZero():
		return from.UTC().Format(layout)
	}
	return from.UTC().Format(layout) + " .. " + to.UTC().Format(layout)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
