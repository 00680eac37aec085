package vultr

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vultr/govultr/v3"

	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/textdist"
)

// Resolved is a build's region, plan and image as v2 identifiers, checked
// against the live catalogue.
type Resolved struct {
	Region, Plan               string
	OSID, AppID                int
	ImageID, SnapshotID, ISOID string
	RegionCity, PlanSummary    string
	ImageName                  string
	// IPv6Only is true for plans without an IPv4 address (Vultr's "-v6"
	// plan IDs): SSH then goes over v6_main_ip.
	IPv6Only bool
}

// Resolve is the pre-flight: before anything billable exists it checks the
// key, the region, the plan, the plan's availability in the region and the
// image, and reports every problem at once as spec.Diagnostics.
func (c *Client) Resolve(ctx context.Context, v spec.Vultr) (*Resolved, error) {
	var ds spec.Diagnostics
	bad := func(ref spec.Ref, summary, detail string) {
		ds = append(ds, spec.Diagnostic{Pos: ref.Pos, Path: ref.Key, Summary: summary, Detail: detail})
	}
	if err := c.Account(ctx); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && (ae.Status == 401 || ae.Status == 403) {
			return nil, spec.Diagnostics{{Path: "api_key", Summary: fmt.Sprintf("the API key was rejected (%d %s)", ae.Status, ae.Message),
				Detail: "check the key, and that the key's IP allow-list admits this runner's address"}}
		}
		return nil, fmt.Errorf("check the API key: %w", err)
	}
	cat := &catalogue{c: c}
	r := &Resolved{}

	// With IDs, one availability call answers for region and plan; the
	// lists are read only for names, or to explain a problem.
	var avail []string
	availOK := false
	if v.Region.ID != "" {
		var pa *govultr.PlanAvailability
		err := c.retry(ctx, func(ctx context.Context) error {
			var err error
			pa, _, err = c.gv.Region.Availability(ctx, v.Region.ID, "all")
			return err
		})
		var ae *APIError
		switch {
		case err == nil:
			avail, availOK = pa.AvailablePlans, true
			r.Region = v.Region.ID
		case errors.As(err, &ae) && (ae.Status == 404 || ae.Status == 400):
			if err := cat.load(ctx, "regions"); err != nil {
				return nil, err
			}
			bad(v.Region, fmt.Sprintf("unknown region %q", v.Region.ID), "regions: "+closest(v.Region.ID, cat.regionIDs(), 8))
		default:
			return nil, fmt.Errorf("check region %s: %w", v.Region.ID, err)
		}
	}

	// Region by name.
	switch {
	case v.Region.Name != "":
		if err := cat.load(ctx, "regions"); err != nil {
			return nil, err
		}
		var matches []govultr.Region
		for _, reg := range cat.regions {
			if strings.EqualFold(reg.City, v.Region.Name) || strings.EqualFold(reg.City+", "+reg.Country, v.Region.Name) {
				matches = append(matches, reg)
			}
		}
		switch len(matches) {
		case 1:
			r.Region, r.RegionCity = matches[0].ID, matches[0].City
		case 0:
			bad(v.Region, fmt.Sprintf("no region is in %q", v.Region.Name), "closest: "+closest(v.Region.Name, cat.cities(), 5))
		default:
			var ids []string
			for _, m := range matches {
				ids = append(ids, m.ID+" ("+m.City+", "+m.Country+")")
			}
			sort.Strings(ids)
			bad(v.Region, fmt.Sprintf("%q matches several regions", v.Region.Name), "use region_id: "+strings.Join(ids, ", "))
		}
	}

	// Plan.
	switch {
	case v.Plan.ID != "" && availOK && contains(avail, v.Plan.ID):
		r.Plan = v.Plan.ID
	case v.Plan.ID != "":
		if err := cat.load(ctx, "plans"); err != nil {
			return nil, err
		}
		if p, ok := cat.plans[v.Plan.ID]; ok {
			r.Plan, r.PlanSummary = p.ID, planSummary(p)
		} else {
			bad(v.Plan, fmt.Sprintf("unknown plan %q", v.Plan.ID), "closest: "+closest(v.Plan.ID, cat.planIDs(), 6))
		}
	case v.Plan.Name != "":
		if err := cat.load(ctx, "plans"); err != nil {
			return nil, err
		}
		for _, p := range cat.plans {
			if strings.EqualFold(planSummary(p), v.Plan.Name) || strings.EqualFold(p.ID, v.Plan.Name) {
				r.Plan, r.PlanSummary = p.ID, planSummary(p)
			}
		}
		if r.Plan == "" {
			var names []string
			for _, p := range cat.plans {
				names = append(names, planSummary(p))
			}
			bad(v.Plan, fmt.Sprintf("no plan is named %q", v.Plan.Name), "closest: "+closest(v.Plan.Name, names, 4))
		}
	}
	r.IPv6Only = strings.HasSuffix(r.Plan, "-v6")

	// Availability of the plan in the region.
	if r.Region != "" && r.Plan != "" {
		if !availOK {
			var pa *govultr.PlanAvailability
			err := c.retry(ctx, func(ctx context.Context) error {
				var err error
				pa, _, err = c.gv.Region.Availability(ctx, r.Region, "all")
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("check plan availability in %s: %w", r.Region, err)
			}
			avail = pa.AvailablePlans
		}
		if !contains(avail, r.Plan) {
			bad(v.Plan, fmt.Sprintf("plan %s is not available in %s", r.Plan, r.Region), "available there: "+strings.Join(first(avail, 8), ", "))
		}
	}

	// Image.
	ref := v.Image.Ref
	switch v.Image.Kind {
	case spec.ImageOS:
		if err := cat.load(ctx, "os"); err != nil {
			return nil, err
		}
		if ref.ID != "" {
			id, _ := strconv.Atoi(ref.ID)
			if o, ok := cat.os[id]; ok {
				r.OSID, r.ImageName = id, o.Name
			} else {
				bad(ref, fmt.Sprintf("unknown os_id %s", ref.ID), "current images include: "+closest(ref.ID, cat.osNames(), 5))
			}
		} else {
			var hits []govultr.OS
			for _, o := range cat.os {
				if strings.EqualFold(o.Name, ref.Name) {
					hits = append(hits, o)
				}
			}
			if len(hits) == 1 {
				r.OSID, r.ImageName = hits[0].ID, hits[0].Name
			} else {
				bad(ref, fmt.Sprintf("no OS is named %q", ref.Name), "closest: "+closest(ref.Name, cat.osNames(), 5))
			}
		}
	case spec.ImageApp:
		r.AppID, _ = strconv.Atoi(ref.ID)
		r.ImageName = "application " + ref.ID
	case spec.ImageMarket:
		r.ImageID, r.ImageName = ref.ID, "marketplace image "+ref.ID
	case spec.ImageSnapshot:
		if ref.ID != "" {
			s, err := c.GetSnapshot(ctx, ref.ID)
			switch {
			case errors.Is(err, ErrNotFound):
				bad(ref, fmt.Sprintf("snapshot %s does not exist", ref.ID), "")
			case err != nil:
				var ae *APIError
				if errors.As(err, &ae) && ae.Status == 400 {
					bad(ref, fmt.Sprintf("snapshot_id %q: %s", ref.ID, ae.Message), "snapshot IDs are UUIDs")
				} else {
					return nil, fmt.Errorf("check snapshot %s: %w", ref.ID, err)
				}
			case s.Status != "complete":
				bad(ref, fmt.Sprintf("snapshot %s is %s, not complete", ref.ID, s.Status), "wait for it to complete")
			default:
				r.SnapshotID, r.ImageName = s.ID, "snapshot "+s.Description
			}
		} else {
			list, err := c.ListSnapshots(ctx, ref.Name)
			if err != nil {
				return nil, fmt.Errorf("find snapshot %q: %w", ref.Name, err)
			}
			var done []Snapshot
			for _, s := range list {
				if s.Status == "complete" {
					done = append(done, s)
				}
			}
			switch len(done) {
			case 1:
				r.SnapshotID, r.ImageName = done[0].ID, "snapshot "+done[0].Description
			case 0:
				bad(ref, fmt.Sprintf("no complete snapshot is described %q", ref.Name), "")
			default:
				bad(ref, fmt.Sprintf("%d snapshots are described %q", len(done), ref.Name), "use snapshot_id to pick one")
			}
		}
	case spec.ImageISO:
		var iso *govultr.ISO
		err := c.retry(ctx, func(ctx context.Context) error {
			var err error
			iso, _, err = c.gv.ISO.Get(ctx, ref.ID)
			return err
		})
		switch {
		case errors.Is(err, ErrNotFound):
			bad(ref, fmt.Sprintf("ISO %s does not exist", ref.ID), "")
		case err != nil:
			return nil, fmt.Errorf("check ISO %s: %w", ref.ID, err)
		case iso.Status != "complete":
			bad(ref, fmt.Sprintf("ISO %s is %s, not complete", ref.ID, iso.Status), "")
		default:
			r.ISOID, r.ImageName = iso.ID, "ISO "+iso.FileName
		}
	}
	if len(ds) > 0 {
		return nil, ds
	}
	return r, nil
}

