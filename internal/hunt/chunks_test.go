package hunt

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
)

func TestChunks(t *testing.T) {
	var c chunks[int]
	if c.len() != 0 {
		t.Fatal("zero value not empty")
	}
	n := 2*chunkSize + 3
	for i := range n {
		c.add(i)
	}
	if c.len() != n {
		t.Fatalf("len %d, want %d", c.len(), n)
	}
	for _, i := range []int{0, 1, chunkSize - 1, chunkSize, 2 * chunkSize, n - 1} {
		if got := *c.at(i); got != i {
			t.Errorf("at(%d) = %d", i, got)
		}
	}
}

// TestMergeRuns checks that merging per-worker sorted runs gives the
// stable sort of their concatenation, refs in step with detections.
func TestMergeRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	rules := []*result.Rule{{ID: "a", Title: "A"}, {ID: "b", Title: "B"}}
	for _, sizes := range [][]int{{0}, {5}, {0, 0, 3}, {chunkSize + 7, 40, 0, 1}, {300, 300}} {
		var runs []*sortedRun
		var all []result.Detection
		var allRefs []operation.DetectionRef
		for k, size := range sizes {
			ds, refs := &chunks[result.Detection]{}, &chunks[operation.DetectionRef]{}
			for i := range size {
				d := result.Detection{
					Time: base.Add(time.Duration(rng.IntN(50)) * time.Second), Computer: []string{"h1", "h2"}[rng.IntN(2)],
					RecordID: int64(rng.IntN(5)), Rule: rules[rng.IntN(2)], Source: "f", Locator: int64(k*10000 + i),
				}
				r := operation.DetectionRef{Index: k*10000 + i}
				ds.add(d)
				refs.add(r)
				all = append(all, d)
				allRefs = append(allRefs, r)
			}
			runs = append(runs, newSortedRun(ds, refs))
		}
		got, gotRefs := mergeRuns(runs, true)
		order := make([]int, len(all))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return compareDetections(&all[a], &all[b]) })
		if len(got) != len(all) || len(gotRefs) != len(all) {
			t.Fatalf("sizes %v: got %d detections, %d refs; want %d", sizes, len(got), len(gotRefs), len(all))
		}
		for i, j := range order {
			if got[i].Locator != all[j].Locator || gotRefs[i].Index != allRefs[j].Index {
				t.Fatalf("sizes %v: position %d holds locator %d ref %d, want %d", sizes, i, got[i].Locator, gotRefs[i].Index, all[j].Locator)
			}
		}
		if noRefs, refs := mergeRuns(runsAgain(runs), false); refs != nil || len(noRefs) != len(all) {
			t.Errorf("sizes %v: without refs got %d detections and refs %v", sizes, len(noRefs), refs)
		}
	}
}

// runsAgain rewinds runs for a second merge.
func runsAgain(runs []*sortedRun) []*sortedRun {
	for _, r := range runs {
		r.next = 0
	}
	return runs
}
