package detect

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
// their local numbers).
func buildGramSet(needles []string, nums []int32) *gramSet {
	count := map[uint32]int{}
	for _, n := range needles {
		seen := map[uint32]bool{}
		for i := 0; i+4 <= len(n); i++ {
			g := gramAt(n, i)
			if !seen[g] {
				seen[g] = true
				count[g]++
			}
		}
	}
	byGram := map[uint32][]gramEntry{}
	var order []uint32
	maxNum := int32(0)
	for k, n := range needles {
		best, bestOff := uint32(0), -1
		for i := 0; i+4 <= len(n); i++ {
			g := gramAt(n, i)
			if bestOff < 0 || count[g] < count[best] {
				best, bestOff = g, i
			}
		}
		if _, ok := byGram[best]; !ok {
			order = append(order, best)
		}
		byGram[best] = append(byGram[best], gramEntry{needle: nums[k], off: int32(bestOff)})
		maxNum = max(maxNum, nums[k])
	}
	gs := &gramSet{needles: make([]string, maxNum+1)}
	for k, n := range needles {
		gs.needles[nums[k]] = n
	}
	size := uint32(16)
	for size < uint32(2*len(order)) {
		size *= 2
	}
	gs.mask = size - 1
	gs.keys = make([]uint32, size)
	gs.starts = make([]int32, size)
	gs.ends = make([]int32, size)
	for i := range gs.starts {
		gs.starts[i] = -1
	}
	for _, g := range order {
		h := gramHash(g)
		gs.bits[h>>6] |= 1 << (h & 63)
		s := h & gs.mask
		for gs.starts[s] >= 0 {
			s = (s + 1) & gs.mask
		}
		gs.keys[s] = g
		gs.starts[s] = int32(len(gs.entries))
		gs.entries = append(gs.entries, byGram[g]...)
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
