package hunt

import (
	"slices"
	"testing"
)

func TestChunks(t *testing.T) {
	var c chunks[int]
	if c.len() != 0 || len(c.appendTo(nil)) != 0 {
		t.Fatal("zero value not empty")
	}
	var want []int
	for i := range 2*chunkSize + 3 {
		c.add(i)
		want = append(want, i)
	}
	if c.len() != len(want) {
		t.Fatalf("len %d, want %d", c.len(), len(want))
	}
	if got := c.appendTo([]int{-1}); !slices.Equal(got[1:], want) || got[0] != -1 {
		t.Fatalf("appendTo lost or reordered items")
	}
}
