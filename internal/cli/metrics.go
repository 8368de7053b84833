package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/spoor-hunt/spoor/internal/metrics"
	"github.com/spoor-hunt/spoor/internal/report"
	"github.com/spoor-hunt/spoor/internal/source"
	"github.com/spoor-hunt/spoor/internal/termsafe"
)

// metricsFlags are the flags of `spoor metrics`.
type metricsFlags struct {
	per      string
	top      int
	json     bool
	csv      bool
	evidence evidenceFlags
}

func newMetrics(env Env) *cobra.Command {
	var f metricsFlags
	cmd := &cobra.Command{
		Use:   "metrics PATH...",
		Short: "What the logs hold: events by channel, ID, computer and time, and what is missing",
		Long: `Metrics reads event logs as spoor dump does (EVTX, JSON, folders, archives,
"-" for the standard input) and tells what they hold, before a hunt:

  - events by channel, by provider, and by event ID (with the event's name
    for the common IDs of Security, Sysmon, System, PowerShell, Task
    Scheduler, Terminal Services, WMI, Defender, BITS and Application);
  - by computer, with the first and last event of each computer and of
    each of its channels (a log that starts late was cleared or rolled
    over; one that ends early stopped being written or collected);
  - over time, per hour or per day (--per; by default hours for up to
    three days of events, else days): a histogram on the terminal, where
    runs of empty buckets (silences) are shown as one line;
  - what a hunter would want that the logs do not show, computer by
    computer, with the audit setting or policy that would give it: no
    Security log, no Sysmon, no process-creation auditing (4688), no
    command line in 4688, no logon auditing (4624), no PowerShell
    script-block logging (4104). "Not seen" is what the evidence says: a
    setting may be on with nothing logged yet, or its log not collected.

Times are UTC. --json prints JSON lines, one object a row, each with a
"kind": summary, channel, provider, event_id, computer, computer_channel,
time, missing. --csv prints the same rows as CSV under one header. On a
terminal, progress is shown on stderr; the read summary goes to stderr.

Exit status: 0 when events were read; 1 when nothing could be read or a
PATH given could not be; 2 for a bad command line.`,
		Example: `  # What a triage collection holds
  spoor metrics C:\Triage\Logs\

  # Events per hour, as CSV for a spreadsheet
  spoor metrics --per hour --csv Security.evtx > security-metrics.csv

  # The computers without Sysmon, with jq
  spoor metrics --json logs/ | jq -r 'select(.kind=="missing" and .what=="no Sysmon") | .computers[]'`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{errors.New("metrics needs at least one PATH (file, folder or archive)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMetrics(cmd.Context(), quietEnv(env, cmd, f.evidence.quiet), f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.per, "per", "", "timeline buckets: `hour` or day (default: hours for up to three days of events, else days)")
	fl.IntVar(&f.top, "top", 25, "show at most `N` rows of each table on the terminal (0: all; JSON and CSV have all)")
	fl.BoolVar(&f.json, "json", false, "print JSON lines, one object a row")
	fl.BoolVar(&f.csv, "csv", false, "print CSV, one row a count")
	f.evidence.add(fl)
	return cmd
}

func runMetrics(ctx context.Context, env Env, f metricsFlags, paths []string) error {
	var opts metrics.Options
	switch strings.ToLower(f.per) {
	case "":
	case "hour", "hours", "h":
		opts.Per = metrics.PerHour
	case "day", "days", "d":
		opts.Per = metrics.PerDay
	default:
		return &usageError{fmt.Errorf("--per %q: want hour or day", f.per)}
	}
	switch {
	case f.json && f.csv:
		return &usageError{errors.New("--json and --csv contradict each other: choose one output")}
	case f.top < 0:
		return &usageError{fmt.Errorf("--top must be 0 (all) or more, not %d", f.top)}
	}
	var prog source.Progress
	var err error
	if opts.Source, err = f.evidence.options(env, &prog); err != nil {
		return err
	}
	pd := f.evidence.progress(env, &prog)
	res, sum, runErr := metrics.Run(ctx, paths, opts)
	pd.stop()
	// The read summary goes after the tables, as dump's and search's do;
	// a run that read nothing says why and writes no tables.
	if readFailed(sum, runErr) {
		f.evidence.summary(env, sum, runErr)
		return readError(ctx, &prog, sum, runErr, nil, "metrics")
	}
	bw := bufio.NewWriterSize(env.Stdout, outputBuffer)
	switch {
	case f.json:
		err = writeMetricsJSON(bw, res)
	case f.csv:
		err = writeMetricsCSV(bw, res)
	default:
		writeMetricsTable(bw, res, f.top)
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	f.evidence.summary(env, sum, nil)
	if err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return readError(ctx, &prog, sum, nil, nil, "metrics")
}

// metricsRow is one JSON line or CSV row of spoor metrics.
type metricsRow struct {
	Kind      string    `json:"kind"`
	Computer  *string   `json:"computer,omitempty"`
	Channel   *string   `json:"channel,omitempty"`
	Provider  *string   `json:"provider,omitempty"`
	EventID   *int64    `json:"event_id,omitempty"`
	Name      string    `json:"name,omitempty"`
	Start     time.Time `json:"start,omitzero"`
	Per       string    `json:"per,omitempty"`
	Events    int64     `json:"events"`
	NoTime    int64     `json:"no_time,omitempty"`
	First     time.Time `json:"first,omitzero"`
	Last      time.Time `json:"last,omitzero"`
	What      string    `json:"what,omitempty"`
	Setting   string    `json:"setting,omitempty"`
	Computers []string  `json:"computers,omitempty"`
	Of        int       `json:"of,omitempty"`
}

// metricsRows lists the rows of r in the order of the table.
func metricsRows(r *metrics.Result) []metricsRow {
	rows := []metricsRow{{Kind: "summary", Events: r.Events, NoTime: r.NoTime, First: r.First, Last: r.Last, Per: r.Timeline.Per}}
	for _, s := range r.Channels {
		rows = append(rows, metricsRow{Kind: "channel", Channel: &s.Channel, Events: s.Events, First: s.First, Last: s.Last})
	}
	for _, s := range r.Providers {
		rows = append(rows, metricsRow{Kind: "provider", Provider: &s.Provider, Events: s.Events, First: s.First, Last: s.Last})
	}
	for _, e := range r.EventIDs {
		rows = append(rows, metricsRow{Kind: "event_id", Channel: &e.Channel, Provider: &e.Provider, EventID: &e.EventID, Name: e.Name, Events: e.Events})
	}
	for _, s := range r.Computers {
		rows = append(rows, metricsRow{Kind: "computer", Computer: &s.Computer, Events: s.Events, First: s.First, Last: s.Last})
	}
	for _, s := range r.ComputerChannels {
		rows = append(rows, metricsRow{Kind: "computer_channel", Computer: &s.Computer, Channel: &s.Channel, Events: s.Events, First: s.First, Last: s.Last})
	}
	for _, b := range r.Timeline.Buckets {
		rows = append(rows, metricsRow{Kind: "time", Start: b.Start, Per: r.Timeline.Per, Events: b.Events})
	}
	for _, m := range r.Missing {
		rows = append(rows, metricsRow{Kind: "missing", What: m.What, Setting: m.Setting, Computers: m.Computers, Of: m.Of, Events: int64(len(m.Computers))})
	}
	return rows
}

func writeMetricsJSON(w io.Writer, r *metrics.Result) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, row := range metricsRows(r) {
		if err := enc.Encode(row); err != nil {
			return err
		}
	}
	return nil
}

// metricsColumns are the columns of metrics --csv.
var metricsColumns = []string{"kind", "computer", "channel", "provider", "event_id", "name", "start", "per", "events", "first", "last", "what", "setting", "computers"}

func writeMetricsCSV(w io.Writer, r *metrics.Result) error {
	cw := csv.NewWriter(w)
	cw.Write(metricsColumns)
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return report.CSVCell(*p)
	}
	tm := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.RFC3339)
	}
	for _, row := range metricsRows(r) {
		id := ""
		if row.EventID != nil {
			id = strconv.FormatInt(*row.EventID, 10)
		}
		cw.Write([]string{row.Kind, str(row.Computer), str(row.Channel), str(row.Provider), id, row.Name,
			tm(row.Start), row.Per, strconv.FormatInt(row.Events, 10), tm(row.First), tm(row.Last),
			row.What, row.Setting, report.CSVCell(strings.Join(row.Computers, "; "))})
	}
	cw.Flush()
	return cw.Error()
}

