package result

import (
	"cmp"
	"slices"

	"github.com/spoor-hunt/spoor/internal/sigma"
)

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
		return cmp.Compare(sigma.LevelRank(b.Rule.Level), sigma.LevelRank(a.Rule.Level))
	})
	return ds
}
