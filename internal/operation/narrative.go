package operation

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/result"
)

// steps groups an operation's detections (in time order) into steps, one
// per event, the Sysmon 1 and Security 4688 records of one process
// creation being one event, and tells each in a sentence. evidence is how
// many steps hold a detection above informational.
func (b *builder) steps(members []int) (steps []result.Step, evidence int) {
	var out []result.Step
	at := map[stepKey]int{}
	for _, i := range members {
		d := b.dets.Ref(i)
		var key stepKey
		if p := b.procs[i]; p >= 0 && isProcessCreation(&d) {
			key = stepKey{proc: p}
			if k, ok := at[key]; !ok {
				// A helper its detected parent started at once to do what
				// the parent's command says (cmd.exe /c whoami →
				// whoami.exe, net.exe → net1.exe) is the parent's step.
				if pp := b.ix.procs[p].parent; pp >= 0 && b.helper(p, pp) {
					if k, ok = at[stepKey{proc: pp}]; ok {
						at[key] = k
					}
				}
			}
		} else {
			key = stepKey{proc: -1, host: b.host[i], channel: d.Channel, record: d.RecordID, id: d.EventID, t: d.Time.UnixNano()}
		}
		if k, ok := at[key]; ok {
			out[k].Detections = append(out[k].Detections, i)
			continue
		}
		at[key] = len(out)
		out = append(out, result.Step{Time: d.Time, Host: b.host[i], Detections: []int{i}})
	}
	for k := range out {
		s := &out[k]
		s.Sentence = b.sentence(s.Detections)
		if k > 0 && !s.Time.IsZero() && !out[k-1].Time.IsZero() {
			if gap := s.Time.Sub(out[k-1].Time); gap >= DormantGap {
				s.Dormant = spanWords(gap)
				s.Sentence = "[dormant " + s.Dormant + "] " + s.Sentence
			}
		}
		tactics := map[string]bool{}
		informational := true
		for j, i := range s.Detections {
			for _, t := range b.ruleTags(i).tactics {
				tactics[t] = true
			}
			d := b.dets.Ref(i)
			informational = informational && levelRank(d.Level) == 1
			s.Detections[j] = d.Index
		}
		s.Tactics = inKillChain(tactics)
		if s.Tactics == nil {
			s.Tactics = []string{}
		}
		if !informational {
			evidence++
		}
	}
	return out, evidence
}

// spanWords says a long span in days, months or years ("16 days", "7
// months", "2 years"), rounded down.
func spanWords(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	n, unit := days, "day"
	switch {
	case days >= 730:
		n, unit = days/365, "year"
	case days >= 61:
		n, unit = int(float64(days)/30.44), "month"
	}
	if n != 1 {
		unit += "s"
	}
	return strconv.Itoa(n) + " " + unit
}

// stepKey names the event of a step: a process creation (proc), else the
// record.
type stepKey struct {
	proc          int32
	host, channel string
	record, id, t int64
}

// helperWindow is how soon after its parent a helper process starts.
const helperWindow = 2 * time.Second

// helper reports whether process p, child of pp, is a helper that carries
// out pp's command: started within helperWindow of it, its program named in
// pp's command line.
func (b *builder) helper(p, pp int32) bool {
	c, q := &b.ix.procs[p], &b.ix.procs[pp]
	if c.start.IsZero() || q.start.IsZero() || c.start.Sub(q.start) > helperWindow || c.start.Before(q.start) {
		return false
	}
	name := strings.ToLower(strings.TrimSuffix(strings.ToLower(baseName(c.image)), ".exe"))
	if name == "" {
		return false
	}
	cmd := strings.ToLower(commandArgs(q.cmd))
	if name == "net1" {
		name = "net" // net.exe hands its work to net1.exe
	}
	if strings.Contains(strings.ToLower(baseName(q.image)), name) {
		return true
	}
	return cmd != "" && strings.Contains(cmd, name)
}

func isProcessCreation(d *DetectionRef) bool {
	return (d.EventID == 1 && strings.Contains(d.Channel, "Sysmon")) || (d.EventID == 4688 && strings.EqualFold(d.Channel, "Security"))
}

