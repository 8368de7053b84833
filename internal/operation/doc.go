// Package operation joins the detections of a hunt into operations: the
// story of one intrusion, across processes, logon sessions and hosts.
//
// During a hunt each worker feeds every event to its own IndexShard of an
// Index (Observe) and takes a DetectionRef of each detection (Ref); the
// index records entities (processes, logons, boots, services, tasks,
// dropped files, remote intents), never events. After the run, Finish
// merges the shards and Build joins the detections whose entities are
// linked into Operations, each with its steps, story, joins, cross-host
// hops and score (see operation.go for the edges and the guards).
package operation
