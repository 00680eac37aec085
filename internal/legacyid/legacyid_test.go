package legacyid

import (
	"encoding/csv"
	"strings"
	"testing"
)

func TestKnownTranslations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		lookup func(string) (Entry, bool)
		in     string
		want   string
	}{
		{"seed region", Region, "2", "ord"},
		{"region 1", Region, "1", "ewr"},
		{"region sea", Region, "4", "sea"},
		{"region spaces", Region, " 9 ", "fra"},
		{"seed plan", Plan, "201", "vc2-1c-1gb"},
		{"seed os", OS, "167", "167"},
	}
	for _, tt := range tests {
		got, ok := tt.lookup(tt.in)
		if !ok || got.V2 != tt.want {
			t.Errorf("%s: lookup(%q) = %q, %v; want %q", tt.name, tt.in, got.V2, ok, tt.want)
		}
	}
	if e, _ := Plan("201"); e.Inferred {
		t.Errorf("plan 201 is confirmed by Vultr, but marked inferred")
	}
	if _, ok := Region("999"); ok {
		t.Errorf("Region(999) found")
	}
	if _, ok := Plan("vc2-1c-1gb"); ok {
		t.Errorf("a v2 plan ID must not be read as a v1 one")
	}
}

func TestRegionByCode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{{"ORD", "ord"}, {"ord", "ord"}, {"EWR", "ewr"}} {
		if got, ok := RegionByCode(tt.in); !ok || got != tt.want {
			t.Errorf("RegionByCode(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

// TestEveryRow checks each embedded row translates to what the table says.
func TestEveryRow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		data, v1, v2 string
		lookup       func(string) (Entry, bool)
		wantRows     int
	}{
		{regionsCSV, "v1_id", "region_id", Region, 17},
		{plansCSV, "v1_id", "plan_id", Plan, 19},
		{osCSV, "os_id", "os_id", OS, 39},
	} {
		rows, err := csv.NewReader(strings.NewReader(tc.data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if got := len(rows) - 1; got != tc.wantRows {
			t.Errorf("table with %s: %d rows, want %d", tc.v2, got, tc.wantRows)
		}
		idx := index(rows[0])
		for _, row := range rows[1:] {
			got, ok := tc.lookup(row[idx[tc.v1]])
			if !ok || got.V2 != row[idx[tc.v2]] {
				t.Errorf("lookup(%q) = %q, %v; want %q", row[idx[tc.v1]], got.V2, ok, row[idx[tc.v2]])
			}
			if got.Inferred != inferred(row[idx["evidence"]]) {
				t.Errorf("row %q: Inferred = %v, evidence %q", row[idx[tc.v1]], got.Inferred, row[idx["evidence"]])
			}
		}
	}
}
