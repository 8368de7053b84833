package event

// Canonical names of the System fields of a Windows event, as Sigma rules
// name them. Readers of every format produce these names.
const (
	FieldProviderName      = "Provider_Name"
	FieldProviderGUID      = "Provider_Guid"
	FieldEventSourceName   = "EventSourceName"
	FieldEventID           = "EventID"
	FieldQualifiers        = "Qualifiers"
	FieldVersion           = "Version"
	FieldLevel             = "Level"
	FieldTask              = "Task"
	FieldOpcode            = "Opcode"
	FieldKeywords          = "Keywords"
	FieldTimeCreated       = "TimeCreated"
	FieldEventRecordID     = "EventRecordID"
	FieldActivityID        = "ActivityID"
	FieldRelatedActivityID = "RelatedActivityID"
	FieldProcessID         = "ProcessID"
	FieldThreadID          = "ThreadID"
	FieldChannel           = "Channel"
	FieldComputer          = "Computer"
	FieldUserID            = "UserID"
	// FieldData holds the unnamed EventData/Data elements of a record, in
	// position order: a single value, or a List when there are several.
	FieldData = "Data"
)
