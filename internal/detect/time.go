package detect

import (
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/sigma"
)

// The time modifiers minute, hour, day, week, month and year extract a
// number from a date and compare it with the rule's number: for equality,
// or with lt, lte, gt, gte or neq chained after them. The date is a Time
// value (in UTC) or a string beginning "YYYY-MM-DD", optionally followed by
// "THH:MM" or " HH:MM" (seconds, fraction and zone are ignored: as the
// specification says, there is no time zone handling). week is the ISO 8601
// week number (1 to 53); day is the day of the month.

// timePred compares one part of a date.
type timePred struct {
	part sigma.Modifier
	op   cmpOp
	n    float64
}

func (p *timePred) match(st *state, v event.Value, i int) bool {
	var t time.Time
	switch v.Kind() {
	case event.Time:
		t = v.Time()
	case event.String:
		var ok bool
		if t, ok = parseDate(v.Str()); !ok {
			return false
		}
	default:
		return false
	}
	var x int
	switch p.part {
	case sigma.ModMinute:
		x = t.Minute()
	case sigma.ModHour:
		x = t.Hour()
	case sigma.ModDay:
		x = t.Day()
	case sigma.ModWeek:
		_, x = t.ISOWeek()
	case sigma.ModMonth:
		x = int(t.Month())
	default:
		x = t.Year()
	}
	return p.op.compare(float64(x), p.n)
}

func (p *timePred) need() need { return anyNeed }

// parseDate reads "YYYY-MM-DD[( |T)HH:MM...]" without allocating.
func parseDate(s string) (time.Time, bool) {
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, len(s) > 0
	}
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	y, ok1 := num(s[0:4])
	mo, ok2 := num(s[5:7])
	d, ok3 := num(s[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	h, mi := 0, 0
	if len(s) >= 16 && (s[10] == 'T' || s[10] == ' ' || s[10] == 't') && s[13] == ':' {
		var ok4, ok5 bool
		h, ok4 = num(s[11:13])
		mi, ok5 = num(s[14:16])
		if !ok4 || !ok5 || h > 23 || mi > 59 {
			return time.Time{}, false
		}
	}
	return time.Date(y, time.Month(mo), d, h, mi, 0, 0, time.UTC), true
}
