package html

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Chart geometry, in SVG user units; the SVG scales to the page width.
const (
	chartWidth   = 960
	chartHeight  = 280
	plotLeft     = 56  // room for the y-axis labels
	plotRight    = 12  //
	plotTop      = 34  // room for the legend
	plotBottom   = 46  // room for two lines of x-axis labels
	maxBuckets   = 60  // at most this many bars
	maxXLabels   = 8   // at most this many x-axis labels
	barFill      = 0.8 // share of a bucket's width its bar takes
	legendSwatch = 12
	legendGap    = 130
)

// span is a bucket width the chart may use, smallest first.
type span struct {
	d    time.Duration
	name string // "hour", "5 minutes"
}

var (
	day   = 24 * time.Hour
	week  = 7 * day
	spans = []span{
		{time.Minute, "minute"},
		{2 * time.Minute, "2 minutes"},
		{5 * time.Minute, "5 minutes"},
		{10 * time.Minute, "10 minutes"},
		{15 * time.Minute, "15 minutes"},
		{30 * time.Minute, "30 minutes"},
		{time.Hour, "hour"},
		{2 * time.Hour, "2 hours"},
		{3 * time.Hour, "3 hours"},
		{6 * time.Hour, "6 hours"},
		{12 * time.Hour, "12 hours"},
		{day, "day"},
		{2 * day, "2 days"},
		{week, "week"},
		{2 * week, "2 weeks"},
		{4 * week, "4 weeks"},
	}
)

// chooseSpan returns the smallest bucket width that fits the range from..to
// into at most maxBuckets buckets; past 4 weeks, a whole number of weeks.
func chooseSpan(from, to time.Time) span {
	r := to.Sub(from)
	for _, s := range spans {
		if r/s.d < maxBuckets {
			return s
		}
	}
	n := int(r/(week*maxBuckets)) + 1
	return span{time.Duration(n) * week, fmt.Sprintf("%d weeks", n)}
}

// floor returns the start of the bucket of width d that holds t, in UTC.
// time.Truncate counts from January 1 of year 1, a Monday, so buckets of
// whole weeks start on Mondays.
func floor(t time.Time, d time.Duration) time.Time {
	return t.UTC().Truncate(d)
}

// point is one detection as the chart sees it.
type point struct {
	t     time.Time
	level int // index into levels
}

// chart is the detections-over-time chart, laid out for the template.
type chart struct {
	Width, Height int
	Span          string // "hour": what one bar covers
	From, To      string // the charted range, for the description
	Buckets       []bucket
	YTicks        []tick
	XLabels       []tick
	Legend        []legendItem
	Axis          axis
	Total         int // detections charted
}

// axis is where the plot area's axes lie.
type axis struct {
	X0, X1, Y0, Y1 float64
}

// bucket is one bar: the detections of one time bucket stacked by level.
type bucket struct {
	Start    string // "2024-05-01 10:00"
	X, W     float64
	Total    int
	Title    string // the tooltip
	Segments []segment
	Counts   []int // per level, in levels order
}

// segment is the part of a bar for one level.
type segment struct {
	Y, H  float64
	Level string
	Count int
}

// tick is an axis label; Sub is an optional second line (a date, a year).
type tick struct {
	X, Y       float64
	Label, Sub string
}

// legendItem is one level in the legend.
type legendItem struct {
	X     float64
	Level string
	Name  string
}

