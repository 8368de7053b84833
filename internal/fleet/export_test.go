package fleet

// EditedLog is editedLog, for the fleet_test package's tests.
var EditedLog = editedLog
