package sigma

import "strings"

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
