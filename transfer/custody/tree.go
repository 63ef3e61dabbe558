package custody

import (
	"golang.org/x/mod/sumdb/tlog"
)

// frontier holds the roots of the perfect subtrees that make up an RFC 6962
// tree of n leaves, largest first: O(log n) hashes that are enough to add a
// leaf, to compute the tree hash, and to prove the newest leaf.
type frontier struct {
	n     int64
	roots []tlog.Hash
}

// add appends a leaf and returns the inclusion proof of that leaf in the
// tree that now includes it: the old roots, smallest first.
func (f *frontier) add(leaf tlog.Hash) []tlog.Hash {
	proof := make([]tlog.Hash, len(f.roots))
	for i, r := range f.roots {
		proof[len(f.roots)-1-i] = r
	}
	h := leaf
	// Merge equal-sized subtrees: one per trailing 1 bit of n.
	for m := f.n; m&1 == 1; m >>= 1 {
		last := len(f.roots) - 1
		h = tlog.NodeHash(f.roots[last], h)
		f.roots = f.roots[:last]
	}
	f.roots = append(f.roots, h)
	f.n++
	return proof
}

// hash returns the tree hash of the n leaves added so far.
func (f *frontier) hash() tlog.Hash {
	if len(f.roots) == 0 {
		return tlog.Hash{}
	}
	h := f.roots[len(f.roots)-1]
	for i := len(f.roots) - 2; i >= 0; i-- {
		h = tlog.NodeHash(f.roots[i], h)
	}
	return h
}

// clone returns a copy that can grow without changing f.
func (f *frontier) clone() frontier {
	return frontier{n: f.n, roots: append([]tlog.Hash(nil), f.roots...)}
}
