package vultr

import (
	"context"
	"fmt"
	"sync"

	"github.com/vultr/govultr/v3"
)

// catalogue is the public lists pre-flights read, each read once per
// Client and shared by every build of a run (a region matrix asks for the
// plan list once). A list that failed to load is asked again next time.
type catalogue struct {
	mu sync.Mutex // guards the fields below, never held across a call
	// loading holds one slot per list being read: a build that needs a list
	// another is reading waits for it (or for its own end), and builds that
	// need different lists read them at once.
	loading    map[string]chan struct{}
	regions    map[string]govultr.Region
	plans      map[string]govultr.Plan
	os         map[int]govultr.OS
	publicISOs map[string]govultr.PublicISO
	// available is each region's available plans.
	available map[string][]string
	// keyOK is set once the API key was accepted.
	keyOK bool
}

// checkKey lists one instance, once per Client: the key works, and may
// manage instances.
func (c *Client) checkKey(ctx context.Context) error {
	ct := &c.cat
	if cached(ct, func() bool { return ct.keyOK }) {
		return nil
	}
	release, err := ct.slot(ctx, "key")
	if err != nil {
		return err
	}
	defer release()
	if cached(ct, func() bool { return ct.keyOK }) {
		return nil
	}
	err = c.retry(ctx, func(ctx context.Context) error {
		_, _, _, err := c.gv.Instance.List(ctx, &govultr.ListOptions{PerPage: 1})
		return err
	})
	ct.mu.Lock()
	ct.keyOK = err == nil
	ct.mu.Unlock()
	return err
}

// slot takes the loading slot of one list, or gives up when ctx ends.
func (ct *catalogue) slot(ctx context.Context, name string) (release func(), err error) {
	ct.mu.Lock()
	if ct.loading == nil {
		ct.loading = map[string]chan struct{}{}
	}
	ch, ok := ct.loading[name]
	if !ok {
		ch = make(chan struct{}, 1)
		ct.loading[name] = ch
	}
	ct.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// cached reads one field under the catalogue's mutex.
func cached[T any](ct *catalogue, read func() T) T {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return read()
}

// catalogueList reads a public list once into *dst, by key. Parallel
// builds wait for one read instead of making their own.
func catalogueList[K comparable, V any](ctx context.Context, c *Client, dst *map[K]V, what string, page func(context.Context, *govultr.ListOptions) ([]V, *govultr.Meta, error), key func(V) K) (map[K]V, error) {
	ct := &c.cat
	if m := cached(ct, func() map[K]V { return *dst }); m != nil {
		return m, nil
	}
	release, err := ct.slot(ctx, what)
	if err != nil {
		return nil, err
	}
	defer release()
	if m := cached(ct, func() map[K]V { return *dst }); m != nil {
		return m, nil // read while this build waited
	}
	all, err := list(ctx, c, govultr.ListOptions{}, page)
	if err != nil {
		return nil, fmt.Errorf("read the Vultr %s list: %w", what, err)
	}
	m := make(map[K]V, len(all))
	for _, v := range all {
		m[key(v)] = v
	}
	ct.mu.Lock()
	*dst = m
	ct.mu.Unlock()
	return m, nil
}

func (c *Client) regions(ctx context.Context) (map[string]govultr.Region, error) {
	return catalogueList(ctx, c, &c.cat.regions, "regions", func(ctx context.Context, o *govultr.ListOptions) ([]govultr.Region, *govultr.Meta, error) {
		items, meta, _, err := c.gv.Region.List(ctx, o)
		return items, meta, err
	}, func(r govultr.Region) string { return r.ID })
}

func (c *Client) plans(ctx context.Context) (map[string]govultr.Plan, error) {
	return catalogueList(ctx, c, &c.cat.plans, "plans", func(ctx context.Context, o *govultr.ListOptions) ([]govultr.Plan, *govultr.Meta, error) {
		items, meta, _, err := c.gv.Plan.List(ctx, "all", o)
		return items, meta, err
	}, func(p govultr.Plan) string { return p.ID })
}

func (c *Client) operatingSystems(ctx context.Context) (map[int]govultr.OS, error) {
	return catalogueList(ctx, c, &c.cat.os, "os", func(ctx context.Context, o *govultr.ListOptions) ([]govultr.OS, *govultr.Meta, error) {
		items, meta, _, err := c.gv.OS.List(ctx, o)
		return items, meta, err
	}, func(x govultr.OS) int { return x.ID })
}

func (c *Client) publicISOs(ctx context.Context) (map[string]govultr.PublicISO, error) {
	return catalogueList(ctx, c, &c.cat.publicISOs, "public ISO", func(ctx context.Context, o *govultr.ListOptions) ([]govultr.PublicISO, *govultr.Meta, error) {
		items, meta, _, err := c.gv.ISO.ListPublic(ctx, o)
		return items, meta, err
	}, func(x govultr.PublicISO) string { return x.ID })
}

// availablePlans is the plans a region offers (the API answers 400 or 404
// for a region it does not know), read once per region.
func (c *Client) availablePlans(ctx context.Context, region string) ([]string, error) {
	ct := &c.cat
	read := func() ([]string, bool) { plans, ok := ct.available[region]; return plans, ok }
	if plans, ok := cachedPair(ct, read); ok {
		return plans, nil
	}
	release, err := ct.slot(ctx, "availability "+region)
	if err != nil {
		return nil, err
	}
	defer release()
	if plans, ok := cachedPair(ct, read); ok {
		return plans, nil
	}
	var pa *govultr.PlanAvailability
	if err := c.retry(ctx, func(ctx context.Context) error {
		var err error
		pa, _, err = c.gv.Region.Availability(ctx, region, "all")
		return err
	}); err != nil {
		return nil, err
	}
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if ct.available == nil {
		ct.available = map[string][]string{}
	}
	ct.available[region] = pa.AvailablePlans
	return pa.AvailablePlans, nil
}

func cachedPair[T any](ct *catalogue, read func() (T, bool)) (T, bool) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return read()
}