// newChart buckets points over from..to. It returns nil when there is
// nothing to chart.
func newChart(points []point, from, to time.Time) *chart {
	if len(points) == 0 {
		return nil
	}
	sp := chooseSpan(from, to)
	start := floor(from, sp.d)
	n := int(to.Sub(start)/sp.d) + 1
	counts := make([][]int, n)
	for i := range counts {
		counts[i] = make([]int, len(levels))
	}
	for _, p := range points {
		i := int(p.t.Sub(start) / sp.d)
		if i < 0 || i >= n { // outside from..to: the caller's range is wrong
			continue
		}
		counts[i][p.level]++
	}

	c := &chart{
		Width:  chartWidth,
		Height: chartHeight,
		Span:   sp.name,
		From:   from.UTC().Format(timeLayout),
		To:     to.UTC().Format(timeLayout),
		Total:  len(points),
	}
	x0, x1 := float64(plotLeft), float64(chartWidth-plotRight)
	y0, y1 := float64(chartHeight-plotBottom), float64(plotTop)
	c.Axis = axis{X0: x0, X1: x1, Y0: y0, Y1: y1}

	peak := 0
	for _, cs := range counts {
		peak = max(peak, sum(cs))
	}
	top, step := niceScale(peak)
	for v := 0; v <= top; v += step {
		c.YTicks = append(c.YTicks, tick{X: x0 - 6, Y: y0 - (y0-y1)*float64(v)/float64(top), Label: strconv.Itoa(v)})
	}

	slot := (x1 - x0) / float64(n)
	for i, cs := range counts {
		bs := start.Add(time.Duration(i) * sp.d)
		b := bucket{
			Start:  bs.Format(bucketLayout(sp.d)),
			X:      x0 + slot*float64(i) + slot*(1-barFill)/2,
			W:      slot * barFill,
			Total:  sum(cs),
			Counts: cs,
		}
		b.Title = bucketTitle(bs, sp.d, cs)
		y := y0
		for l, k := range cs {
			if k == 0 {
				continue
			}
			h := (y0 - y1) * float64(k) / float64(top)
			y -= h
			b.Segments = append(b.Segments, segment{Y: y, H: h, Level: levels[l].Name, Count: k})
		}
		c.Buckets = append(c.Buckets, b)

	}
	c.XLabels = xLabels(start, sp.d, n, x0, slot, y0+16)

	for i, l := range levels {
		c.Legend = append(c.Legend, legendItem{X: x0 + float64(i*legendGap), Level: l.Name, Name: l.Title})
	}
	return c
}

// xLabels places the labels of the x-axis: on buckets that start on a
// round time (every hour, every 6 hours, every Monday) at most maxXLabels
// apart, or, when that leaves fewer than two, on every so many buckets.
// A label's second line (the date, the year) is shown when it changes.
func xLabels(start time.Time, d time.Duration, n int, x0, slot, y float64) []tick {
	every := (n + maxXLabels - 1) / maxXLabels
	round := time.Duration(every) * d
	for _, s := range spans {
		if s.d >= round && s.d%d == 0 {
			round = s.d
			break
		}
	}
	var at []int
	for i := range n {
		if bs := start.Add(time.Duration(i) * d); floor(bs, round).Equal(bs) {
			at = append(at, i)
		}
	}
	if len(at) < 2 {
		at = at[:0]
		for i := 0; i < n; i += every {
			at = append(at, i)
		}
	}
	ticks := make([]tick, 0, len(at))
	prevSub := ""
	for _, i := range at {
		label, sub := xLabel(start.Add(time.Duration(i)*d), round)
		if sub == prevSub {
			sub = ""
		} else {
			prevSub = sub
		}
		ticks = append(ticks, tick{X: x0 + slot*(float64(i)+0.5), Y: y, Label: label, Sub: sub})
	}
	return ticks
}

// niceScale returns the top of the y-axis for a peak and the step between
// its ticks: 1, 2 or 5 times a power of ten, with at most 5 steps.
func niceScale(peak int) (top, step int) {
	if peak <= 0 {
		return 1, 1
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			step = m * p
			if (peak+step-1)/step <= 5 {
				return (peak + step - 1) / step * step, step
			}
		}
	}
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// timeLayout is how the report writes instants: UTC, to the second.
const timeLayout = "2006-01-02 15:04:05 UTC"

// bucketLayout is how a bucket's start is written for a bucket width d.
func bucketLayout(d time.Duration) string {
	if d < day {
		return "2006-01-02 15:04"
	}
	return "2006-01-02"
}

// xLabel returns the axis label of a bucket start and its second line,
// for labels d apart: the time and its date under a day apart, the date
// and its year otherwise.
func xLabel(t time.Time, d time.Duration) (label, sub string) {
	if d < day {
		return t.Format("15:04"), t.Format("Jan 2")
	}
	return t.Format("Jan 2"), t.Format("2006")
}

// bucketTitle is a bar's tooltip: its time range and counts by level.
func bucketTitle(start time.Time, d time.Duration, counts []int) string {
	var b strings.Builder
	layout := bucketLayout(d)
	end := start.Add(d)
	if d < day {
		if end.YearDay() == start.YearDay() {
			fmt.Fprintf(&b, "%s to %s UTC", start.Format(layout), end.Format("15:04"))
		} else {
			fmt.Fprintf(&b, "%s to %s UTC", start.Format(layout), end.Format(layout))
		}
	} else if d == day {
		fmt.Fprintf(&b, "%s UTC", start.Format(layout))
	} else {
		fmt.Fprintf(&b, "%s to %s UTC", start.Format(layout), end.Add(-day).Format(layout))
	}
	fmt.Fprintf(&b, ": %s", count(sum(counts), "detection"))
	var parts []string
	for l, k := range counts {
		if k > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k, levels[l].Name))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	}
	return b.String()
}
