package result

import "time"

// Exposure is what an operation's evidence says the intruders touched,
// staged and sent out (package exposure recognises it in the operation's
// detections). It is nil on an operation whose detections show no data
// movement.
type Exposure struct {
	// Summary says it in one line: items by kind, archives, destinations,
	// the size sent when known, valuable data touched.
	Summary string `json:"summary"`
	// Items are the data movements, in time order.
	Items []ExposureItem `json:"items"`
	// Destinations are where data was sent (hosts or URLs' hosts), sorted.
	Destinations []string `json:"destinations,omitempty"`
	// SentMin and SentMax bound the bytes sent out where the evidence
	// gives them (0: unknown); SizeNote says how they were found.
	SentMin  int64  `json:"sent_min,omitempty"`
	SentMax  int64  `json:"sent_max,omitempty"`
	SizeNote string `json:"size_note,omitempty"`
	// CrownJewels says that an item touched data the --crown-jewels file
	// names (Inferred false) or that spoor inferred to be valuable
	// (Inferred true): the labels touched, sorted.
	CrownJewels []string `json:"crown_jewels,omitempty"`
	// Inferred is set when the valuable locations were inferred (no
	// --crown-jewels file, or none of its entries touched).
	Inferred bool `json:"inferred,omitempty"`
	// Raised says how the operation's severity and score were raised for
	// touching crown jewels ("" when they were not).
	Raised string `json:"raised,omitempty"`
}

// ExposureItem is one data movement: a collection (a copy, a listing, a
// share access), a staging (an archive written) or an exfiltration (an
// upload, a transfer out).
type ExposureItem struct {
	// Kind is collected, staged or exfiltrated.
	Kind string `json:"kind"`
	// Tool is the program or command that moved the data (rar, 7z,
	// makecab, tar, Compress-Archive, robocopy, xcopy, copy, Copy-Item,
	// dir, net view, share access, curl, rclone, bitsadmin,
	// Invoke-WebRequest, azcopy, connection...).
	Tool string    `json:"tool"`
	Time time.Time `json:"time"`
	Host string    `json:"host"`
	// Process is the image of the process; Account its user, when the
	// event names them; CommandLine the command the item was read from.
	Process     string `json:"process,omitempty"`
	Account     string `json:"account,omitempty"`
	CommandLine string `json:"command_line,omitempty"`
	// Sources are the paths read (absolute where the working directory
	// allowed, wildcards kept, or the files seen in the operation that
	// they match); Destination is the archive, folder, share, URL or host
	// written to.
	Sources     []string `json:"sources,omitempty"`
	Destination string   `json:"destination,omitempty"`
	// Files are files the operation's file events show this item wrote
	// (archive volumes) or that its wildcards resolve to.
	Files []string `json:"files,omitempty"`
	// Password says that the archive was encrypted; HeadersEncrypted that
	// its file names are too (rar -hp, 7z -mhe).
	Password         bool `json:"password,omitempty"`
	HeadersEncrypted bool `json:"headers_encrypted,omitempty"`
	// Recursive says that the sources' subfolders were included.
	Recursive bool `json:"recursive,omitempty"`
	// VolumeSize is the size of each volume of a split archive (bytes);
	// Volumes how many the evidence shows.
	VolumeSize int64 `json:"volume_size,omitempty"`
	Volumes    int   `json:"volumes,omitempty"`
	// SizeMin and SizeMax bound its size in bytes (0: unknown); SizeNote
	// says how.
	SizeMin  int64  `json:"size_min,omitempty"`
	SizeMax  int64  `json:"size_max,omitempty"`
	SizeNote string `json:"size_note,omitempty"`
	// Valuable are the crown jewels it touched: a label each, "(inferred)"
	// when spoor inferred it.
	Valuable []string `json:"valuable,omitempty"`
	// Strength is strong, medium or weak; Why says what supports it.
	Strength string `json:"strength"`
	Why      string `json:"why"`
	// Linked are the indices in Exposure.Items of the items this one
	// moved data from or to (the archive a volume upload sent, the copy
	// that fetched it).
	Linked []int `json:"linked,omitempty"`
	// Detections are the indices in Result.Detections of its evidence.
	Detections []int `json:"detections"`
}

// Exposure item kinds.
const (
	ExposureCollected   = "collected"
	ExposureStaged      = "staged"
	ExposureExfiltrated = "exfiltrated"
)
