package detect

import "slices"

// automaton is an Aho-Corasick automaton over bytes, compiled to a DFA:
// one table lookup per input byte. Bytes are first mapped to classes (one
// per byte that occurs in some needle, plus class 0 for all others), which
// keeps the table small. Needles hold no ASCII upper-case letter, and an
// upper-case letter of the text has the class of its lower case: the
// automaton finds the needles in the text's ASCII-folded form. It is
// immutable once built and safe for concurrent use.
type automaton struct {
	class  [256]uint16
	nclass int32
	// next[state*nclass+class] is the state after reading a byte, as the
	// offset of its row (state*nclass), bitwise negated (^offset, so
	// negative) when needles end there.
	next []int32
	// out[outStart[s]:outStart[s+1]] lists the needles (by their index in
	// the slice given to buildAutomaton) that end at state s, including
	// those reached through failure links.
	outStart []int32
	out      []int32
}

// buildAutomatonNums compiles needles whose local numbers are nums.
func buildAutomatonNums(needles []string, nums []int32) *automaton {
	a := buildAutomaton(needles)
	for k, n := range a.out {
		a.out[k] = nums[n]
	}
	return a
}

// buildAutomaton compiles needles (none empty, none with an ASCII
// upper-case letter; at most 255 distinct bytes used) into an automaton.
func buildAutomaton(needles []string) *automaton {
	a := &automaton{nclass: 1}
	for _, n := range needles {
		for i := 0; i < len(n); i++ {
			if a.class[n[i]] == 0 {
				a.class[n[i]] = uint16(a.nclass)
				a.nclass++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		a.class[c] = a.class[c+'a'-'A']
	}
	nc := int(a.nclass)
	// At most one state per needle byte, plus the root.
	bound := 1
	for _, n := range needles {
		bound += len(n)
	}
	a.next = make([]int32, 0, bound*nc)
	newState := func() int32 {
		s := int32(len(a.next) / nc)
		a.next = a.next[:len(a.next)+nc]
		row := a.next[len(a.next)-nc:]
		for i := range row {
			row[i] = -1
		}
		return s
	}
	newState() // root
	own := [][]int32{nil}
	for k, n := range needles {
		s := int32(0)
		for i := 0; i < len(n); i++ {
			c := int(a.class[n[i]])
			t := a.next[int(s)*nc+c]
			if t < 0 {
				t = newState()
				own = append(own, nil)
				a.next[int(s)*nc+c] = t
			}
			s = t
		}
		own[s] = append(own[s], int32(k))
	}
	nstates := len(own)
	fail := make([]int32, nstates)
	outs := make([][]int32, nstates)
	outs[0] = own[0]
	queue := make([]int32, 0, nstates)
	for c := range nc {
		t := a.next[c]
		if t < 0 {
			a.next[c] = 0
			continue
		}
		fail[t] = 0
		queue = append(queue, t)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		// Breadth first: fail[s] is shallower, so its outputs are final.
		outs[s] = append(own[s], outs[fail[s]]...)
		for c := range nc {
			t := a.next[int(s)*nc+c]
			f := a.next[int(fail[s])*nc+c]
			if t < 0 {
				a.next[int(s)*nc+c] = f
				continue
			}
			fail[t] = f
			queue = append(queue, t)
		}
	}
	a.outStart = make([]int32, nstates+1)
	for s := range nstates {
		a.outStart[s] = int32(len(a.out))
		a.out = append(a.out, outs[s]...)
	}
	a.outStart[nstates] = int32(len(a.out))
	a.next = slices.Clip(a.next)
	for k, t := range a.next {
		off := t * int32(nc)
		if a.outStart[t] < a.outStart[t+1] {
			off = ^off
		}
		a.next[k] = off
	}
	return a
}

// states returns the number of states (for statistics and tests).
func (a *automaton) states() int { return len(a.outStart) - 1 }

// find calls hit for every needle occurrence in t (read ASCII-folded), in
// order of where it ends.
func (a *automaton) find(t string, hit func(needle int32)) {
	next, class := a.next, &a.class
	s := int32(0)
	for i := 0; i < len(t); i++ {
		s = next[s+int32(class[t[i]])]
		if s < 0 {
			s = ^s
			st := s / a.nclass
			for _, n := range a.out[a.outStart[st]:a.outStart[st+1]] {
				hit(n)
			}
		}
	}
}
