package result

import "time"

// Operation is the story of one intrusion: detections joined across
// processes, logon sessions and hosts by operation.Build, with
// the ATT&CK groups its evidence resembles.
type Operation struct {
	// ID is stable across runs over the same evidence.
	ID string `json:"id"`
	// Severity is informational, low, medium, high or critical (its most
	// severe detection, or its score's band); Score ranks operations by
	// evidence of an intrusion (highest level, tactics and techniques
	// reached by distinct steps, hosts, rarity of its rules).
	Severity string  `json:"severity"`
	Score    float64 `json:"score"`
	// Hosts and Users are the computers (short names) and accounts
	// involved, sorted.
	Hosts []string `json:"hosts"`
	Users []string `json:"users"`
	// First and Last are the times of its first and last detection.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Tactics are the ATT&CK tactics its steps reach, in kill-chain
	// order; Techniques the technique IDs of its rules, sorted. Neither
	// counts informational rules (enrichment, no evidence).
	Tactics    []string `json:"tactics"`
	Techniques []string `json:"techniques"`
	// Detections are the indices of its detections in
	// Result.Detections, in time order.
	Detections []int `json:"detections"`
	// Narrative tells the story, one plain sentence per step, in time
	// order.
	Narrative []string `json:"narrative"`
	// Steps are the steps the sentences tell: one event (or the Sysmon
	// and Security records of one process creation) and its detections.
	Steps []Step `json:"steps"`
	// Context are the entities that link the detections beyond their own
	// processes: ancestors, logon sessions, dropped files, services,
	// tasks.
	Context []Entity `json:"context"`
	// Joins say which entity joined each pair of detections the builder
	// joined, and how (process tree, logon session, remote target, shared
	// file, service, task, nearby), for audit.
	Joins []Join `json:"joins"`
	// Lateral are the cross-host links the joins went through: from a
	// host to another, with a short label of the keys that made them.
	Lateral []Hop `json:"lateral"`
	// Graph is the hosts and processes of the operation and the links
	// between them, for drawing.
	Graph Graph `json:"graph"`
	// Attribution says which ATT&CK groups its evidence resembles; nil
	// when its rules name nothing ATT&CK knows.
	Attribution *Attribution `json:"attribution,omitempty"`
	// Exposure is the data its evidence shows collected, staged and sent
	// out; nil when none.
	Exposure *Exposure `json:"exposure,omitempty"`
}

// Graph is the processes of an operation on their hosts and the edges
// between them: parent to child on one host, and lateral movement from a
// process (or a host) to another host.
type Graph struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// Node is a process on a host, or a host itself (Kind "host": the end of a
// lateral edge with no known process).
type Node struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // process or host
	Host string `json:"host"`
	// Label is the process image's base name (or the host name).
	Label string `json:"label"`
	// Image is the process image as logged; CommandLine its command line
	// (cut); both "" for a host or a parent known only by name.
	Image       string `json:"image,omitempty"`
	CommandLine string `json:"command_line,omitempty"`
	// First is the time of its first detection (zero for a parent seen
	// only as one).
	First time.Time `json:"first,omitzero"`
	// Detections are the indices in Result.Detections of its detections.
	Detections []int `json:"detections,omitempty"`
}

// Edge links two nodes.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Kind is parent (From started To) or lateral (From reached the host
	// of To: a remote command, a network logon from its host).
	Kind string `json:"kind"`
	// Label, on a lateral edge, names the keys that joined the two hosts
	// (the labels of the operation's hops between them, "; "-separated).
	Label string `json:"label,omitempty"`
}

// Step is one step of an operation: one event and the rules it matched
// (Detections are indices in Result.Detections).
type Step struct {
	Time       time.Time `json:"time"`
	Host       string    `json:"host"`
	Detections []int     `json:"detections"`
	Sentence   string    `json:"sentence"`
	// Tactics are the ATT&CK tactics its detections reach, in kill-chain
	// order: those of their techniques (see operation.Reach).
	Tactics []string `json:"tactics"`
	// Dormant is how long nothing was seen before this step, when it is at
	// least operation.DormantGap ("7 months"); the sentence starts with it.
	Dormant string `json:"dormant,omitempty"`
}

// Entity is one entity that links an operation's detections.
type Entity struct {
	// Kind is process, logon, file, service or task.
	Kind string `json:"kind"`
	Host string `json:"host"`
	// Key identifies it on its host: a ProcessGuid (or PID), a logon ID, a
	// path, a service or task name.
	Key string `json:"key"`
	// Description says what it is, in one line.
	Description string `json:"description"`
}

// Join is one link by which operation.Build joined two detections of an
// operation: the entity both reached, and how.
type Join struct {
	// Detections are the indices in Result.Detections of the two
	// detections.
	Detections [2]int `json:"detections"`
	// Kind says what joined them: "process tree" (a shared process or
	// ancestor), "logon session", "shared file" (a dropped file and what
	// wrote, loaded or ran it), "service", "task", "remote target" (a
	// path that crosses hosts: see Lateral) or "nearby" (a detection
	// naming no actor placed beside a linked one on its host).
	Kind string `json:"kind"`
	// Entity, Host and Key name the shared entity (as in Context); empty
	// for "nearby".
	Entity string `json:"entity,omitempty"`
	Host   string `json:"host,omitempty"`
	Key    string `json:"key,omitempty"`
	// Lateral are the cross-host links on the two paths to the entity.
	Lateral []Hop `json:"lateral,omitempty"`
}

// Hop is one cross-host link: an action on From aimed at To, and what it
// caused there.
type Hop struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Label says it in a few words: what the target logged and the source
	// process ("network logon 0x5e1 of CORP\adm ← WMIC.exe").
	Label string `json:"label"`
	// Time is when the source acted; ProcessGUID and PID name the source
	// process.
	Time        time.Time `json:"time"`
	ProcessGUID string    `json:"process_guid,omitempty"`
	PID         int64     `json:"pid,omitempty"`
}

// EachDetectionRef calls fn with a pointer to every reference op holds to a
// detection (its list, its steps', joins' and graph nodes'), for a reader
// that numbers detections otherwise (the case store, by its IDs).
func (op *Operation) EachDetectionRef(fn func(*int)) {
	for i := range op.Detections {
		fn(&op.Detections[i])
	}
	for i := range op.Steps {
		for k := range op.Steps[i].Detections {
			fn(&op.Steps[i].Detections[k])
		}
	}
	for i := range op.Joins {
		fn(&op.Joins[i].Detections[0])
		fn(&op.Joins[i].Detections[1])
	}
	for i := range op.Graph.Nodes {
		for k := range op.Graph.Nodes[i].Detections {
			fn(&op.Graph.Nodes[i].Detections[k])
		}
	}
}
