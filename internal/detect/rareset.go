package detect

import "strings"

// rareSet finds one or two needles in a text by the rarest byte of each:
// strings.IndexByte (vector instructions) looks for that byte in both
// ASCII cases and each place it is found is checked, so that a long text
// is read many bytes at a step, where a shiftSet hashes a block per step
// (on the Message texts of Winlogbeat events, about three times the bytes
// per second; on the short values of EVTX records, about the same). Like
// the other scanners, it finds the needles (which hold no upper-case ASCII
// letter) in the ASCII-folded text. Immutable once built.
type rareSet struct {
	needles []string
	at      []int // the offset of each needle's rarest byte
}

// maxRareNeedles bounds the needles of a rareSet: each costs a pass (two
// for a letter) over the text.
const maxRareNeedles = 2

// commonBytes are the bytes of event values, ASCII-folded, most common
// first, as counted over evtx-attack-samples and a Security-Datasets
// recording of Winlogbeat JSON; a byte not listed is rarer than all.
const commonBytes = "e0soctdi\\2narw3:m 1-l54.by68fxvp9u7+|gh{}k=z_()$,/;'j\"%][q@*>&<#"

// byteRank ranks bytes by how common they are: 0 for the rarest.
var byteRank = func() (r [256]uint8) {
	for i := range len(commonBytes) {
		r[commonBytes[i]] = uint8(len(commonBytes) - i)
	}
	return r
}()

// buildRareSet indexes needles, or returns nil when a rareSet does not
// suit them (more than maxRareNeedles, or one shorter than minShiftLen:
// short needles are the automaton's).
func buildRareSet(needles []string) *rareSet {
	if len(needles) == 0 || len(needles) > maxRareNeedles {
		return nil
	}
	rs := &rareSet{needles: needles, at: make([]int, len(needles))}
	for k, n := range needles {
		if len(n) < minShiftLen {
			return nil
		}
		for i := 1; i < len(n); i++ {
			if byteRank[n[i]] < byteRank[n[rs.at[k]]] {
				rs.at[k] = i
			}
		}
	}
	return rs
}

// find calls hit for every needle that occurs in t (read ASCII-folded),
// once each: a needle found once is found for the event.
func (rs *rareSet) find(t string, hit func(needle int32)) {
	for k, n := range rs.needles {
		if indexFold(t, n, rs.at[k]) >= 0 {
			hit(int32(k))
		}
	}
}

// indexFold returns the first place of needle n in t read ASCII-folded,
// or -1, looking for n's byte at offset p in both ASCII cases.
func indexFold(t, n string, p int) int {
	lo := n[p]
	up := lo
	if 'a' <= lo && lo <= 'z' {
		up = lo - 'a' + 'A'
	}
	limit := len(t) - (len(n) - 1 - p) // the byte's last possible place, excluded
	nextLo, nextUp := -1, -1           // the next place of each case at or after pos; -1 unknown
	for pos := p; pos < limit; {
		if nextLo < pos {
			if nextLo = strings.IndexByte(t[pos:limit], lo); nextLo >= 0 {
				nextLo += pos
			} else {
				nextLo = limit
			}
		}
		if up == lo {
			nextUp = limit
		} else if nextUp < pos {
			if nextUp = strings.IndexByte(t[pos:limit], up); nextUp >= 0 {
				nextUp += pos
			} else {
				nextUp = limit
			}
		}
		c := min(nextLo, nextUp)
		if c >= limit {
			return -1
		}
		if hasFoldPrefix(t[c-p:], n) {
			return c - p
		}
		pos = c + 1
	}
	return -1
}