// writeMetricsTable writes r for a person; each table shows at most top
// rows (0: all).
func writeMetricsTable(w io.Writer, r *metrics.Result, top int) {
	w = termsafe.NewWriter(w) // names and messages come from the evidence
	tm := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Format(time.DateTime)
	}
	name := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return oneLine(s, 60)
	}
	fmt.Fprintf(w, "%s events", thousands(int(r.Events)))
	if !r.First.IsZero() {
		fmt.Fprintf(w, " from %s to %s UTC", tm(r.First), tm(r.Last))
	}
	fmt.Fprintf(w, ", %s, %s", plural(len(r.Computers), "computer"), plural(len(r.Channels), "channel"))
	if r.NoTime > 0 {
		fmt.Fprintf(w, "; %s without a time", plural64(r.NoTime, "event"))
	}
	fmt.Fprintln(w)

	section := func(title string, n int, header string, row func(tw io.Writer, i int)) {
		fmt.Fprintf(w, "\n%s\n", title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  %s\n", header)
		shown := n
		if top > 0 {
			shown = min(n, top)
		}
		for i := range shown {
			io.WriteString(tw, "  ")
			row(tw, i)
		}
		tw.Flush()
		if shown < n {
			fmt.Fprintf(w, "  and %d more (--top 0 shows all)\n", n-shown)
		}
	}
	section("CHANNELS", len(r.Channels), "CHANNEL\tEVENTS\tFIRST\tLAST", func(tw io.Writer, i int) {
		s := r.Channels[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name(s.Channel), thousands(int(s.Events)), tm(s.First), tm(s.Last))
	})
	section("PROVIDERS", len(r.Providers), "PROVIDER\tEVENTS\tFIRST\tLAST", func(tw io.Writer, i int) {
		s := r.Providers[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name(s.Provider), thousands(int(s.Events)), tm(s.First), tm(s.Last))
	})
	section("EVENT IDS", len(r.EventIDs), "CHANNEL\tEID\tEVENT\tEVENTS", func(tw io.Writer, i int) {
		e := r.EventIDs[i]
		id := strconv.FormatInt(e.EventID, 10)
		if e.EventID < 0 {
			id = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name(e.Channel), id, e.Name, thousands(int(e.Events)))
	})
	section("COMPUTERS", len(r.Computers), "COMPUTER\tEVENTS\tFIRST\tLAST", func(tw io.Writer, i int) {
		s := r.Computers[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name(s.Computer), thousands(int(s.Events)), tm(s.First), tm(s.Last))
	})
	section("FIRST AND LAST EVENT PER COMPUTER AND CHANNEL", len(r.ComputerChannels), "COMPUTER\tCHANNEL\tEVENTS\tFIRST\tLAST", func(tw io.Writer, i int) {
		s := r.ComputerChannels[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name(s.Computer), name(s.Channel), thousands(int(s.Events)), tm(s.First), tm(s.Last))
	})
	writeHistogram(w, r.Timeline)
	if len(r.Missing) > 0 {
		fmt.Fprintf(w, "\nMISSING FOR A HUNTER (not seen in the logs read)\n")
		for _, m := range r.Missing {
			hosts := make([]string, 0, 3)
			for _, h := range m.Computers[:min(len(m.Computers), 3)] {
				hosts = append(hosts, name(h))
			}
			list := strings.Join(hosts, ", ")
			if n := len(m.Computers) - len(hosts); n > 0 {
				list += fmt.Sprintf(" and %d more", n)
			}
			fmt.Fprintf(w, "  %s: %d of %d computers (%s)\n    to get it: %s\n", m.What, len(m.Computers), m.Of, list, m.Setting)
		}
	}
}

