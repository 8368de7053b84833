// Package hunt runs a hunt: it loads and filters Sigma rules, compiles them
// once, streams the events of the evidence through one detect.Matcher per
// worker, and keeps only the detections, each a compact copy of what
// explains it (see result.Detection). The events themselves are never held, so
// memory grows with what is found, not with the size of the evidence.
//
// Each worker also feeds its shard of an operation.Index (the processes,
// logon sessions, services, tasks and files the events describe) and keeps
// the inputs of the Sigma correlation rules. After the evidence is read,
// the correlations run over the detections (their matches become
// detections of kind "correlation"; the building blocks they count are not
// listed on their own), operation.Build joins the detections
// into operations, and attack.Attribute ranks the ATT&CK groups each
// operation resembles: detect → correlate → operation → attack → report.
//
// Run returns a result.Result: plain, JSON-friendly data that the report
// writers (terminal summary, timeline, JSON, operations, HTML) render
// without knowing how it was made.
package hunt
