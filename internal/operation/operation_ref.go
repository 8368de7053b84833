package operation

import (
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
)

// DetectionRef is what the operation builder needs of one detection: who
// the caller's detection is (Index), its rule, and the entity keys and facts
// of its event. The hunt fills one per detection, during the matcher
// callback, with IndexShard.Ref (which copies every string out of the event)
// and sets Index and the rule fields itself.
type DetectionRef struct {
	// Index is the detection's position in the caller's list; operations
	// refer to detections by it.
	Index int
	// Time is the event's time; Host its Computer.
	Time time.Time
	Host string
	// Rule is the rule that matched: id, title, level (informational..
	// critical) and tags (attack.<tactic>, attack.tNNNN).
	RuleID, Title, Level string
	Tags                 []string

	// EventID, Channel and RecordID identify the event (two rules matching
	// one event are one step of a narrative).
	EventID  int64
	Channel  string
	RecordID int64

	// ProcessGUID and PID name the acting process (Sysmon ProcessGuid and
	// ProcessId, Security 4688 NewProcessId); ParentProcessGUID and
	// ParentPID its parent.
	ProcessGUID       string
	PID               int64
	ParentProcessGUID string
	ParentPID         int64
	// LogonID is the logon session the actor runs in (Sysmon LogonId,
	// Security SubjectLogonId); TargetLogonID the session a logon event
	// introduces (4624 TargetLogonId).
	LogonID       string
	TargetLogonID string
	// User is the acting account (DOMAIN\name); TargetUser the account a
	// logon or explicit-credential event names.
	User, TargetUser string
	// Files are the paths the event names: a file written or loaded, a
	// service's image, a task's command.
	Files []string
	// Service and Task name a service or a scheduled task the event
	// installs or creates.
	Service, Task string
	// SourceIP and DestinationIP, DestinationPort: a logon's source address
	// (4624 IpAddress), a connection's ends.
	SourceIP, DestinationIP string
	DestinationPort         int64
	// LogonType of a logon event.
	LogonType int

	// Image, ParentImage and CommandLine describe the acting process;
	// Detail is one more fact for the narrative (a registry key, a driver's
	// signature, a task's command, an explicit-credential target...).
	Image, ParentImage, CommandLine string
	Detail                          string

	// Source and Locator say where the event was read (event.Event's):
	// they order detections of one time, host, record and rule as a hunt
	// orders them, for a case rebuilt from the store.
	Source  string
	Locator int64

	// Counted is what a correlation match counted; nil for the detection
	// of one event. A correlation has no event of its own: its step tells
	// the events it counted, and its operation spans their hosts, users
	// and times.
	Counted *Counted
}

// Ref returns the entity keys and facts of ev as a DetectionRef (Index and
// the rule fields are left for the caller). Every string is copied out of
// the event (interned in the shard). Call it from the shard's worker, like
// Observe.
func (s *IndexShard) Ref(ev *event.Event) DetectionRef {
	in := s.intern
	f := &s.f
	f.scan(ev)
	get := func(k slot) string { return in(f.str(k)) }
	r := DetectionRef{
		Time:     f.time(),
		Host:     get(fComputer),
		EventID:  f.num(fEventID),
		Channel:  get(fChannel),
		RecordID: f.num(fEventRecordID),
		Source:   in(ev.Source),
		Locator:  ev.Locator,
	}
	switch ch := r.Channel; {
	case strings.Contains(ch, "Sysmon"):
		r.ProcessGUID = in(normGUID(f.str(fProcessGuid)))
		r.PID = f.num(fProcessId)
		r.Image = get(fImage)
		r.User = get(fUser)
		r.LogonID = in(normLogon(f.str(fLogonId)))
		switch r.EventID {
		case 1:
			r.CommandLine = in(cut(f.str(fCommandLine)))
			r.ParentProcessGUID = in(normGUID(f.str(fParentProcessGuid)))
			r.ParentPID = f.num(fParentProcessId)
			r.ParentImage = get(fParentImage)
		case 3:
			r.SourceIP = in(normIP(f.str(fSourceIp)))
			r.DestinationIP = in(normIP(f.str(fDestinationIp)))
			r.DestinationPort = f.num(fDestinationPort)
			r.Detail = get(fDestinationHostname)
		case 6:
			r.Files = []string{get(fImageLoaded)}
			r.Detail = in(strings.TrimSpace(f.str(fSignature) + " " + f.str(fSignatureStatus)))
		case 7:
			r.Files = []string{get(fImageLoaded)}
		case 8, 10:
			r.ProcessGUID = in(normGUID(f.str(fSourceProcessGUID) + f.str(fSourceProcessGuid)))
			r.PID = f.num(fSourceProcessId)
			r.Image = get(fSourceImage)
			r.Detail = get(fTargetImage)
		case 11, 15, 23, 26, 2:
			r.Files = []string{get(fTargetFilename)}
		case 12, 13, 14:
			r.Detail = get(fTargetObject)
		}
	case strings.EqualFold(ch, "Security"):
		r.LogonID = in(normLogon(f.str(fSubjectLogonId)))
		r.User = in(account(f.str(fSubjectDomainName), f.str(fSubjectUserName)))
		switch r.EventID {
		case 4688:
			r.PID = f.num(fNewProcessId)
			r.ParentPID = f.num(fProcessId)
			r.Image = get(fNewProcessName)
			r.ParentImage = get(fParentProcessName)
			r.CommandLine = in(cut(f.str(fCommandLine)))
			if lid := normLogon(f.str(fTargetLogonId)); !systemLogons[lid] {
				r.LogonID = in(lid)
			}
		case 4624, 4625, 4634:
			r.TargetLogonID = in(normLogon(f.str(fTargetLogonId)))
			r.TargetUser = in(account(f.str(fTargetDomainName), f.str(fTargetUserName)))
			r.SourceIP = in(normIP(f.str(fIpAddress)))
			r.LogonType = int(f.num(fLogonType))
			r.Detail = in(HostName(f.str(fWorkstationName)))
			r.PID = 0
		case 4648:
			r.TargetUser = in(account(f.str(fTargetDomainName), f.str(fTargetUserName)))
			r.Detail = get(fTargetServerName)
			r.PID = f.num(fProcessId)
			r.Image = get(fProcessName)
		case 4697:
			r.Service = get(fServiceName)
			r.Files = []string{in(NormPath(f.str(fServiceFileName)))}
		case 4698, 4699, 4700, 4701, 4702:
			r.Task = get(fTaskName)
			if c := TaskCommand(f.str(fTaskContent)); c != "" {
				r.Files = []string{in(c)}
				r.Detail = r.Files[0]
			}
		}
	case strings.EqualFold(ch, "System"):
		if r.EventID == 7045 {
			r.Service = get(fServiceName)
			r.Files = []string{in(NormPath(f.str(fImagePath)))}
			r.User = get(fAccountName)
		}
	case strings.Contains(ch, "TaskScheduler"):
		r.Task = get(fTaskName)
	}
	return r
}