// sentence tells one step: "2022-03-01 14:02 ERP01: w3wp.exe started
// cmd.exe /c whoami (Web Shell Spawns a Shell; T1505.003)". The facts come
// from the step's first detection (preferring Sysmon, which says more), the
// rule titles and techniques from all of them.
func (b *builder) sentence(dets []int) string {
	d := b.dets.Ref(dets[0])
	for _, i := range dets {
		if x := b.dets.Ref(i); strings.Contains(x.Channel, "Sysmon") {
			d = x
			break
		}
	}
	var titles, techs []string
	for _, i := range dets {
		x := b.dets.Ref(i)
		if x.Title != "" && !slices.Contains(titles, x.Title) {
			titles = append(titles, x.Title)
		}
		for _, t := range b.ruleTags(i).techniques {
			if !slices.Contains(techs, t) {
				techs = append(techs, t)
			}
		}
	}
	host := HostName(d.Host)
	var s strings.Builder
	if d.Time.IsZero() {
		s.WriteString(noTime)
	} else {
		s.WriteString(d.Time.UTC().Format("2006-01-02 15:04"))
	}
	where := host
	if c := d.Counted; where == "" && c != nil {
		where = listOf(c.hostNames(), 2)
	}
	if where != "" {
		s.WriteString(" " + where)
	}
	s.WriteString(": ")
	s.WriteString(b.fact(&d, host))
	why := strings.Join(titles, "; ")
	if len(techs) > 0 {
		if why != "" {
			why += "; "
		}
		why += strings.Join(techs, ", ")
	}
	if why != "" {
		s.WriteString(" (" + why + ")")
	}
	return s.String()
}

// fact says what an event shows, in plain words (or what a correlation
// counted).
func (b *builder) fact(d *DetectionRef, host string) string {
	if d.Counted != nil {
		return counted(d.Counted)
	}
	img := baseName(d.Image)
	if img == "" {
		img = "a process"
	}
	file := ""
	if len(d.Files) > 0 {
		file = d.Files[0]
	}
	sysmon := strings.Contains(d.Channel, "Sysmon")
	switch {
	case isProcessCreation(d):
		parent := baseName(d.ParentImage)
		if parent == "" {
			if p := b.detProc(d, host); p >= 0 {
				parent = baseName(b.ix.parentImage(p))
			}
		}
		if parent == "" {
			parent = "a process"
		}
		out := parent + " started " + img
		if c := commandArgs(d.CommandLine); c != "" {
			out += " " + excerpt(c, 120)
		}
		if tg := b.targets(d.CommandLine, host); tg != "" {
			out += " → " + tg
		}
		return out
	case sysmon && d.EventID == 11:
		return img + " wrote " + file
	case sysmon && d.EventID == 7:
		return img + " loaded " + file
	case sysmon && d.EventID == 6:
		out := "driver " + file + " loaded"
		if d.Detail != "" {
			out += " (" + d.Detail + ")"
		}
		return out
	case sysmon && d.EventID == 3:
		out := img + " connected to " + d.DestinationIP + ":" + strconv.FormatInt(d.DestinationPort, 10)
		if d.Detail != "" {
			out += " (" + d.Detail + ")"
		}
		return out
	case sysmon && (d.EventID == 12 || d.EventID == 13 || d.EventID == 14):
		return img + " set " + d.Detail
	case sysmon && (d.EventID == 8 || d.EventID == 10):
		return img + " opened " + baseName(d.Detail)
	case d.Service != "":
		out := "service " + d.Service + " installed"
		if file != "" {
			out += ", running " + file
		}
		return out
	case d.Task != "":
		out := "task " + d.Task + " created"
		if d.User != "" {
			out += " by " + d.User
		}
		if file != "" {
			out += ", running " + file
		}
		return out
	case d.EventID == 4624 || d.EventID == 4625:
		out := d.TargetUser + " logged on (type " + strconv.Itoa(d.LogonType) + ")"
		if d.SourceIP != "" {
			out += " from " + d.SourceIP
			if h := b.ix.hostOf(d.SourceIP); h != "" {
				out += " (" + h + ")"
			}
		}
		return out
	case d.EventID == 4648:
		return d.User + " used the credentials of " + d.TargetUser + " for " + d.Detail
	case d.EventID == 1102:
		return "the Security log was cleared"
	case d.EventID == 104 && strings.EqualFold(d.Channel, "System"):
		return "an event log was cleared"
	}
	if d.EventID == 0 && d.Detail != "" {
		return d.Detail // a detection without an event says what it found (a hunt's tampering findings)
	}
	if d.Image != "" {
		return img + ": event " + strconv.FormatInt(d.EventID, 10)
	}
	return d.Channel + " event " + strconv.FormatInt(d.EventID, 10)
}

