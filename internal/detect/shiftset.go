package detect

// shiftSet finds a few needles that are all fairly long in a text, reading
// only a fraction of its bytes (the Wu-Manber algorithm with 2-byte
// blocks). A window as long as the shortest needle slides over the text;
// the block at its end, hashed, gives how far the window can move without
// passing over an occurrence of any needle: the distance from the window's
// end to the last place the block occurs in a needle's first m bytes, or
// m-1 when it occurs in none. Only a shift of zero makes it compare the
// needles whose first m bytes end with that block (by hash) at the
// window's start. Like the automaton, it finds the needles (which hold no
// upper-case ASCII letter) in the ASCII-folded text. Immutable once built.
type shiftSet struct {
	m     int // length of the shortest needle (at least minShiftLen)
	shift [shiftHashSize]uint8
	// cands[candStart[h]:candStart[h+1]] are the needles (local numbers)
	// whose first m bytes end with a block of hash h.
	candStart []int32
	cands     []int32
	needles   []string // by local number
}

const (
	shiftHashBits = 12
	shiftHashSize = 1 << shiftHashBits
	// minShiftLen is the shortest needle length worth a shiftSet: below
	// it windows move too little.
	minShiftLen = 5
	// maxShiftNeedles bounds the needles of a shiftSet: more blocks make
	// small shifts common.
	maxShiftNeedles = 64
)

// blockHash hashes the ASCII-folded block of bytes a, b.
func blockHash(a, b byte) uint32 {
	return ((uint32(foldASCII[a])<<8 | uint32(foldASCII[b])) * 0x9E3779B1) >> (32 - shiftHashBits)
}

// buildShiftSet indexes needles, or returns nil when a shiftSet does not
// suit them (too many, or one shorter than minShiftLen).
func buildShiftSet(needles []string) *shiftSet {
	if len(needles) == 0 || len(needles) > maxShiftNeedles {
		return nil
	}
	m := len(needles[0])
	for _, n := range needles {
		m = min(m, len(n))
	}
	if m < minShiftLen {
		return nil
	}
	ss := &shiftSet{m: m, needles: needles}
	maxShift := uint8(min(m-1, 255))
	for h := range ss.shift {
		ss.shift[h] = maxShift
	}
	count := make([]int32, shiftHashSize+1)
	for _, n := range needles {
		for i := 1; i < m; i++ {
			h := blockHash(n[i-1], n[i])
			ss.shift[h] = min(ss.shift[h], uint8(min(m-1-i, 255)))
		}
		count[blockHash(n[m-2], n[m-1])+1]++
	}
	for h := 1; h <= shiftHashSize; h++ {
		count[h] += count[h-1]
	}
	ss.candStart = make([]int32, shiftHashSize+1)
	copy(ss.candStart, count)
	ss.cands = make([]int32, len(needles))
	for k, n := range needles {
		h := blockHash(n[m-2], n[m-1])
		ss.cands[count[h]] = int32(k)
		count[h]++
	}
	return ss
}

// find calls hit for every needle occurrence in t (read ASCII-folded).
func (ss *shiftSet) find(t string, hit func(needle int32)) {
	m := ss.m
	for end := m - 1; end < len(t); {
		h := blockHash(t[end-1], t[end])
		if sh := ss.shift[h]; sh != 0 {
			end += int(sh)
			continue
		}
		start := end - m + 1
		for _, k := range ss.cands[ss.candStart[h]:ss.candStart[h+1]] {
			if hasFoldPrefix(t[start:], ss.needles[k]) {
				hit(k)
			}
		}
		end++
	}
}
