package hunt

import (
	"slices"
	"sync"

	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
)

// sortedRun is one run of detections (a worker's, or the correlations')
// with their refs (empty without operations) and the order that sorts
// them: the detections themselves are large and are moved once, by
// mergeRuns.
type sortedRun struct {
	ds    *chunks[result.Detection]
	refs  *chunks[operation.DetectionRef]
	order []int32
	next  int // position in order of the run's next detection
}

// newSortedRun sorts the detections of ds by compareDetections, stably,
// through an index; refs hold one ref per detection, or none.
func newSortedRun(ds *chunks[result.Detection], refs *chunks[operation.DetectionRef]) *sortedRun {
	order := make([]int32, ds.len())
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return compareDetections(ds.at(int(a)), ds.at(int(b))) })
	return &sortedRun{ds: ds, refs: refs, order: order}
}

// head returns the run's next detection, nil when it has none left.
func (r *sortedRun) head() *result.Detection {
	if r.next == len(r.order) {
		return nil
	}
	return r.ds.at(int(r.order[r.next]))
}

// mergeRuns merges sorted runs into one slice of detections sorted by
// compareDetections and, when withRefs, their refs in the same order.
// Equal detections keep the order of their runs, so the result is the
// stable sort of the runs' concatenation whichever the worker that found
// each detection.
func mergeRuns(runs []*sortedRun, withRefs bool) ([]result.Detection, []operation.DetectionRef) {
	n := 0
	for _, r := range runs {
		n += len(r.order)
	}
	ds := make([]result.Detection, 0, n)
	var refs []operation.DetectionRef
	if withRefs {
		refs = make([]operation.DetectionRef, 0, n)
	}
	for len(ds) < n {
		var best *sortedRun
		var bestHead *result.Detection
		for _, r := range runs {
			if h := r.head(); h != nil && (best == nil || compareDetections(h, bestHead) < 0) {
				best, bestHead = r, h
			}
		}
		j := int(best.order[best.next])
		best.next++
		ds = append(ds, *bestHead)
		if withRefs {
			refs = append(refs, *best.refs.at(j))
		}
	}
	return ds, refs
}

// sorting is the sorting of the workers' detections, each worker's on a
// core of its own, while the correlations run.
type sorting struct {
	// runs are the workers', the tampering findings' (addRun), then the
	// correlations': each has its slot from the start, as the workers'
	// sorts write theirs while the others are added.
	runs []*sortedRun
	wg   sync.WaitGroup
}

// sortFound starts sorting the detections of each worker of ws.
func sortFound(ws []*worker) *sorting {
	s := &sorting{runs: make([]*sortedRun, len(ws)+2)}
	for i, w := range ws {
		s.wg.Go(func() { s.runs[i] = newSortedRun(&w.found, &w.refs) })
	}
	return s
}

// merge adds the correlations' detections to the runs, waits for the
// sorts and merges the runs (see mergeRuns). A correlation has no event of
// its own: its ref places it by time and host, and says what it counted,
// so that it joins an operation through the nearest linked detection on
// its host.
func (s *sorting) merge(corrs []result.Detection, withRefs bool) ([]result.Detection, []operation.DetectionRef) {
	var ds chunks[result.Detection]
	var refs chunks[operation.DetectionRef]
	for _, d := range corrs {
		ds.add(d)
		refs.add(operation.DetectionRef{Time: d.Time, Host: d.Computer, Counted: countedOf(&d)})
	}
	s.runs[len(s.runs)-1] = newSortedRun(&ds, &refs)
	s.wg.Wait()
	return mergeRuns(slices.DeleteFunc(s.runs, func(r *sortedRun) bool { return r == nil }), withRefs)
}
