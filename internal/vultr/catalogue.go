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
	_, err := loadOnce(ctx, ct, "key", func() (bool, bool) { return true, ct.keyOK }, func() (bool, error) {
		return true, c.retry(ctx, func(ctx context.Context) error {
			_, _, _, err := c.gv.Instance.List(ctx, &govultr.ListOptions{PerPage: 1})
			return err
		})
	}, func(bool) { ct.keyOK = true })
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

// loadOnce returns what cached holds, or loads and stores it: one load at
// a time per name, so builds that need the same value wait for one read
// (or for their own end) instead of making their own. cached and store run
// under the catalogue's mutex; load does not. A failed load is tried again
// by the next caller.
func loadOnce[T any](ctx context.Context, ct *catalogue, name string, cached func() (T, bool), load func() (T, error), store func(T)) (T, error) {
	get := func() (T, bool) {
		ct.mu.Lock()
		defer ct.mu.Unlock()
		return cached()
	}
	if v, ok := get(); ok {
		return v, nil
	}
	release, err := ct.slot(ctx, name)
	if err != nil {
		var zero T
		return zero, err
	}
	defer release()
	if v, ok := get(); ok {
		return v, nil // loaded while this caller waited
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	ct.mu.Lock()
	store(v)
	ct.mu.Unlock()
	return v, nil
}

// catalogueList reads a public list once into *dst, by key.
func catalogueList[K comparable, V any](ctx context.Context, c *Client, dst *map[K]V, what string, page func(context.Context, *govultr.ListOptions) ([]V, *govultr.Meta, error), key func(V) K) (map[K]V, error) {
	return loadOnce(ctx, &c.cat, what, func() (map[K]V, bool) { return *dst, *dst != nil }, func() (map[K]V, error) {
		all, err := list(ctx, c, govultr.ListOptions{}, page)
		if err != nil {
			return nil, fmt.Errorf("read the Vultr %s list: %w", what, err)
		}
		m := make(map[K]V, len(all))
		for _, v := range all {
			m[key(v)] = v
		}
		return m, nil
	}, func(m map[K]V) { *dst = m })
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
	return loadOnce(ctx, ct, "availability "+region, func() ([]string, bool) {
		plans, ok := ct.available[region]
		return plans, ok
	}, func() ([]string, error) {
		var pa *govultr.PlanAvailability
		err := c.retry(ctx, func(ctx context.Context) error {
			var err error
			pa, _, err = c.gv.Region.Availability(ctx, region, "all")
			if err == nil && pa == nil {
				err = badAnswer("no available_plans in the answer")
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		return pa.AvailablePlans, nil
	}, func(plans []string) {
		if ct.available == nil {
			ct.available = map[string][]string{}
		}
		ct.available[region] = plans
	})
}
