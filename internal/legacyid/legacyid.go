// Package legacyid translates Vultr API v1 numeric identifiers, which older
// Packer templates carry (region_id "2", plan_id "201"), to API v2
// identifiers ("ord", "vc2-1c-1gb"). The tables are Vultr's published v1
// and v2 catalogues matched row by row; rows whose evidence column starts
// with INFERENCE are matches by specification, not confirmed by Vultr.
package legacyid

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"
	"sync"
)

//go:embed legacy_regions.csv
var regionsCSV string

//go:embed legacy_plans.csv
var plansCSV string

//go:embed legacy_os.csv
var osCSV string

// Entry is one row of a table.
type Entry struct {
	V1       string // the v1 numeric ID, as text
	V2       string // the v2 identifier
	Name     string // a human name: city, plan description, OS name
	Inferred bool   // the match is an inference, not confirmed
}

type table struct {
	byV1 map[string]Entry
	all  []Entry
}

var (
	once                  sync.Once
	regions, plans, osIDs table
	byCode                map[string]string
)

func load() {
	regions = parse(regionsCSV, "v1_id", "region_id", "city")
	plans = parse(plansCSV, "v1_id", "plan_id", "v1_name")
	osIDs = parse(osCSV, "os_id", "os_id", "v2_name")
	byCode = map[string]string{}
	r := csv.NewReader(strings.NewReader(regionsCSV))
	rows, _ := r.ReadAll()
	if len(rows) > 0 {
		idx := index(rows[0])
		for _, row := range rows[1:] {
			byCode[strings.ToUpper(row[idx["v1_regioncode"]])] = row[idx["region_id"]]
		}
	}
}

func index(header []string) map[string]int {
	m := map[string]int{}
	for i, h := range header {
		m[h] = i
	}
	return m
}

// parse reads an embedded table. The tables are part of the binary and
// checked by tests, so a malformed one yields an empty table, not a panic.
func parse(data, v1Col, v2Col, nameCol string) table {
	t := table{byV1: map[string]Entry{}}
	rows, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil || len(rows) == 0 {
		return t
	}
	idx := index(rows[0])
	for _, row := range rows[1:] {
		e := Entry{
			V1:       row[idx[v1Col]],
			V2:       row[idx[v2Col]],
			Name:     row[idx[nameCol]],
			Inferred: inferred(row[idx["evidence"]]),
		}
		t.byV1[e.V1] = e
		t.all = append(t.all, e)
	}
	return t
}

// Region translates a v1 DCID ("2") to a v2 region ID ("ord").
func Region(v1 string) (Entry, bool) {
	once.Do(load)
	e, ok := regions.byV1[strings.TrimSpace(v1)]
	return e, ok
}

// RegionByCode translates a v1 region code ("ORD") to a v2 region ID.
func RegionByCode(code string) (string, bool) {
	once.Do(load)
	id, ok := byCode[strings.ToUpper(strings.TrimSpace(code))]
	return id, ok
}

// Plan translates a v1 VPSPLANID ("201") to a v2 plan ID ("vc2-1c-1gb").
func Plan(v1 string) (Entry, bool) {
	once.Do(load)
	e, ok := plans.byV1[strings.TrimSpace(v1)]
	return e, ok
}

// OS looks up an OS ID; v1 and v2 OS IDs are the same numbers. A row with
// no v2 name is an OS Vultr has retired.
func OS(id string) (Entry, bool) {
	once.Do(load)
	e, ok := osIDs.byV1[strings.TrimSpace(id)]
	return e, ok
}

// Regions lists every known v1 region, for messages.
func Regions() []Entry { once.Do(load); return append([]Entry(nil), regions.all...) }

// Plans lists every known v1 plan, for messages.
func Plans() []Entry { once.Do(load); return append([]Entry(nil), plans.all...) }

// Describe formats an entry for a warning: `"201" is plan vc2-1c-1gb`.
func (e Entry) Describe(kind string) string {
	s := fmt.Sprintf("legacy %s %q is %s", kind, e.V1, e.V2)
	if e.Name != "" {
		s += " (" + e.Name + ")"
	}
	return s
}

// inferred reads a row's evidence: an INFERENCE that a later source
// explicitly confirmed counts as confirmed.
func inferred(evidence string) bool {
	return strings.HasPrefix(evidence, "INFERENCE") && !strings.Contains(evidence, "explicitly confirmed")
}
