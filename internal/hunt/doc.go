// Package hunt runs a hunt: it loads and filters Sigma rules, compiles them
// once, streams the events of the evidence through one detect.Matcher per
// worker, and keeps only the detections, each a compact copy of what
// explains it (see Detection). The events themselves are never held, so
// memory grows with what is found, not with the size of the evidence.
//
// Run returns a Result: plain, JSON-friendly data that the report writers
// (terminal summary, timeline, JSON, HTML) render without knowing how it
// was made.
package hunt
