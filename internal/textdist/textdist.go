// Package textdist finds the names closest to a mistyped one, for error
// messages that say what would be valid.
package textdist

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/agext/levenshtein"
)

// Distance is the Levenshtein edit distance between a and b, in runes
// (agext/levenshtein, which HCL already brings in).
func Distance(a, b string) int { return levenshtein.Distance(a, b, nil) }

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

// DidYouMean returns `; did you mean "x"?` when a candidate is close to
// got (within a third of its length, at least 2 edits), or "".
func DidYouMean(got string, valid []string) string {
	c := Closest(got, valid, 1)
	if len(c) == 1 && Distance(strings.ToLower(got), strings.ToLower(c[0])) <= max(2, len(got)/3) {
		return fmt.Sprintf("; did you mean %q?", c[0])
	}
	return ""
}

// QuoteList quotes names for a message: "a", "b" and "c".
func QuoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
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
