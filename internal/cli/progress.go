package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spoor-hunt/spoor/internal/source"
)

// progressInterval is how often the progress line is redrawn.
const progressInterval = 200 * time.Millisecond

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\x1b[K"

// progressDisplay redraws one progress line on a terminal until stopped.
type progressDisplay struct {
	w     io.Writer
	p     *source.Progress
	start time.Time
	done  chan struct{}
	ended chan struct{}
}

// startProgress shows the progress of p on w, a terminal, ~5 times a second.
func startProgress(w io.Writer, p *source.Progress) *progressDisplay {
	d := &progressDisplay{w: w, p: p, start: time.Now(), done: make(chan struct{}), ended: make(chan struct{})}
	go d.loop()
	return d
}

func (d *progressDisplay) loop() {
	defer close(d.ended)
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	var line []byte
	for {
		select {
		case <-d.done:
			io.WriteString(d.w, clearLine)
			return
		case now := <-t.C:
			line = append(line[:0], clearLine...)
			line = appendProgress(line, d.p.Snapshot(), now.Sub(d.start))
			d.w.Write(line)
		}
	}
}

// stop clears the progress line. It may be called on a nil display.
func (d *progressDisplay) stop() {
	if d == nil {
		return
	}
	close(d.done)
	<-d.ended
}

// appendProgress renders s, elapsed after the start, as one short line:
// files done/total, MB done/total, events per second, time left.
func appendProgress(b []byte, s source.Snapshot, elapsed time.Duration) []byte {
	b = fmt.Appendf(b, "spoor: %d/%d files  %s/%s MB  %s events (%s/s)",
		s.FilesDone, s.FilesTotal, mb(s.BytesDone), mb(s.BytesTotal),
		count(s.Events), count(int64(rate(s.Events, elapsed))))
	if bps := rate(s.BytesDone, elapsed); bps > 0 && s.BytesTotal > s.BytesDone {
		left := time.Duration(float64(s.BytesTotal-s.BytesDone) / bps * float64(time.Second))
		b = fmt.Appendf(b, "  ETA %s", clock(left))
	}
	return b
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// mb renders a byte count in megabytes (10^6) with one decimal.
func mb(n int64) string { return fmt.Sprintf("%.1f", float64(n)/1e6) }

// count renders a count briefly: 950, 12.3k, 4.5M.
func count(n int64) string {
	switch {
	case n < 10_000:
		return fmt.Sprint(n)
	case n < 1_000_000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1fM", float64(n)/1e6)
}

// clock renders a duration as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
