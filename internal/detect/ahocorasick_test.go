package detect

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestScanners checks the automaton and the gram set against strings.Index
// on random needles and texts over a small alphabet (many overlaps).
func TestScanners(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abc\\- "[rng.IntN(6)]
		}
		return string(b)
	}
	for round := range 200 {
		var needles []string
		for range 1 + rng.IntN(40) {
			needles = append(needles, word(4+rng.IntN(6)))
		}
		nums := make([]int32, len(needles))
		for k := range nums {
			nums[k] = int32(k)
		}
		ac := buildAutomaton(needles)
		gs := buildGramSet(needles, nums)
		text := word(rng.IntN(200))
		var want []int32
		for k, n := range needles {
			if strings.Contains(text, n) {
				want = append(want, int32(k))
			}
		}
		for name, find := range map[string]func(string, func(int32)){"automaton": ac.find, "grams": gs.find} {
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
