package result

import (
	"cmp"
	"slices"
	"strings"
)

// Levels are the Sigma rule levels, least severe first.
var Levels = []string{"informational", "low", "medium", "high", "critical"}

// LevelRank returns the position of a level in Levels (case-insensitive),
// or -1 for an unknown or empty level: less severe than informational.
func LevelRank(level string) int {
	level = strings.ToLower(level)
	for i, l := range Levels {
		if l == level {
			return i
		}
	}
	return -1
}

// Add counts one detection of the given level.
func (c *LevelCounts) Add(level string) {
	switch level {
	case "critical":
		c.Critical++
	case "high":
		c.High++
	case "medium":
		c.Medium++
	case "low":
		c.Low++
	default:
		c.Informational++
	}
}

// Get returns the count of a level.
func (c LevelCounts) Get(level string) int {
	switch level {
	case "critical":
		return c.Critical
	case "high":
		return c.High
	case "medium":
		return c.Medium
	case "low":
		return c.Low
	case "informational":
		return c.Informational
	}
	return 0
}

// BySeverity returns the detections of r, most severe first, then in time
// order: the order of a list for a person. r.Detections is not changed.
func (r *Result) BySeverity() []Detection {
	ds := slices.Clone(r.Detections)
	slices.SortStableFunc(ds, func(a, b Detection) int {
		return cmp.Compare(LevelRank(b.Rule.Level), LevelRank(a.Rule.Level))
	})
	return ds
}
