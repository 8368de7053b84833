package hunt

// chunkSize is how many items a chunks chunk holds.
const chunkSize = 512

// chunks is an append-only list kept in fixed-size chunks, so that growing
// it never copies what it holds (a worker's detections are large, and most
// of a hunt's allocation was their growing slices). The zero value is
// empty.
type chunks[T any] struct {
	full [][]T
	cur  []T
	n    int
}

// add appends x.
func (c *chunks[T]) add(x T) {
	if len(c.cur) == cap(c.cur) {
		if c.cur != nil {
			c.full = append(c.full, c.cur)
		}
		c.cur = make([]T, 0, chunkSize)
	}
	c.cur = append(c.cur, x)
	c.n++
}

// len returns the number of items.
func (c *chunks[T]) len() int { return c.n }

// at returns item i (0 <= i < len()): every chunk before the last is full.
func (c *chunks[T]) at(i int) *T {
	if k := i / chunkSize; k < len(c.full) {
		return &c.full[k][i%chunkSize]
	}
	return &c.cur[i%chunkSize]
}
