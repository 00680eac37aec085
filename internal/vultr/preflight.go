package vultr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	// KeyPairID is the ID of ssh_keypair_name's key.
	KeyPairID string
	// Warnings are checks the pre-flight could not make (a 403 on an
	// optional check): the create will tell.
	Warnings []string
}

// Resolve is the pre-flight: before anything billable exists it checks the
// region, the plan, the plan's availability in the region and the image,
// and reports every problem at once as spec.Diagnostics.
//
// It asks for no permission the build does not need: the catalogue calls
// are public (Vultr asks no key for them), and the key is checked with a
// call of the kind the build makes anyway (listing instances, which it
// does to find its own after a lost answer), once per key and run. A 403
// on an optional check is a warning.
func (c *Client) Resolve(ctx context.Context, v spec.Vultr) (*Resolved, error) {
	p := &preflight{c: c, r: &Resolved{}}
	for _, check := range []func(context.Context, spec.Vultr) error{p.key, p.region, p.plan, p.availability, p.image, p.keyPair} {
		if err := check(ctx, v); err != nil {
			return nil, err
		}
	}
	if len(p.ds) > 0 {
		return nil, p.ds
	}
	p.r.IPv6Only = strings.HasSuffix(p.r.Plan, "-v6")
	return p.r, nil
}

// preflight is one build's pre-flight in progress.
type preflight struct {
	c  *Client
	r  *Resolved
	ds spec.Diagnostics
	// avail is the region's available plans, once read.
	avail   []string
	availOK bool
}

func (p *preflight) bad(ref spec.Ref, summary, detail string) {
	p.ds = append(p.ds, spec.Diagnostic{Pos: ref.Pos, Path: ref.Key, Summary: summary, Detail: detail})
}

// authProblem turns a refused key into a diagnostic (401) or a warning
// (403: the check is skipped). It reports whether err was either.
func (p *preflight) authProblem(ref spec.Ref, what string, err error) bool {
	var ae *APIError
	switch {
	case !errors.As(err, &ae):
		return false
	case ae.Status == http.StatusUnauthorized:
		p.ds = append(p.ds, keyRejected(ae))
		return true
	case ae.Status == http.StatusForbidden:
		p.r.Warnings = append(p.r.Warnings, fmt.Sprintf("%s: could not check %s (403 %s: the API key lacks a permission for it); the create will tell", ref.Key, what, ae.Message))
		return true
	}
	return false
}

// keyRejected is the diagnostic for a 401.
func keyRejected(ae *APIError) spec.Diagnostic {
	return spec.Diagnostic{Path: "api_key", Summary: fmt.Sprintf("the API key was rejected (%d %s)", ae.Status, ae.Message), Detail: hintUnauthorized}
}

// key checks the API key once per Client: a one-item instance list, which
// needs only the permission the build needs to manage its instance (no
// billing access, as GET /v2/account would).
func (p *preflight) key(ctx context.Context, _ spec.Vultr) error {
	err := p.c.checkKey(ctx)
	var ae *APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		p.ds = append(p.ds, keyRejected(ae))
	case errors.As(err, &ae) && ae.Status == http.StatusForbidden:
		p.ds = append(p.ds, spec.Diagnostic{Path: "api_key", Summary: fmt.Sprintf("the API key may not manage instances (%d %s)", ae.Status, ae.Message), Detail: hintForbidden})
	default:
		return fmt.Errorf("check the API key: %w", err)
	}
	// Every other check would fail the same way.
	return p.ds
}

