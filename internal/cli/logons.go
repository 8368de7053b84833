package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/logons"
	"github.com/spoor-hunt/spoor/internal/source"
	"github.com/spoor-hunt/spoor/internal/termsafe"
)

func newLogons(env Env) *cobra.Command {
	var f analyseFlags
	var opts logons.Options
	cmd := &cobra.Command{
		Use:   "logons PATH...",
		Short: "Summarise logons: who, where from, how, and what is unusual",
		Long: `Logons summarises the logons in the evidence:

  successful (4624) and failed (4625) logons by computer, account, logon type,
  source host and address, with counts, first and last times and, for
  failures, the reasons Windows gives;
  logons with explicit credentials (4648): who used whose credentials
  against which server;
  RDP sessions: 4624 type 10, TerminalServices-LocalSessionManager 21
  (logon), 24 (disconnect), 25 (reconnect) and RemoteConnectionManager 1149
  (authentication), where the logs have them;
  flags, each saying why: an account's first logon from a source it did not
  use during the baseline (--baseline from the first logon seen), machine
  and service accounts logging on interactively, a success after many
  failures from one source, one source failing as many accounts (spraying),
  one account using the credentials of many (4648).

With --json, one JSON object per line, each with a "type": logon, explicit,
rdp or flag.`,
		Example: `  spoor logons Security.evtx
  spoor logons --json ./collection/ | jq -c 'select(.type == "flag")'`,
		Args: needPaths("logons"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return analyse(cmd, env, f, args, logons.NewCollector, func(w io.Writer, cs []*logons.Collector, _ *source.Summary) error {
				rep := logons.Summarize(opts, cs...)
				if f.json {
					return writeLogonsJSON(w, rep)
				}
				writeLogons(w, rep)
				return nil
			})
		},
	}
	addAnalyseFlags(cmd, &f)
	cmd.Flags().DurationVar(&opts.Baseline, "baseline", 7*24*time.Hour, "how long from the first logon seen each account's sources are learnt")
	cmd.Flags().IntVar(&opts.Failures, "failures", 5, "failed logons (or accounts tried by one source) that make a flag")
	return cmd
}

func writeLogonsJSON(w io.Writer, rep *logons.Report) error {
	enc := json.NewEncoder(w)
	return errors.Join(encodeEach(enc, rep.Logons), encodeEach(enc, rep.Explicit), encodeEach(enc, rep.RDP), encodeEach(enc, rep.Flags))
}

// encodeEach writes each item of items as a JSON line; it stops at the
// first error.
func encodeEach[T any](enc *json.Encoder, items []T) error {
	for i := range items {
		if err := enc.Encode(&items[i]); err != nil {
			return err
		}
	}
	return nil
}

// writeLogons writes the report as tables: logons, explicit credentials,
// RDP, then the flags with their reasons.
func writeLogons(w io.Writer, rep *logons.Report) {
	w = termsafe.NewWriter(w) // names and messages come from the evidence
	const layout = "2006-01-02 15:04:05Z"
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(layout)
	}
	section := func(title string, n int) bool {
		fmt.Fprintf(w, "%s (%d)\n", title, n)
		if n == 0 {
			fmt.Fprintln(w, "  none")
		}
		return n > 0
	}
	if section("Logons", len(rep.Logons)) {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  COMPUTER\tOUTCOME\tACCOUNT\tTYPE\tSOURCE HOST\tSOURCE IP\tCOUNT\tFIRST\tLAST\tREASONS")
		for _, l := range rep.Logons {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d %s\t%s\t%s\t%d\t%s\t%s\t%s\n", orDash(l.Computer), l.Outcome, orDash(l.Account),
				l.LogonType, l.TypeName, hostList(l), orDash(l.SourceIP), l.Count, ts(l.First), ts(l.Last), strings.Join(l.Reasons, "; "))
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	if section("Explicit credentials (4648)", len(rep.Explicit)) {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  COMPUTER\tSUBJECT\tCREDENTIALS OF\tTARGET SERVER\tIP\tPROCESS\tCOUNT\tFIRST\tLAST")
		for _, x := range rep.Explicit {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", orDash(x.Computer), orDash(x.Subject), orDash(x.Account),
				orDash(x.TargetServer), orDash(x.SourceIP), orDash(x.Process), x.Count, ts(x.First), ts(x.Last))
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	if section("RDP", len(rep.RDP)) {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  COMPUTER\tACCOUNT\tSOURCE IP\tAUTH (1149)\tLOGONS (21, 4624/10)\tRECONNECTS (25)\tDISCONNECTS (24)\tFIRST\tLAST")
		for _, r := range rep.RDP {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", orDash(r.Computer), orDash(r.Account), orDash(r.SourceIP),
				r.Authenticated, r.Logons, r.Reconnects, r.Disconnects, ts(r.First), ts(r.Last))
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	if section("Flags", len(rep.Flags)) {
		for _, fl := range rep.Flags {
			fmt.Fprintf(w, "  %s  %s  %s\n      %s\n", ts(fl.Time), fl.Kind, orDash(fl.Computer), fl.Reason)
		}
	}
}

// hostList renders a row's source host names: the first few and how many.
func hostList(l logons.Logon) string {
	switch n := l.SourceHostCount; {
	case n == 0:
		return "-"
	case n <= 2:
		return strings.Join(l.SourceHosts, ",")
	case l.SourceHostsMore:
		return fmt.Sprintf("%s,... (%d+ names)", l.SourceHosts[0], n)
	default:
		return fmt.Sprintf("%s,... (%d names)", l.SourceHosts[0], n)
	}
}
