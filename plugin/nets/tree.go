package nets

import "slices"

// innerLevels builds the inner nodes of a static B+ tree whose leaves are
// the sorted range starts, padded to whole blocks of width, and returns
// them top level first. A node holds width keys that separate its width+1
// children: the least key of each child but the first, pad where a child
// is missing. A search counts the keys of a node that are <= the address
// to pick a child, so each level costs one read of adjacent memory, and a
// pad greater than any address searched for is never counted.
func innerLevels[K any](leaves []K, width int, pad K) [][]K {
	least := make([]K, len(leaves)/width)
	for b := range least {
		least[b] = leaves[b*width]
	}
	var levels [][]K
	for len(least) > 1 {
		nodes := (len(least) + width) / (width + 1)
		keys := make([]K, nodes*width)
		up := make([]K, nodes)
		for node := range nodes {
			up[node] = least[node*(width+1)]
			for j := range width {
				keys[node*width+j] = pad
				if child := node*(width+1) + j + 1; child < len(least) {
					keys[node*width+j] = least[child]
				}
			}
		}
		levels = append(levels, keys)
		least = up
	}
	slices.Reverse(levels)
	return levels
}

// padded copies starts into whole blocks of width, filled up with pad.
func padded[K any](starts []K, width int, pad K) []K {
	out := make([]K, (len(starts)+width-1)/width*width)
	copy(out, starts)
	for i := len(starts); i < len(out); i++ {
		out[i] = pad
	}
	return out
}