// region checks the region: by ID, the availability call answers for it
// and for the plan at once; by name, the regions list.
func (p *preflight) region(ctx context.Context, v spec.Vultr) error {
	if v.Region.ID != "" {
		avail, err := p.c.availablePlans(ctx, v.Region.ID)
		var ae *APIError
		switch {
		case err == nil:
			p.avail, p.availOK, p.r.Region = avail, true, v.Region.ID
		case errors.As(err, &ae) && (ae.Status == 404 || ae.Status == 400):
			regions, err := p.c.regions(ctx)
			if err != nil {
				return err
			}
			p.bad(v.Region, fmt.Sprintf("unknown region %q", v.Region.ID), "regions: "+closest(v.Region.ID, keys(regions), 8))
		default:
			return fmt.Errorf("check region %s: %w", v.Region.ID, err)
		}
		return nil
	}
	if v.Region.Name == "" {
		return nil
	}
	regions, err := p.c.regions(ctx)
	if err != nil {
		return err
	}
	var matches []govultr.Region
	var cities []string
	for _, reg := range regions {
		cities = append(cities, reg.City)
		if strings.EqualFold(reg.City, v.Region.Name) || strings.EqualFold(reg.City+", "+reg.Country, v.Region.Name) {
			matches = append(matches, reg)
		}
	}
	switch len(matches) {
	case 1:
		p.r.Region, p.r.RegionCity = matches[0].ID, matches[0].City
	case 0:
		p.bad(v.Region, fmt.Sprintf("no region is in %q", v.Region.Name), "closest: "+closest(v.Region.Name, cities, 5))
	default:
		var ids []string
		for _, m := range matches {
			ids = append(ids, m.ID+" ("+m.City+", "+m.Country+")")
		}
		sort.Strings(ids)
		p.bad(v.Region, fmt.Sprintf("%q matches several regions", v.Region.Name), "use region_id: "+strings.Join(ids, ", "))
	}
	return nil
}

// plan checks the plan: an ID the region offers needs no list; otherwise
// the plans list says whether it exists at all.
func (p *preflight) plan(ctx context.Context, v spec.Vultr) error {
	if v.Plan.ID != "" && p.availOK && contains(p.avail, v.Plan.ID) {
		p.r.Plan = v.Plan.ID
		return nil
	}
	if v.Plan.ID == "" && v.Plan.Name == "" {
		return nil
	}
	plans, err := p.c.plans(ctx)
	if err != nil {
		return err
	}
	if v.Plan.ID != "" {
		if pl, ok := plans[v.Plan.ID]; ok {
			p.r.Plan, p.r.PlanSummary = pl.ID, planSummary(pl)
		} else {
			p.bad(v.Plan, fmt.Sprintf("unknown plan %q", v.Plan.ID), "closest: "+closest(v.Plan.ID, keys(plans), 6))
		}
		return nil
	}
	var names []string
	for _, pl := range plans {
		names = append(names, planSummary(pl))
		if strings.EqualFold(planSummary(pl), v.Plan.Name) || strings.EqualFold(pl.ID, v.Plan.Name) {
			p.r.Plan, p.r.PlanSummary = pl.ID, planSummary(pl)
		}
	}
	if p.r.Plan == "" {
		p.bad(v.Plan, fmt.Sprintf("no plan is named %q", v.Plan.Name), "closest: "+closest(v.Plan.Name, names, 4))
	}
	return nil
}

// availability checks that the region offers the plan.
func (p *preflight) availability(ctx context.Context, v spec.Vultr) error {
	if p.r.Region == "" || p.r.Plan == "" {
		return nil
	}
	if !p.availOK {
		avail, err := p.c.availablePlans(ctx, p.r.Region)
		if err != nil {
			return fmt.Errorf("check plan availability in %s: %w", p.r.Region, err)
		}
		p.avail = avail
	}
	if !contains(p.avail, p.r.Plan) {
		p.bad(v.Plan, fmt.Sprintf("plan %s is not available in %s", p.r.Plan, p.r.Region), "available there: "+strings.Join(first(p.avail, 8), ", "))
	}
	return nil
}