// targets names the known hosts a command line aims at.
func (b *builder) targets(cmd, host string) string {
	var out []string
	for _, t := range CommandTargets(cmd) {
		h := b.ix.hostOf(t)
		if h == "" || h == host || slices.Contains(out, h) {
			continue
		}
		out = append(out, h)
	}
	return strings.Join(out, ", ")
}

// commandArgs drops the program from a command line when it is a plain
// path or name, keeping what follows it ("cmd.exe /c whoami" → "/c
// whoami"); the sentence names the program already.
func commandArgs(cmd string) string {
	cmd = strings.TrimSpace(cmd)
	args := splitArgs(cmd)
	if len(args) == 0 {
		return ""
	}
	rest := strings.TrimSpace(cmd[len(args[0]):])
	return rest
}

// excerpt cuts s to n bytes at most (on a rune boundary), with "…" when cut.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// Counted describes the detections a correlation match counted.
type Counted struct {
	// Events is how many detections it counted; Condition what held
	// ("count >= 10").
	Events    int
	Condition string
	// Hosts and Users are the computers and accounts of those detections.
	Hosts, Users []string
	// First and Last are the times of the first and last of them.
	First, Last time.Time
}

// hostNames returns the short names of c's hosts, each once.
func (c *Counted) hostNames() []string {
	var out []string
	for _, h := range c.Hosts {
		if h = HostName(h); h != "" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// operationUsers is how many accounts a correlation may name for them to
// be its operation's users: a handful are who it is about; dozens (a
// password spray's) are its targets, told in its step.
const operationUsers = 3

// addTo adds the hosts (short names) and users (but the system's, and
// only a handful) of c to an operation's; nothing when c is nil.
func (c *Counted) addTo(hosts, users map[string]bool) {
	if c == nil {
		return
	}
	for _, h := range c.hostNames() {
		hosts[h] = true
	}
	if len(c.Users) > operationUsers {
		return
	}
	for _, u := range c.Users {
		if u != "" && !systemUser(u) {
			users[u] = true
		}
	}
}

// span returns the first and last time of the members, counting what
// correlations counted; detections without a time are left out (zero
// when none has one).
func (b *builder) span(members []int) (first, last time.Time) {
	see := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	for _, i := range members {
		d := b.dets.Ref(i)
		see(d.Time)
		if c := d.Counted; c != nil {
			see(c.First)
			see(c.Last)
		}
	}
	return first, last
}

// noTime is what a sentence says for an event without a time.
const noTime = "(no time)"

// counted tells what a correlation counted: "count >= 10: 12 events on
// DC01 and FS01, accounts CORP\alice, CORP\bob, 14:02:01 to 14:05:30".
func counted(c *Counted) string {
	var s strings.Builder
	if c.Condition != "" {
		s.WriteString(c.Condition + ": ")
	}
	s.WriteString(strconv.Itoa(c.Events) + " event")
	if c.Events != 1 {
		s.WriteString("s")
	}
	if hosts := c.hostNames(); len(hosts) > 0 {
		s.WriteString(" on " + listOf(hosts, 4))
	}
	if len(c.Users) > 0 {
		s.WriteString(", account")
		if len(c.Users) > 1 {
			s.WriteString("s")
		}
		s.WriteString(" " + listOf(c.Users, 4))
	}
	switch {
	case c.First.IsZero():
	case c.Last.Equal(c.First) || c.Last.IsZero():
		s.WriteString(", at " + c.First.UTC().Format("2006-01-02 15:04:05"))
	case c.Last.UTC().Format(time.DateOnly) == c.First.UTC().Format(time.DateOnly):
		s.WriteString(", " + c.First.UTC().Format("15:04:05") + " to " + c.Last.UTC().Format("15:04:05"))
	default:
		s.WriteString(", " + c.First.UTC().Format("2006-01-02 15:04:05") + " to " + c.Last.UTC().Format("2006-01-02 15:04:05"))
	}
	return s.String()
}

// listOf writes at most n items, "a, b and c", with "and k more" past n.
func listOf(items []string, n int) string {
	if len(items) > n {
		return strings.Join(items[:n], ", ") + " and " + strconv.Itoa(len(items)-n) + " more"
	}
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
