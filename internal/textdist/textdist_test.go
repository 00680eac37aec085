package textdist

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"plan_id", "plan_id", 0},
		{"plan_idd", "plan_id", 1},
		{"vutlr", "vultr", 2},
		{"", "abc", 3},
		{"Zürich", "Zurich", 1},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	t.Parallel()
	got := Closest("CHICAGO", []string{"Atlanta", "Chicago", "Dallas", "Chicagoo"}, 2)
	if want := "Chicago,Chicagoo"; strings.Join(got, ",") != want {
		t.Errorf("Closest = %v, want %s", got, want)
	}
	if got := Closest("x", nil, 3); len(got) != 0 {
		t.Errorf("Closest with no candidates = %v", got)
	}
}

func TestQuoteList(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"a"}, `"a"`},
		{[]string{"a", "b"}, `"a" and "b"`},
		{[]string{"a", "b", "c"}, `"a", "b" and "c"`},
	} {
		if got := QuoteList(tt.in); got != tt.want {
			t.Errorf("QuoteList(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
