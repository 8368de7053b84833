package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxDetectionSize is the largest detection JSON the store accepts.
const MaxDetectionSize = 4 << 20

// noTime is the at of a detection without a time: first in time order on
// both backends, outside every time range.
const noTime = math.MinInt64

// levelRanks orders Sigma levels; a rule without a level ranks below all.
var levelRanks = map[string]int{"": -1, "informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

func levelRank(level string) (int, error) {
	r, ok := levelRanks[level]
	if !ok {
		return 0, fmt.Errorf("%w: level %q", ErrInvalid, level)
	}
	return r, nil
}

// indexRow is what the store indexes of one detection.
type indexRow struct {
	at        int64
	levelRank int
	ruleID    string
	ruleTitle string
	host      string // lower-cased
	user      string // lower-cased
	tags      []string
	words     string // searchText
	body      []byte // the detection's JSON, compact
	ref       string // its operation ref (JSON), "" for none
}

// detectionIndex is the part of a detection (as `spoor hunt --json` writes
// it) that the store reads; everything else is only kept.
type detectionIndex struct {
	Time     *time.Time `json:"time"`
	Computer string     `json:"computer"`
	Channel  string     `json:"channel"`
	Provider string     `json:"provider"`
	EventID  int64      `json:"event_id"`
	Source   string     `json:"source_file"`
	Rule     *struct {
		ID         string   `json:"id"`
		Title      string   `json:"title"`
		Level      string   `json:"level"`
		Tags       []string `json:"tags"`
		Tactics    []string `json:"tactics"`
		Techniques []string `json:"techniques"`
	} `json:"rule"`
	Fields []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"fields"`
}

// userFields are the fields that name a detection's account, best first:
// Sysmon's User, then a logon's target, then the acting subject. A field
// with a domain beside it is given as DOMAIN\name, as Sysmon writes it.
var userFields = []struct{ name, domain string }{
	{"User", ""},
	{"TargetUserName", "TargetDomainName"},
	{"SubjectUserName", "SubjectDomainName"},
	{"AccountName", ""},
}

// indexDetection checks one detection's JSON and extracts the columns the
// store indexes. It is the only place that reads a detection.
func indexDetection(raw []byte) (indexRow, error) {
	if len(raw) > MaxDetectionSize {
		return indexRow{}, fmt.Errorf("%w: detection of %d bytes, more than %d", ErrInvalid, len(raw), MaxDetectionSize)
	}
	var d detectionIndex
	if err := json.Unmarshal(raw, &d); err != nil {
		return indexRow{}, fmt.Errorf("%w: detection JSON: %v", ErrInvalid, err)
	}
	if d.Rule == nil || d.Rule.ID == "" {
		return indexRow{}, fmt.Errorf("%w: detection without a rule id", ErrInvalid)
	}
	rank, err := levelRank(d.Rule.Level)
	if err != nil {
		return indexRow{}, err
	}
	if !utf8.Valid(raw) {
		return indexRow{}, fmt.Errorf("%w: detection JSON is not UTF-8", ErrInvalid)
	}
	var body bytes.Buffer
	if err := json.Compact(&body, raw); err != nil {
		return indexRow{}, fmt.Errorf("%w: detection JSON: %v", ErrInvalid, err)
	}
	row := indexRow{
		at:        noTime,
		levelRank: rank,
		ruleID:    clean(d.Rule.ID),
		ruleTitle: clean(d.Rule.Title),
		host:      strings.ToLower(clean(d.Computer)),
		body:      body.Bytes(),
	}
	if d.Time != nil && !d.Time.IsZero() {
		row.at = micros(*d.Time)
	}
	values := make(map[string]string, len(d.Fields))
	for _, f := range d.Fields {
		if _, ok := values[f.Name]; !ok {
			values[f.Name] = f.Value
		}
	}
	for _, uf := range userFields {
		v := values[uf.name]
		if v == "" || v == "-" {
			continue
		}
		if dom := values[uf.domain]; dom != "" && dom != "-" && !strings.Contains(v, `\`) {
			v = dom + `\` + v
		}
		row.user = strings.ToLower(clean(v))
		break
	}
	for _, t := range d.Rule.Tactics {
		row.tags = append(row.tags, "tactic:"+strings.ToLower(clean(t)))
	}
	for _, t := range d.Rule.Techniques {
		t = strings.ToUpper(clean(t))
		row.tags = append(row.tags, "technique:"+t)
		if parent, _, ok := strings.Cut(t, "."); ok {
			row.tags = append(row.tags, "technique:"+parent)
		}
	}
	row.tags = uniq(row.tags)

	text := []string{d.Rule.ID, d.Rule.Title, d.Computer, d.Channel, d.Provider, d.Source, row.user, strconv.FormatInt(d.EventID, 10)}
	text = append(text, d.Rule.Tags...)
	for _, f := range d.Fields {
		text = append(text, f.Value)
	}
	row.words = searchText(text)
	return row, nil
}

// clean drops NUL bytes, which PostgreSQL's text refuses (JSON may carry
// them escaped).
func clean(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "")
}

func uniq(s []string) []string {
	out := s[:0]
	seen := make(map[string]bool, len(s))
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// Free-text search bounds: the words kept per detection, and the length of
// one word (PostgreSQL skips lexemes over 2 KiB; a longer "word" is an
// encoded blob nobody types).
const (
	maxSearchBytes = 32 << 10
	maxWordBytes   = 128
)

// searchText is the free text of a detection: its words (runs of letters
// and digits), lower-cased, separated by spaces. Both backends index these
// words as they are (FTS5's unicode61 and PostgreSQL's 'simple'
// configuration find the same words in them), so `C:\Windows\cmd.exe` is
// found by "cmd" on both.
func searchText(parts []string) string {
	var b strings.Builder
	for _, p := range parts {
		for w := range words(p) {
			if b.Len()+len(w)+1 > maxSearchBytes {
				return b.String()
			}
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w)
		}
	}
	return b.String()
}

// words yields the lower-cased words of s, each cut to maxWordBytes.
func words(s string) func(func(string) bool) {
	return func(yield func(string) bool) {
		start := -1
		for i, r := range s + " " {
			word := unicode.IsLetter(r) || unicode.IsDigit(r)
			switch {
			case word && start < 0:
				start = i
			case !word && start >= 0:
				w := strings.ToLower(s[start:i])
				if len(w) > maxWordBytes {
					w = w[:maxWordBytes]
					for !utf8.ValidString(w) {
						w = w[:len(w)-1]
					}
				}
				start = -1
				if !yield(w) {
					return
				}
			}
		}
	}
}

// operationIndex is the part of an operation (an object of `spoor hunt
// --json`'s "operations") that the store reads.
type operationIndex struct {
	ID       string     `json:"id"`
	Severity string     `json:"severity"`
	Score    float64    `json:"score"`
	Hosts    []string   `json:"hosts"`
	First    *time.Time `json:"first"`
	Last     *time.Time `json:"last"`
}

// opRow is what the store indexes of one operation.
type opRow struct {
	id           string
	severityRank int
	score        float64
	first, last  int64
	hosts        string // lower-cased, one per line
	body         []byte
}

// indexOperation checks one operation's JSON and extracts its columns.
func indexOperation(raw []byte) (opRow, error) {
	var o operationIndex
	if err := json.Unmarshal(raw, &o); err != nil {
		return opRow{}, fmt.Errorf("%w: operation JSON: %v", ErrInvalid, err)
	}
	if o.ID == "" {
		return opRow{}, fmt.Errorf("%w: operation without an id", ErrInvalid)
	}
	rank, err := levelRank(o.Severity)
	if err != nil {
		return opRow{}, err
	}
	if !utf8.Valid(raw) {
		return opRow{}, fmt.Errorf("%w: operation JSON is not UTF-8", ErrInvalid)
	}
	var body bytes.Buffer
	if err := json.Compact(&body, raw); err != nil {
		return opRow{}, fmt.Errorf("%w: operation JSON: %v", ErrInvalid, err)
	}
	row := opRow{id: clean(o.ID), severityRank: rank, score: o.Score, first: noTime, last: noTime, body: body.Bytes()}
	if o.First != nil && !o.First.IsZero() {
		row.first = micros(*o.First)
	}
	if o.Last != nil && !o.Last.IsZero() {
		row.last = micros(*o.Last)
	}
	hosts := make([]string, len(o.Hosts))
	for i, h := range o.Hosts {
		hosts[i] = strings.ToLower(clean(h))
	}
	row.hosts = strings.Join(hosts, "\n")
	return row, nil
}
