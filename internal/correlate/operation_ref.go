package correlate

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
}

// Ref returns the entity keys and facts of ev as a DetectionRef (Index and
// the rule fields are left for the caller). Every string is copied out of
// the event (interned in the shard). Call it from the shard's worker, like
// Observe.
func (s *IndexShard) Ref(ev *event.Event) DetectionRef {
	in := s.intern
	get := func(name string) string { return in(str(ev, name)) }
	r := DetectionRef{
		Time:     ev.Time(),
		Host:     get(event.FieldComputer),
		EventID:  num(ev, event.FieldEventID),
		Channel:  get(event.FieldChannel),
		RecordID: num(ev, event.FieldEventRecordID),
	}
	switch ch := r.Channel; {
	case strings.Contains(ch, "Sysmon"):
		r.ProcessGUID = in(normGUID(str(ev, "ProcessGuid")))
		r.PID = num(ev, "ProcessId")
		r.Image = get("Image")
		r.User = get("User")
		r.LogonID = in(normLogon(str(ev, "LogonId")))
		switch r.EventID {
		case 1:
			r.CommandLine = in(cut(str(ev, "CommandLine")))
			r.ParentProcessGUID = in(normGUID(str(ev, "ParentProcessGuid")))
			r.ParentPID = num(ev, "ParentProcessId")
			r.ParentImage = get("ParentImage")
		case 3:
			r.SourceIP = in(normIP(str(ev, "SourceIp")))
			r.DestinationIP = in(normIP(str(ev, "DestinationIp")))
			r.DestinationPort = num(ev, "DestinationPort")
			r.Detail = get("DestinationHostname")
		case 6:
			r.Files = []string{get("ImageLoaded")}
			r.Detail = in(strings.TrimSpace(str(ev, "Signature") + " " + str(ev, "SignatureStatus")))
		case 7:
			r.Files = []string{get("ImageLoaded")}
		case 8, 10:
			r.ProcessGUID = in(normGUID(str(ev, "SourceProcessGUID") + str(ev, "SourceProcessGuid")))
			r.PID = num(ev, "SourceProcessId")
			r.Image = get("SourceImage")
			r.Detail = get("TargetImage")
		case 11, 15, 23, 26, 2:
			r.Files = []string{get("TargetFilename")}
		case 12, 13, 14:
			r.Detail = get("TargetObject")
		}
	case ch == "Security":
		r.LogonID = in(normLogon(str(ev, "SubjectLogonId")))
		r.User = in(account(str(ev, "SubjectDomainName"), str(ev, "SubjectUserName")))
		switch r.EventID {
		case 4688:
			r.PID = num(ev, "NewProcessId")
			r.ParentPID = num(ev, "ProcessId")
			r.Image = get("NewProcessName")
			r.ParentImage = get("ParentProcessName")
			r.CommandLine = in(cut(str(ev, "CommandLine")))
			if lid := normLogon(str(ev, "TargetLogonId")); !systemLogons[lid] {
				r.LogonID = in(lid)
			}
		case 4624, 4625, 4634:
			r.TargetLogonID = in(normLogon(str(ev, "TargetLogonId")))
			r.TargetUser = in(account(str(ev, "TargetDomainName"), str(ev, "TargetUserName")))
			r.SourceIP = in(normIP(str(ev, "IpAddress")))
			r.LogonType = int(num(ev, "LogonType"))
			r.Detail = in(HostName(str(ev, "WorkstationName")))
			r.PID = 0
		case 4648:
			r.TargetUser = in(account(str(ev, "TargetDomainName"), str(ev, "TargetUserName")))
			r.Detail = get("TargetServerName")
			r.PID = num(ev, "ProcessId")
			r.Image = get("ProcessName")
		case 4697:
			r.Service = get("ServiceName")
			r.Files = []string{in(NormPath(str(ev, "ServiceFileName")))}
		case 4698, 4699, 4700, 4701, 4702:
			r.Task = get("TaskName")
			if c := TaskCommand(str(ev, "TaskContent")); c != "" {
				r.Files = []string{in(c)}
				r.Detail = r.Files[0]
			}
		}
	case ch == "System":
		if r.EventID == 7045 {
			r.Service = get("ServiceName")
			r.Files = []string{in(NormPath(str(ev, "ImagePath")))}
			r.User = get("AccountName")
		}
	case strings.Contains(ch, "TaskScheduler"):
		r.Task = get("TaskName")
	}
	return r
}
