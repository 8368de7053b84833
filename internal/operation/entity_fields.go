package operation

import (
	"math"
	"strings"
	"time"

	"github.com/spoor-hunt/spoor/internal/event"
)

// slot numbers a field the index reads (Observe and Ref).
type slot uint8

const (
	fEventID slot = iota
	fChannel
	fComputer
	fTimeCreated
	fEventRecordID

	fProcessGuid
	fProcessId
	fProcessID
	fImage
	fCommandLine
	fUser
	fLogonId
	fParentProcessGuid
	fParentProcessId
	fParentImage
	fParentCommandLine
	fParentUser

	fSourceIp
	fDestinationIp
	fSourceHostname
	fDestinationHostname
	fInitiated
	fDestinationPort

	fImageLoaded
	fTargetFilename
	fSignature
	fSignatureStatus
	fSourceProcessGUID
	fSourceProcessGuid
	fSourceProcessId
	fSourceImage
	fTargetImage
	fTargetObject

	fNewProcessId
	fNewProcessName
	fParentProcessName
	fProcessName
	fTargetLogonId
	fTargetUserName
	fTargetDomainName
	fSubjectLogonId
	fSubjectUserName
	fSubjectDomainName
	fIpAddress
	fWorkstationName
	fLogonType
	fTargetServerName

	fServiceName
	fImagePath
	fServiceFileName
	fAccountName
	fTaskName
	fTaskContent

	nSlots
)

// slotOf returns the slot of a field name, nSlots for a field the index
// does not read. (A switch: the compiler's search by length and content
// beats a table of names here.)
func slotOf(name string) slot {
	switch name {
	case event.FieldEventID:
		return fEventID
	case event.FieldChannel:
		return fChannel
	case event.FieldComputer:
		return fComputer
	case event.FieldTimeCreated:
		return fTimeCreated
	case event.FieldEventRecordID:
		return fEventRecordID
	case "ProcessGuid":
		return fProcessGuid
	case "ProcessId":
		return fProcessId
	case "ProcessID":
		return fProcessID
	case "Image":
		return fImage
	case "CommandLine":
		return fCommandLine
	case "User":
		return fUser
	case "LogonId":
		return fLogonId
	case "ParentProcessGuid":
		return fParentProcessGuid
	case "ParentProcessId":
		return fParentProcessId
	case "ParentImage":
		return fParentImage
	case "ParentCommandLine":
		return fParentCommandLine
	case "ParentUser":
		return fParentUser
	case "SourceIp":
		return fSourceIp
	case "DestinationIp":
		return fDestinationIp
	case "SourceHostname":
		return fSourceHostname
	case "DestinationHostname":
		return fDestinationHostname
	case "Initiated":
		return fInitiated
	case "DestinationPort":
		return fDestinationPort
	case "ImageLoaded":
		return fImageLoaded
	case "TargetFilename":
		return fTargetFilename
	case "Signature":
		return fSignature
	case "SignatureStatus":
		return fSignatureStatus
	case "SourceProcessGUID":
		return fSourceProcessGUID
	case "SourceProcessGuid":
		return fSourceProcessGuid
	case "SourceProcessId":
		return fSourceProcessId
	case "SourceImage":
		return fSourceImage
	case "TargetImage":
		return fTargetImage
	case "TargetObject":
		return fTargetObject
	case "NewProcessId":
		return fNewProcessId
	case "NewProcessName":
		return fNewProcessName
	case "ParentProcessName":
		return fParentProcessName
	case "ProcessName":
		return fProcessName
	case "TargetLogonId":
		return fTargetLogonId
	case "TargetUserName":
		return fTargetUserName
	case "TargetDomainName":
		return fTargetDomainName
	case "SubjectLogonId":
		return fSubjectLogonId
	case "SubjectUserName":
		return fSubjectUserName
	case "SubjectDomainName":
		return fSubjectDomainName
	case "IpAddress":
		return fIpAddress
	case "WorkstationName":
		return fWorkstationName
	case "LogonType":
		return fLogonType
	case "TargetServerName":
		return fTargetServerName
	case "ServiceName":
		return fServiceName
	case "ImagePath":
		return fImagePath
	case "ServiceFileName":
		return fServiceFileName
	case "AccountName":
		return fAccountName
	case "TaskName":
		return fTaskName
	case "TaskContent":
		return fTaskContent
	}
	return nSlots
}

// fields is the index's view of one event: where each field it reads is,
// found in one pass over the event instead of one search per field. It is
// valid until the event changes.
type fields struct {
	ev *event.Event
	at [nSlots]uint16 // position + 1; 0 when absent
}

// scan finds the fields of ev.
func (f *fields) scan(ev *event.Event) {
	f.ev = ev
	f.at = [nSlots]uint16{}
	n := min(len(ev.Fields), math.MaxUint16-1)
	for i := range n {
		// A name never repeats in an event; should one, the first counts.
		if k := slotOf(ev.Fields[i].Name); k < nSlots && f.at[k] == 0 {
			f.at[k] = uint16(i + 1)
		}
	}
}

func (f *fields) value(k slot) (event.Value, bool) {
	if i := f.at[k]; i > 0 {
		return f.ev.Fields[i-1].Value, true
	}
	return event.Value{}, false
}

// str returns the text of a field ("" when absent or "-").
func (f *fields) str(k slot) string {
	v, ok := f.value(k)
	if !ok {
		return ""
	}
	var s string
	switch v.Kind() {
	case event.String:
		s = v.Str()
	case event.Bool:
		s = "false"
		if v.Bool() {
			s = "true"
		}
	default:
		s = v.Text()
	}
	if s == "-" {
		return ""
	}
	return s
}

// num returns a decimal or 0x-hex number field (0 when absent or bad).
func (f *fields) num(k slot) int64 {
	v, ok := f.value(k)
	if !ok {
		return 0
	}
	switch v.Kind() {
	case event.Int:
		return v.Int()
	case event.Uint:
		return int64(v.Uint())
	case event.String:
		return parseNum(v.Str())
	}
	return parseNum(v.Text())
}

// time returns the event's TimeCreated (zero when it has none).
func (f *fields) time() time.Time {
	v, _ := f.value(fTimeCreated)
	return v.Time()
}

// isTrue reports whether a field says true (a bool, or its text in any
// case).
func (f *fields) isTrue(k slot) bool {
	return strings.EqualFold(f.str(k), "true")
}
