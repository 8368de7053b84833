// Package logons summarises who logged on where, from where and how:
// successful and failed logons (Security 4624, 4625) by account, logon
// type, source host and address; logons with explicit credentials (4648);
// RDP sessions (4624 type 10, TerminalServices-LocalSessionManager 21, 24,
// 25, RemoteConnectionManager 1149); and the unusual combinations among
// them, each flag saying why.
//
// A Collector takes events one at a time and keeps only counts per
// distinct combination (account, type, source...), never events: memory
// grows with the combinations, not the logons.
package logons

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
)

// Outcomes of a logon.
const (
	Success = "success"
	Failure = "failure"
)

// Logon is the logons of one account of one type from one source to one
// computer, with one outcome.
type Logon struct {
	Type     string `json:"type"` // "logon"
	Computer string `json:"computer"`
	Outcome  string `json:"outcome"`
	Account  string `json:"account"`
	// LogonType is the number Windows logs, TypeName its name.
	LogonType int    `json:"logon_type"`
	TypeName  string `json:"logon_type_name"`
	// SourceIP is the source address; SourceHosts the workstation names
	// the logons gave (at most MaxHosts, sorted), SourceHostCount how many
	// distinct names there were (tools that randomise the name give many).
	SourceIP        string   `json:"source_ip,omitempty"`
	SourceHosts     []string `json:"source_hosts,omitempty"`
	SourceHostCount int      `json:"source_host_count,omitempty"`
	// SourceHostsMore: there were more names than counted (1024).
	SourceHostsMore bool      `json:"source_hosts_more,omitempty"`
	Count           int       `json:"count"`
	First           time.Time `json:"first"`
	Last            time.Time `json:"last"`
	// Reasons are a failure's reasons (4625 SubStatus, else Status),
	// named, with their counts, most frequent first.
	Reasons []string `json:"reasons,omitempty"`
}

// Explicit is the logons with explicit credentials (4648) of one subject
// with one account's credentials against one server.
type Explicit struct {
	Type     string `json:"type"` // "explicit"
	Computer string `json:"computer"`
	// Subject is the account that used the credentials, Account the
	// account they were of.
	Subject      string    `json:"subject"`
	Account      string    `json:"account"`
	TargetServer string    `json:"target_server,omitempty"`
	SourceIP     string    `json:"source_ip,omitempty"`
	Process      string    `json:"process,omitempty"`
	Count        int       `json:"count"`
	First        time.Time `json:"first"`
	Last         time.Time `json:"last"`
}

// RDP is the Remote Desktop activity of one account from one address on
// one computer. The address is as logged: a loopback address is kept, as
// it is the mark of a tunnelled session.
type RDP struct {
	Type     string `json:"type"` // "rdp"
	Computer string `json:"computer"`
	Account  string `json:"account"`
	SourceIP string `json:"source_ip,omitempty"`
	// Authenticated counts RemoteConnectionManager 1149 (network
	// authentication succeeded), Logons LocalSessionManager 21 and
	// Security 4624 type 10, Reconnects 25, Disconnects 24.
	Authenticated int       `json:"authenticated"`
	Logons        int       `json:"logons"`
	Reconnects    int       `json:"reconnects"`
	Disconnects   int       `json:"disconnects"`
	First         time.Time `json:"first"`
	Last          time.Time `json:"last"`
}

// Flag kinds.
const (
	NewSource          = "new-source"
	MachineInteractive = "machine-account-interactive"
	ServiceInteractive = "service-account-interactive"
	SuccessAfterFails  = "success-after-failures"
	BruteForce         = "password-guessing"
	Spray              = "password-spray"
	ExplicitSpray      = "explicit-credentials-spray"
	RDPTunnel          = "rdp-from-loopback"
)

// Flag is an unusual combination, with why it is one.
type Flag struct {
	Type     string    `json:"type"` // "flag"
	Kind     string    `json:"kind"`
	Time     time.Time `json:"time"`
	Computer string    `json:"computer"`
	Account  string    `json:"account,omitempty"`
	Source   string    `json:"source,omitempty"`
	Reason   string    `json:"reason"`
}

