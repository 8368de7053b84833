package detect

import (
	"cmp"
	"math"
	"slices"
)

// gramSet finds many needles of at least four bytes in a text, for needle
// sets too large for a DFA that stays in cache. Each needle is anchored on
// one of its 4-byte grams, the one the fewest needles share. Scanning the
// text computes each position's gram (rolling, ASCII-folded as needles
// hold no upper-case ASCII letter), tests an 8 KiB bitset of
// the anchor grams' hashes and, on a hit, looks the gram up and compares the
// needles anchored on it with the text around. Immutable once built.
type gramSet struct {
	bits [1 << gramHashBits / 64]uint64
	// Open addressing table from gram to its entries.
	keys   []uint32
	starts []int32 // -1: empty slot; else entries[starts[s]:ends[s]]
	ends   []int32
	mask   uint32
	// entries are needles anchored on a gram, with the anchor's offset.
	entries []gramEntry
	needles []string // by local needle number
}

const gramHashBits = 16

type gramEntry struct {
	needle int32 // local needle number
	off    int32 // offset of the anchor gram in the needle
}

func gramHash(g uint32) uint32 { return (g * 0x9E3779B1) >> (32 - gramHashBits) }

// gramAt returns the 4-byte gram at s[i:], ASCII-folded.
func gramAt(s string, i int) uint32 {
	return uint32(foldASCII[s[i]]) | uint32(foldASCII[s[i+1]])<<8 | uint32(foldASCII[s[i+2]])<<16 | uint32(foldASCII[s[i+3]])<<24
}

// buildGramSet indexes needles (each at least 4 bytes long; nums gives
// their local numbers). The sets are built on the hunt's first events and
// hold tens of thousands of grams.
func buildGramSet(needles []string, nums []int32) *gramSet {
	// How often each gram occurs in the needles, counted in a table of
	// saturating counters indexed by the gram's hash: the counts only
	// steer the choice of anchors, so collisions cost a little scanning
	// speed, never a match, and a table that stays in cache builds the
	// largest sets (thousands of needles) several times faster than exact
	// counting did.
	total := 0
	for _, n := range needles {
		total += max(len(n)-3, 0)
	}
	bits := uint32(10)
	for bits < 18 && 1<<bits < 2*total {
		bits++
	}
	counts := make([]uint16, 1<<bits)
	for _, n := range needles {
		for i := 0; i+4 <= len(n); i++ {
			h := (gramAt(n, i) * 0x9E3779B1) >> (32 - bits)
			if counts[h] < math.MaxUint16 {
				counts[h]++
			}
		}
	}
	count := func(g uint32) uint16 { return counts[(g*0x9E3779B1)>>(32-bits)] }
	// Each needle's anchor: its rarest gram by those counts (the first
	// such), grouped by anchor.
	type anchored struct {
		gram  uint32
		entry gramEntry
	}
	anchors := make([]anchored, len(needles))
	maxNum := int32(0)
	for k, n := range needles {
		best, bestOff, bestCount := uint32(0), -1, uint16(0)
		for i := 0; i+4 <= len(n); i++ {
			g := gramAt(n, i)
			if c := count(g); bestOff < 0 || c < bestCount {
				best, bestOff, bestCount = g, i, c
			}
		}
		anchors[k] = anchored{best, gramEntry{needle: nums[k], off: int32(bestOff)}}
		maxNum = max(maxNum, nums[k])
	}
	slices.SortStableFunc(anchors, func(a, b anchored) int { return cmp.Compare(a.gram, b.gram) })
	gs := &gramSet{needles: make([]string, maxNum+1)}
	for k, n := range needles {
		gs.needles[nums[k]] = n
	}
	groups := 0
	for i := range anchors {
		if i == 0 || anchors[i].gram != anchors[i-1].gram {
			groups++
		}
	}
	size := uint32(16)
	for size < uint32(2*groups) {
		size *= 2
	}
	gs.mask = size - 1
	gs.keys = make([]uint32, size)
	gs.starts = make([]int32, size)
	gs.ends = make([]int32, size)
	for i := range gs.starts {
		gs.starts[i] = -1
	}
	gs.entries = make([]gramEntry, 0, len(anchors))
	for i := 0; i < len(anchors); {
		g := anchors[i].gram
		h := gramHash(g)
		gs.bits[h>>6] |= 1 << (h & 63)
		s := h & gs.mask
		for gs.starts[s] >= 0 {
			s = (s + 1) & gs.mask
		}
		gs.keys[s] = g
		gs.starts[s] = int32(len(gs.entries))
		for ; i < len(anchors) && anchors[i].gram == g; i++ {
			gs.entries = append(gs.entries, anchors[i].entry)
		}
		gs.ends[s] = int32(len(gs.entries))
	}
	return gs
}

// lookup returns the entries anchored on gram g (whose hash is h).
func (gs *gramSet) lookup(g, h uint32) []gramEntry {
	for s := h & gs.mask; gs.starts[s] >= 0; s = (s + 1) & gs.mask {
		if gs.keys[s] == g {
			return gs.entries[gs.starts[s]:gs.ends[s]]
		}
	}
	return nil
}

// find calls hit for every needle found in t (read ASCII-folded).
func (gs *gramSet) find(t string, hit func(needle int32)) {
	if len(t) < 4 {
		return
	}
	g := gramAt(t, 0) << 8
	for i := 0; i+4 <= len(t); i++ {
		g = g>>8 | uint32(foldASCII[t[i+3]])<<24
		h := gramHash(g)
		if gs.bits[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, e := range gs.lookup(g, h) {
			n := gs.needles[e.needle]
			start := i - int(e.off)
			if start >= 0 && hasFoldPrefix(t[start:], n) {
				hit(e.needle)
			}
		}
	}
}