// histogramWidth is the longest bar of the terminal histogram.
const histogramWidth = 50

// writeHistogram draws the timeline, one bar a bucket; a run of three or
// more empty buckets is one line saying how long the silence was.
func writeHistogram(w io.Writer, tl metrics.Timeline) {
	if len(tl.Buckets) == 0 {
		return
	}
	step, layout := time.Hour, "2006-01-02 15:00"
	if tl.Per == "day" {
		step, layout = 24*time.Hour, time.DateOnly
	}
	var most int64
	for _, b := range tl.Buckets {
		most = max(most, b.Events)
	}
	fmt.Fprintf(w, "\nOVER TIME (per %s, UTC)\n", tl.Per)
	for i, b := range tl.Buckets {
		if i > 0 {
			gap := int(b.Start.Sub(tl.Buckets[i-1].Start)/step) - 1
			switch {
			case gap >= 3:
				fmt.Fprintf(w, "  %*s  (%d %ss without events)\n", len(layout), "…", gap, tl.Per)
			case gap > 0:
				for k := 1; k <= gap; k++ {
					fmt.Fprintf(w, "  %s  %s\n", tl.Buckets[i-1].Start.Add(time.Duration(k)*step).Format(layout), "0")
				}
			}
		}
		bar := int((b.Events*histogramWidth + most - 1) / most)
		fmt.Fprintf(w, "  %s  %s %s\n", b.Start.Format(layout), strings.Repeat("█", bar), thousands(int(b.Events)))
	}
}
