// Package textdist finds the names closest to a mistyped one, for error
// messages that say what would be valid.
package textdist

import (
	"fmt"
	"sort"
	"strings"
)

// Distance is the Levenshtein edit distance between a and b, in runes.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Closest returns up to n candidates nearest to s (ignoring case), nearest
// first, ties in alphabetical order.
func Closest(s string, candidates []string, n int) []string {
	type scored struct {
		c string
		d int
	}
	sc := make([]scored, 0, len(candidates))
	for _, c := range candidates {
		sc = append(sc, scored{c, Distance(strings.ToLower(s), strings.ToLower(c))})
	}
	sort.Slice(sc, func(i, j int) bool {
		if sc[i].d != sc[j].d {
			return sc[i].d < sc[j].d
		}
		return sc[i].c < sc[j].c
	})
	out := make([]string, 0, n)
	for i := 0; i < len(sc) && i < n; i++ {
		out = append(out, sc[i].c)
	}
	return out
}

// LineDiff lists the lines that differ between a and b, with their
// numbers: "-" a's, "+" b's (at most max lines; 0 means all).
func LineDiff(a, b string, max int) []string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n  - %s\n  + %s", i+1, x, y))
			if max > 0 && len(out) == max {
				break
			}
		}
	}
	return out
}