func planSummary(p govultr.Plan) string {
	return fmt.Sprintf("%d MB RAM,%d GB SSD,%.2f TB BW", p.RAM, p.Disk, float64(p.Bandwidth)/1024)
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(append([]string{}, s[:n]...), "...")
	}
	return s
}

// catalogue is the public lists a pre-flight needed, each read once per
// Client.
type catalogue struct {
	c       *Client
	regions map[string]govultr.Region
	plans   map[string]govultr.Plan
	os      map[int]govultr.OS
}

func (ct *catalogue) regionIDs() []string {
	var out []string
	for id := range ct.regions {
		out = append(out, id)
	}
	return out
}

func (ct *catalogue) cities() []string {
	var out []string
	for _, r := range ct.regions {
		out = append(out, r.City)
	}
	return out
}

func (ct *catalogue) planIDs() []string {
	var out []string
	for id := range ct.plans {
		out = append(out, id)
	}
	return out
}

func (ct *catalogue) osNames() []string {
	var out []string
	for _, o := range ct.os {
		out = append(out, o.Name)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// load reads one list ("regions", "plans", "os"), cached in the Client.
func (ct *catalogue) load(ctx context.Context, what string) error {
	c := ct.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if cached, ok := c.cache[what]; ok {
		switch what {
		case "regions":
			ct.regions = cached.(map[string]govultr.Region)
		case "plans":
			ct.plans = cached.(map[string]govultr.Plan)
		case "os":
			ct.os = cached.(map[int]govultr.OS)
		}
		return nil
	}
	var err error
	switch what {
	case "regions":
		ct.regions = map[string]govultr.Region{}
		err = pages(ctx, c, func(ctx context.Context, o *govultr.ListOptions) (*govultr.Meta, error) {
			list, meta, _, err := c.gv.Region.List(ctx, o)
			for _, r := range list {
				ct.regions[r.ID] = r
			}
			return meta, err
		})
		c.cache[what] = ct.regions
	case "plans":
		ct.plans = map[string]govultr.Plan{}
		err = pages(ctx, c, func(ctx context.Context, o *govultr.ListOptions) (*govultr.Meta, error) {
			list, meta, _, err := c.gv.Plan.List(ctx, "all", o)
			for _, p := range list {
				ct.plans[p.ID] = p
			}
			return meta, err
		})
		c.cache[what] = ct.plans
	case "os":
		ct.os = map[int]govultr.OS{}
		err = pages(ctx, c, func(ctx context.Context, o *govultr.ListOptions) (*govultr.Meta, error) {
			list, meta, _, err := c.gv.OS.List(ctx, o)
			for _, x := range list {
				ct.os[x.ID] = x
			}
			return meta, err
		})
		c.cache[what] = ct.os
	}
	if err != nil {
		delete(c.cache, what)
		return fmt.Errorf("read the Vultr %s list: %w", what, err)
	}
	return nil
}

func pages(ctx context.Context, c *Client, fn func(ctx context.Context, o *govultr.ListOptions) (*govultr.Meta, error)) error {
	o := &govultr.ListOptions{PerPage: 500}
	for {
		var meta *govultr.Meta
		if err := c.retry(ctx, func(ctx context.Context) error {
			var err error
			meta, err = fn(ctx, o)
			return err
		}); err != nil {
			return err
		}
		if meta == nil || meta.Links == nil || meta.Links.Next == "" {
			return nil
		}
		o.Cursor = meta.Links.Next
	}
}

// closest lists up to n candidates nearest to s.
func closest(s string, candidates []string, n int) string {
	return strings.Join(textdist.Closest(s, candidates, n), ", ")
}