// Report is the summary of the logons of a set of logs.
type Report struct {
	Logons   []Logon    `json:"logons"`
	Explicit []Explicit `json:"explicit"`
	RDP      []RDP      `json:"rdp"`
	Flags    []Flag     `json:"flags"`
}

// Options tunes the flags. The zero value is the default.
type Options struct {
	// Baseline is how long from the first logon seen the sources of each
	// account are learnt; an account's successful logon from a source it
	// did not use then is flagged (NewSource). 0 means 7 days.
	Baseline time.Duration
	// Failures is how many failed logons before a success from the same
	// source are flagged, and how many accounts one source tries for a
	// spray; 0 means 5.
	Failures int
}

type logonKey struct {
	computer, outcome, account string
	logonType                  int
	host, ip                   string
}

type logonAcc struct {
	count       int
	first, last time.Time
	reasons     map[string]int
	hosts       map[string]bool // at most maxHostsKept
	moreHosts   bool            // names past maxHostsKept were left out
}

// MaxHosts is how many source host names a Logon lists; maxHostsKept how
// many distinct names are counted per row before the count stops.
const (
	MaxHosts     = 8
	maxHostsKept = 1024
)

// addHost counts a source host name.
func (a *logonAcc) addHost(h string) {
	if h == "" || a.hosts[h] {
		return
	}
	if len(a.hosts) >= maxHostsKept {
		a.moreHosts = true
		return
	}
	if a.hosts == nil {
		a.hosts = map[string]bool{}
	}
	a.hosts[strings.Clone(h)] = true
}

type explicitKey struct {
	computer, subject, account, server, ip, process string
}

type rdpKey struct {
	computer, account, ip string
}

// Collector gathers the logons of the events it observes. It is used by
// one goroutine; Summarize merges Collectors.
type Collector struct {
	logons   map[logonKey]*logonAcc
	explicit map[explicitKey]*Explicit
	rdp      map[rdpKey]*RDP
}

// NewCollector returns an empty Collector.
func NewCollector() *Collector {
	return &Collector{logons: map[logonKey]*logonAcc{}, explicit: map[explicitKey]*Explicit{}, rdp: map[rdpKey]*RDP{}}
}

// num returns v as an integer (a number, or text holding one: "0x..."
// included), 0 otherwise.
func num(v event.Value) int64 {
	switch v.Kind() {
	case event.Int:
		return v.Int()
	case event.Uint:
		return int64(v.Uint())
	}
	s := strings.TrimSpace(v.Text())
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		return n
	}
	return 0
}

// text returns the field's text, "" for Windows' placeholders ("-").
func text(ev *event.Event, name string) string {
	s := strings.TrimSpace(ev.Lookup(name).Text())
	if s == "-" {
		return ""
	}
	return s
}