// image checks the image the build boots from.
func (p *preflight) image(ctx context.Context, v spec.Vultr) error {
	ref := v.Image.Ref
	switch v.Image.Kind {
	case spec.ImageOS:
		return p.osImage(ctx, ref)
	case spec.ImageApp:
		p.r.AppID, _ = strconv.Atoi(ref.ID)
		p.r.ImageName = "application " + ref.ID
	case spec.ImageMarket:
		p.r.ImageID, p.r.ImageName = ref.ID, "marketplace image "+ref.ID
	case spec.ImageSnapshot:
		return p.snapshotImage(ctx, ref)
	case spec.ImageISO:
		return p.isoImage(ctx, ref)
	}
	return nil
}

func (p *preflight) osImage(ctx context.Context, ref spec.Ref) error {
	all, err := p.c.operatingSystems(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, o := range all {
		names = append(names, o.Name)
	}
	if ref.ID != "" {
		id, _ := strconv.Atoi(ref.ID)
		if o, ok := all[id]; ok {
			p.r.OSID, p.r.ImageName = id, o.Name
		} else {
			p.bad(ref, fmt.Sprintf("unknown os_id %s", ref.ID), "current images include: "+closest(ref.ID, names, 5))
		}
		return nil
	}
	var hits []govultr.OS
	for _, o := range all {
		if strings.EqualFold(o.Name, ref.Name) {
			hits = append(hits, o)
		}
	}
	if len(hits) == 1 {
		p.r.OSID, p.r.ImageName = hits[0].ID, hits[0].Name
	} else {
		p.bad(ref, fmt.Sprintf("no OS is named %q", ref.Name), "closest: "+closest(ref.Name, names, 5))
	}
	return nil
}

func (p *preflight) snapshotImage(ctx context.Context, ref spec.Ref) error {
	if ref.ID == "" {
		return p.snapshotByName(ctx, ref)
	}
	s, err := p.c.GetSnapshot(ctx, ref.ID)
	var ae *APIError
	switch {
	case errors.Is(err, ErrNotFound):
		p.bad(ref, fmt.Sprintf("snapshot %s does not exist", ref.ID), "")
	case p.authProblem(ref, "snapshot "+ref.ID, err):
		p.r.SnapshotID, p.r.ImageName = ref.ID, "snapshot "+ref.ID
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
		p.bad(ref, fmt.Sprintf("snapshot_id %q: %s", ref.ID, ae.Message), "snapshot IDs are UUIDs")
	case err != nil:
		return fmt.Errorf("check snapshot %s: %w", ref.ID, err)
	case s.Status != "complete":
		p.bad(ref, fmt.Sprintf("snapshot %s is %s, not complete", ref.ID, s.Status), "wait for it to complete")
	default:
		p.r.SnapshotID, p.r.ImageName = s.ID, "snapshot "+s.Description
	}
	return nil
}

func (p *preflight) snapshotByName(ctx context.Context, ref spec.Ref) error {
	all, err := p.c.ListSnapshots(ctx, ref.Name)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusForbidden {
		// Without the list the name cannot become an ID: nothing to create from.
		p.bad(ref, fmt.Sprintf("cannot find snapshot %q: the API key may not list snapshots (403 %s)", ref.Name, ae.Message), "use snapshot_id, or give the key the snapshot permission")
		return nil
	}
	if p.authProblem(ref, fmt.Sprintf("snapshot %q", ref.Name), err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find snapshot %q: %w", ref.Name, err)
	}
	var done []Snapshot
	for _, s := range all {
		if s.Status == "complete" {
			done = append(done, s)
		}
	}
	switch len(done) {
	case 1:
		p.r.SnapshotID, p.r.ImageName = done[0].ID, "snapshot "+done[0].Description
	case 0:
		p.bad(ref, fmt.Sprintf("no complete snapshot is described %q", ref.Name), "")
	default:
		p.bad(ref, fmt.Sprintf("%d snapshots are described %q", len(done), ref.Name), "use snapshot_id to pick one")
	}
	return nil
}

// isoImage checks an ISO: the account's own (GET /v2/iso/{id}), or one of
// Vultr's public ISOs (GET /v2/iso-public, no key needed).
func (p *preflight) isoImage(ctx context.Context, ref spec.Ref) error {
	var iso *govultr.ISO
	err := p.c.retry(ctx, func(ctx context.Context) error {
		var err error
		iso, _, err = p.c.gv.ISO.Get(ctx, ref.ID)
		if err == nil && (iso == nil || iso.ID == "") {
			err = badAnswer("no iso in the answer")
		}
		return err
	})
	var ae *APIError
	switch {
	case err == nil && iso.Status != "complete":
		p.bad(ref, fmt.Sprintf("ISO %s is %s, not complete", ref.ID, iso.Status), "wait for its upload to complete")
		return nil
	case err == nil:
		p.r.ISOID, p.r.ImageName = iso.ID, "ISO "+iso.FileName
		return nil
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		p.authProblem(ref, "ISO "+ref.ID, err)
		return nil
	case !errors.Is(err, ErrNotFound) && !(errors.As(err, &ae) && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusForbidden)):
		return fmt.Errorf("check ISO %s: %w", ref.ID, err)
	}
	// Not the account's, or not readable with this key: a public one?
	public, perr := p.c.publicISOs(ctx)
	if perr != nil {
		return perr
	}
	if pub, ok := public[ref.ID]; ok {
		p.r.ISOID, p.r.ImageName = pub.ID, "public ISO "+pub.Name+" "+pub.Description
		return nil
	}
	if p.authProblem(ref, "ISO "+ref.ID, err) {
		// 403: the key may not read private ISOs; the create will tell.
		p.r.ISOID, p.r.ImageName = ref.ID, "ISO "+ref.ID
		return nil
	}
	var names []string
	for _, x := range public {
		names = append(names, x.ID+" ("+x.Name+")")
	}
	sort.Strings(names)
	p.bad(ref, fmt.Sprintf("ISO %s is neither the account's nor a public one", ref.ID), "public ISOs: "+strings.Join(first(names, 5), ", "))
	return nil
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

func keys[K comparable, V any](m map[K]V) []string {
	var out []string
	for k := range m {
		out = append(out, fmt.Sprint(k))
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

// closest lists up to n candidates nearest to s.
func closest(s string, candidates []string, n int) string {
	return strings.Join(textdist.Closest(s, candidates, n), ", ")
}

// keyPair finds ssh_keypair_name's key in the account: exactly one key of
// that name.
func (p *preflight) keyPair(ctx context.Context, v spec.Vultr) error {
	ref := v.KeyPair
	if ref.Name == "" {
		return nil
	}
	keys, err := p.c.ListSSHKeys(ctx)
	if err != nil {
		if p.authProblem(ref, "the account's SSH keys", err) {
			return nil
		}
		return fmt.Errorf("list SSH keys for ssh_keypair_name: %w", err)
	}
	var names, ids []string
	for _, k := range keys {
		names = append(names, k.Name)
		if k.Name == ref.Name {
			ids = append(ids, k.ID)
		}
	}
	switch len(ids) {
	case 1:
		p.r.KeyPairID = ids[0]
	case 0:
		p.bad(ref, fmt.Sprintf("the account has no SSH key named %q", ref.Name), closestKeys(ref.Name, names))
	default:
		p.bad(ref, fmt.Sprintf("the account has %d SSH keys named %q", len(ids), ref.Name), "give the key a unique name, or list its ID in ssh_key_ids")
	}
	return nil
}

// closestKeys says how to fix a key name that names no key.
func closestKeys(name string, names []string) string {
	if c := textdist.Closest(name, names, 3); len(c) > 0 {
		return "closest: " + strings.Join(c, ", ")
	}
	return "add it to the account (POST /v2/ssh-keys, or the control panel)"
}
