package detect

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestScanners checks the automaton, the gram set, the shift set and the
// rare-byte set against strings.Contains on random needles and texts over a small
// alphabet (many overlaps); the scanners fold the text's ASCII case.
func TestScanners(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(n int, alphabet string) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	shifts, rares := 0, 0
	for round := range 400 {
		var needles []string
		n := 1 + rng.IntN(40)
		if round%2 == 1 {
			n = 1 + rng.IntN(maxRareNeedles)
		}
		for range n {
			needles = append(needles, word(4+round%2+rng.IntN(6), "abc\\- "))
		}
		nums := make([]int32, len(needles))
		for k := range nums {
			nums[k] = int32(k)
		}
		ac := buildAutomaton(needles)
		gs := buildGramSet(needles, nums)
		text := word(rng.IntN(200), "abcAB\\- ")
		var want []int32
		for k, n := range needles {
			if strings.Contains(strings.ToLower(text), n) {
				want = append(want, int32(k))
			}
		}
		finders := map[string]func(string, func(int32)){"automaton": ac.find, "grams": gs.find}
		if ss := buildShiftSet(needles); ss != nil {
			finders["shift"] = ss.find
			shifts++
		}
		if rs := buildRareSet(needles); rs != nil {
			finders["rare"] = rs.find
			rares++
		}
		for name, find := range finders {
			var got []int32
			find(text, func(n int32) {
				if !slices.Contains(got, n) {
					got = append(got, n)
				}
			})
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("round %d %s: text %q needles %q: got %v, want %v", round, name, text, needles, got, want)
			}
		}
	}
	if shifts == 0 || rares == 0 {
		t.Errorf("%d rounds built a shift set, %d a rare-byte set: want some of each", shifts, rares)
	}
}

// TestByteRank: every byte of commonBytes is listed once, and ranks above
// the bytes not listed.
func TestByteRank(t *testing.T) {
	seen := map[byte]bool{}
	for i := range len(commonBytes) {
		c := commonBytes[i]
		if seen[c] || byteRank[c] == 0 || foldASCII[c] != c {
			t.Errorf("commonBytes[%d] %q: listed twice, unranked or upper-case", i, c)
		}
		seen[c] = true
	}
	if byteRank['Q'] != 0 || byteRank[0xc3] != 0 {
		t.Errorf("bytes not listed rank %d, %d; want 0", byteRank['Q'], byteRank[0xc3])
	}
}

func TestAutomatonOutputs(t *testing.T) {
	ac := buildAutomaton([]string{"he", "she", "his", "hers"})
	var got []string
	ac.find("ushers", func(n int32) { got = append(got, fmt.Sprint(n)) })
	// "she" and "he" end at the same byte, then "hers".
	if want := []string{"1", "0", "3"}; !slices.Equal(got, want) {
		t.Errorf("ushers: got %v, want %v", got, want)
	}
}