// account joins a domain and a user name.
func account(domain, user string) string {
	switch {
	case user == "":
		return ""
	case domain == "" || strings.Contains(user, `\`) || strings.Contains(user, "@"):
		return user
	}
	return domain + `\` + user
}

// ip normalises a source address: "" for none or the loopback.
func ip(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "::ffff:")
	switch s {
	case "", "-", "::1", "127.0.0.1", "0.0.0.0", "::", "LOCAL":
		return ""
	}
	return s
}

// Observe takes one event; events that are not logons are ignored.
// Nothing of ev is kept past the call.
func (c *Collector) Observe(ev *event.Event) {
	eid := num(ev.Lookup(event.FieldEventID))
	channel := ev.Lookup(event.FieldChannel).Text()
	switch {
	case (eid == 4624 || eid == 4625) && strings.EqualFold(channel, "Security"):
		c.logon(ev, eid)
	case eid == 4648 && strings.EqualFold(channel, "Security"):
		c.explicitLogon(ev)
	case eid == 1149 && strings.Contains(channel, "RemoteConnectionManager"):
		c.rdpEvent(ev, account(text(ev, "Param2"), text(ev, "Param1")), text(ev, "Param3"), eid)
	case (eid == 21 || eid == 24 || eid == 25) && strings.Contains(channel, "LocalSessionManager"):
		user, addr := text(ev, "User"), text(ev, "Address")
		if user == "" {
			user, addr = fromMessage(ev.Lookup("Message").Text())
		}
		c.rdpEvent(ev, user, addr, eid)
	}
}

// fromMessage reads the user and address of a LocalSessionManager event
// from its rendered message (exports that keep the message, not the
// UserData).
func fromMessage(msg string) (user, addr string) {
	for line := range strings.Lines(msg) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "User:"); ok {
			user = strings.TrimSpace(v)
		} else if v, ok := strings.CutPrefix(line, "Source Network Address:"); ok {
			addr = strings.TrimSpace(v)
		}
	}
	return user, addr
}

func (c *Collector) logon(ev *event.Event, eid int64) {
	host := text(ev, "WorkstationName")
	k := logonKey{
		computer:  text(ev, event.FieldComputer),
		outcome:   Success,
		account:   account(text(ev, "TargetDomainName"), text(ev, "TargetUserName")),
		logonType: int(num(ev.Lookup("LogonType"))),
		ip:        ip(text(ev, "IpAddress")),
	}
	if k.ip == "" && !sameHost(host, k.computer) {
		k.host = host // the only name of the source
	}
	if eid == 4625 {
		k.outcome = Failure
	}
	t := ev.Time()
	a := c.logons[k]
	if a == nil {
		k.computer, k.account, k.host, k.ip = strings.Clone(k.computer), strings.Clone(k.account), strings.Clone(k.host), strings.Clone(k.ip)
		a = &logonAcc{first: t, last: t}
		c.logons[k] = a
	}
	a.count++
	a.first, a.last = widen(a.first, a.last, t)
	if !sameHost(host, k.computer) {
		a.addHost(host)
	}
	if eid == 4625 {
		status := strings.ToUpper(text(ev, "SubStatus"))
		if status == "" || status == "0X0" || status == "0X00000000" {
			status = strings.ToUpper(text(ev, "Status"))
		}
		if a.reasons == nil {
			a.reasons = map[string]int{}
		}
		a.reasons[reason(status)]++
	}
	if eid == 4624 && k.logonType == 10 {
		c.rdpEvent(ev, k.account, text(ev, "IpAddress"), eid) // the loopback kept: a tunnel
	}
}

func (c *Collector) explicitLogon(ev *event.Event) {
	k := explicitKey{
		computer: text(ev, event.FieldComputer),
		subject:  account(text(ev, "SubjectDomainName"), text(ev, "SubjectUserName")),
		account:  account(text(ev, "TargetDomainName"), text(ev, "TargetUserName")),
		server:   text(ev, "TargetServerName"),
		ip:       ip(text(ev, "IpAddress")),
		process:  text(ev, "ProcessName"),
	}
	t := ev.Time()
	x := c.explicit[k]
	if x == nil {
		k = explicitKey{strings.Clone(k.computer), strings.Clone(k.subject), strings.Clone(k.account), strings.Clone(k.server), strings.Clone(k.ip), strings.Clone(k.process)}
		x = &Explicit{Type: "explicit", Computer: k.computer, Subject: k.subject, Account: k.account, TargetServer: k.server, SourceIP: k.ip, Process: k.process, First: t, Last: t}
		c.explicit[k] = x
	}
	x.Count++
	x.First, x.Last = widen(x.First, x.Last, t)
}

func (c *Collector) rdpEvent(ev *event.Event, user, addr string, eid int64) {
	k := rdpKey{computer: text(ev, event.FieldComputer), account: user, ip: addr}
	t := ev.Time()
	r := c.rdp[k]
	if r == nil {
		k = rdpKey{strings.Clone(k.computer), strings.Clone(k.account), strings.Clone(k.ip)}
		r = &RDP{Type: "rdp", Computer: k.computer, Account: k.account, SourceIP: k.ip, First: t, Last: t}
		c.rdp[k] = r
	}
	switch eid {
	case 1149:
		r.Authenticated++
	case 21, 4624:
		r.Logons++
	case 24:
		r.Disconnects++
	case 25:
		r.Reconnects++
	}
	r.First, r.Last = widen(r.First, r.Last, t)
}

// widen extends [first, last] to t; a zero time changes nothing.
func widen(first, last, t time.Time) (time.Time, time.Time) {
	if t.IsZero() {
		return first, last
	}
	if first.IsZero() || t.Before(first) {
		first = t
	}
	if t.After(last) {
		last = t
	}
	return first, last
}

// TypeName names a logon type.
func TypeName(t int) string {
	switch t {
	case 0:
		return "System"
	case 2:
		return "Interactive"
	case 3:
		return "Network"
	case 4:
		return "Batch"
	case 5:
		return "Service"
	case 7:
		return "Unlock"
	case 8:
		return "NetworkCleartext"
	case 9:
		return "NewCredentials"
	case 10:
		return "RemoteInteractive"
	case 11:
		return "CachedInteractive"
	case 12:
		return "CachedRemoteInteractive"
	case 13:
		return "CachedUnlock"
	}
	return "Type" + strconv.Itoa(t)
}

// interactive reports whether a logon type puts a person at a desktop.
func interactive(t int) bool { return t == 2 || t == 10 || t == 11 || t == 12 }

// reasonNames names the 4625 status codes, by the code upper-cased, as
// "bad password (0xC000006A)".
var reasonNames = func() map[string]string {
	names := map[string]string{
		"0XC000006A": "bad password",
		"0XC0000064": "no such user",
		"0XC000006D": "bad user name or password",
		"0XC000006E": "account restriction",
		"0XC000006F": "outside logon hours",
		"0XC0000070": "workstation restriction",
		"0XC0000071": "password expired",
		"0XC0000072": "account disabled",
		"0XC0000193": "account expired",
		"0XC0000224": "password must change",
		"0XC0000234": "account locked out",
		"0XC000015B": "logon type not granted",
		"0XC0000133": "clocks out of sync",
		"0XC000018C": "trust failed",
		"0XC0000413": "authentication firewall",
	}
	for code, n := range names {
		names[code] = n + " (" + strings.Replace(code, "0X", "0x", 1) + ")"
	}
	return names
}()

// reason names a 4625 status code (upper-cased). The name shares no memory
// with status, the event's text: it is kept as a map key, and every
// assignment to a key stores the key given.
func reason(status string) string {
	if n, ok := reasonNames[status]; ok {
		return n
	}
	if status == "" {
		return "unknown"
	}
	return strings.Clone(strings.Replace(status, "0X", "0x", 1))
}

// builtin reports whether an account is one of Windows' own, whose
// logons say nothing of a person.
func builtin(acct string) bool {
	_, name, _ := strings.Cut(acct, `\`)
	if name == "" {
		name = acct
	}
	name = strings.ToUpper(name)
	switch {
	case name == "SYSTEM", name == "LOCAL SERVICE", name == "NETWORK SERVICE", name == "ANONYMOUS LOGON",
		strings.HasPrefix(name, "DWM-"), strings.HasPrefix(name, "UMFD-"), strings.HasPrefix(name, "FONT DRIVER HOST"):
		return true
	}
	return false
}

// serviceName reports whether an account's name says it is a service
// account.
func serviceName(acct string) bool {
	_, name, found := strings.Cut(acct, `\`)
	if !found {
		name = acct
	}
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "svc") || strings.HasSuffix(n, "svc") || strings.HasPrefix(n, "sa_") ||
		strings.Contains(n, "service") || strings.HasPrefix(n, "srv_") || strings.HasPrefix(n, "sql")
}

// Source names where the logons came from: their address, else their
// host's name ("" for a local logon).
func (l *Logon) Source() string {
	if l.SourceIP != "" || len(l.SourceHosts) == 0 {
		return l.SourceIP
	}
	return l.SourceHosts[0]
}

// Summarize merges the collectors and flags the unusual combinations.
func Summarize(opts Options, cs ...*Collector) *Report {
	if opts.Baseline <= 0 {
		opts.Baseline = 7 * 24 * time.Hour
	}
	if opts.Failures <= 0 {
		opts.Failures = 5
	}
	logons := map[logonKey]*logonAcc{}
	explicit := map[explicitKey]*Explicit{}
	rdp := map[rdpKey]*RDP{}
	for _, c := range cs {
		for k, a := range c.logons {
			m := logons[k]
			if m == nil {
				m = &logonAcc{first: a.first, last: a.last}
				logons[k] = m
			}
			m.count += a.count
			m.first, m.last = widen(m.first, m.last, a.first)
			m.first, m.last = widen(m.first, m.last, a.last)
			for h := range a.hosts {
				m.addHost(h)
			}
			m.moreHosts = m.moreHosts || a.moreHosts
			for r, n := range a.reasons {
				if m.reasons == nil {
					m.reasons = map[string]int{}
				}
				m.reasons[r] += n
			}
		}
		for k, x := range c.explicit {
			if m := explicit[k]; m != nil {
				m.Count += x.Count
				m.First, m.Last = widen(m.First, m.Last, x.First)
				m.First, m.Last = widen(m.First, m.Last, x.Last)
			} else {
				cp := *x
				explicit[k] = &cp
			}
		}
		for k, r := range c.rdp {
			if m := rdp[k]; m != nil {
				m.Authenticated += r.Authenticated
				m.Logons += r.Logons
				m.Reconnects += r.Reconnects
				m.Disconnects += r.Disconnects
				m.First, m.Last = widen(m.First, m.Last, r.First)
				m.First, m.Last = widen(m.First, m.Last, r.Last)
			} else {
				cp := *r
				rdp[k] = &cp
			}
		}
	}
	rep := &Report{Logons: []Logon{}, Explicit: []Explicit{}, RDP: []RDP{}, Flags: []Flag{}}
	for k, a := range logons {
		l := Logon{
			Type: "logon", Computer: k.computer, Outcome: k.outcome, Account: k.account,
			LogonType: k.logonType, TypeName: TypeName(k.logonType), SourceIP: k.ip,
			Count: a.count, First: a.first, Last: a.last, SourceHostCount: len(a.hosts), SourceHostsMore: a.moreHosts,
		}
		for h := range a.hosts {
			l.SourceHosts = append(l.SourceHosts, h)
		}
		slices.Sort(l.SourceHosts)
		l.SourceHosts = l.SourceHosts[:min(len(l.SourceHosts), MaxHosts)]
		for r := range a.reasons {
			l.Reasons = append(l.Reasons, r)
		}
		slices.SortFunc(l.Reasons, func(x, y string) int { return cmp.Or(cmp.Compare(a.reasons[y], a.reasons[x]), cmp.Compare(x, y)) })
		for i, r := range l.Reasons {
			l.Reasons[i] = fmt.Sprintf("%s x%d", r, a.reasons[r])
		}
		rep.Logons = append(rep.Logons, l)
	}
	for _, x := range explicit {
		rep.Explicit = append(rep.Explicit, *x)
	}
	for _, r := range rdp {
		rep.RDP = append(rep.RDP, *r)
	}
	slices.SortFunc(rep.Logons, func(a, b Logon) int {
		return cmp.Or(cmp.Compare(a.Computer, b.Computer), cmp.Compare(a.Outcome, b.Outcome), cmp.Compare(b.Count, a.Count),
			cmp.Compare(a.Account, b.Account), cmp.Compare(a.LogonType, b.LogonType), cmp.Compare(a.SourceIP, b.SourceIP),
			slices.Compare(a.SourceHosts, b.SourceHosts), a.First.Compare(b.First))
	})
	slices.SortFunc(rep.Explicit, func(a, b Explicit) int {
		return cmp.Or(cmp.Compare(a.Computer, b.Computer), cmp.Compare(b.Count, a.Count), cmp.Compare(a.Subject, b.Subject),
			cmp.Compare(a.Account, b.Account), cmp.Compare(a.TargetServer, b.TargetServer), cmp.Compare(a.SourceIP, b.SourceIP), cmp.Compare(a.Process, b.Process))
	})
	slices.SortFunc(rep.RDP, func(a, b RDP) int {
		return cmp.Or(cmp.Compare(a.Computer, b.Computer), a.First.Compare(b.First), cmp.Compare(a.Account, b.Account), cmp.Compare(a.SourceIP, b.SourceIP))
	})
	rep.Flags = flags(rep, opts)
	return rep
}

// sameHost reports whether a workstation name is the computer's own (its
// short name, whatever the case): a local logon, not a source.
func sameHost(host, computer string) bool {
	short, _, _ := strings.Cut(computer, ".")
	return host != "" && (strings.EqualFold(host, computer) || strings.EqualFold(host, short))
}
