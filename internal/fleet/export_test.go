package fleet

// EditedLog is editedLog, for the fleet_test package's tests.
var EditedLog = editedLog

// CaseKeyPrefix is caseKeyPrefix: the keys of the cases' rebuild leases.
const CaseKeyPrefix = caseKeyPrefix

// LeaseKeyPrefix is leaseKeyPrefix: the keys of the partitions' leases.
const LeaseKeyPrefix = leaseKeyPrefix

// FetchMessages is fetchMessages: the most messages one fetch takes.
const FetchMessages = fetchMessages
