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
	mu         sync.Mutex
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
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if ct.keyOK {
		return nil
	}
	err := c.retry(ctx, func(ctx context.Context) error {
		_, _, _, err := c.gv.Instance.List(ctx, &govultr.ListOptions{PerPage: 1})
		return err
	})
	ct.keyOK = err == nil
	return err
}

// once loads *dst with load unless it is loaded; mu serialises loads, so
// parallel builds wait for one read instead of making their own.
func once[M any](ct *catalogue, dst *M, loaded func() bool, load func() (M, error)) (M, error) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if loaded() {
		return *dst, nil
	}
	v, err := load()
	if err != nil {
		var zero M
		return zero, err
	}
	*dst = v
	return v, nil
}

func (c *Client) regions(ctx context.Context) (map[string]govultr.Region, error) {
	ct := &c.cat
	return once(ct, &ct.regions, func() bool { return ct.regions != nil }, func() (map[string]govultr.Region, error) {
		all, err := list(ctx, c, govultr.ListOptions{}, func(ctx context.Context, o *govultr.ListOptions) ([]govultr.Region, *govultr.Meta, error) {
			items, meta, _, err := c.gv.Region.List(ctx, o)
			return items, meta, err
		})
		if err != nil {
			return nil, fmt.Errorf("read the Vultr regions list: %w", err)
		}
		m := make(map[string]govultr.Region, len(all))
		for _, r := range all {
			m[r.ID] = r
		}
		return m, nil
	})
}

func (c *Client) plans(ctx context.Context) (map[string]govultr.Plan, error) {
	ct := &c.cat
	return once(ct, &ct.plans, func() bool { return ct.plans != nil }, func() (map[string]govultr.Plan, error) {
		all, err := list(ctx, c, govultr.ListOptions{}, func(ctx context.Context, o *govultr.ListOptions) ([]govultr.Plan, *govultr.Meta, error) {
			items, meta, _, err := c.gv.Plan.List(ctx, "all", o)
			return items, meta, err
		})
		if err != nil {
			return nil, fmt.Errorf("read the Vultr plans list: %w", err)
		}
		m := make(map[string]govultr.Plan, len(all))
		for _, p := range all {
			m[p.ID] = p
		}
		return m, nil
	})
}

func (c *Client) operatingSystems(ctx context.Context) (map[int]govultr.OS, error) {
	ct := &c.cat
	return once(ct, &ct.os, func() bool { return ct.os != nil }, func() (map[int]govultr.OS, error) {
		all, err := list(ctx, c, govultr.ListOptions{}, func(ctx context.Context, o *govultr.ListOptions) ([]govultr.OS, *govultr.Meta, error) {
			items, meta, _, err := c.gv.OS.List(ctx, o)
			return items, meta, err
		})
		if err != nil {
			return nil, fmt.Errorf("read the Vultr os list: %w", err)
		}
		m := make(map[int]govultr.OS, len(all))
		for _, x := range all {
			m[x.ID] = x
		}
		return m, nil
	})
}

func (c *Client) publicISOs(ctx context.Context) (map[string]govultr.PublicISO, error) {
	ct := &c.cat
	return once(ct, &ct.publicISOs, func() bool { return ct.publicISOs != nil }, func() (map[string]govultr.PublicISO, error) {
		all, err := list(ctx, c, govultr.ListOptions{}, func(ctx context.Context, o *govultr.ListOptions) ([]govultr.PublicISO, *govultr.Meta, error) {
			items, meta, _, err := c.gv.ISO.ListPublic(ctx, o)
			return items, meta, err
		})
		if err != nil {
			return nil, fmt.Errorf("read the Vultr public ISO list: %w", err)
		}
		m := make(map[string]govultr.PublicISO, len(all))
		for _, x := range all {
			m[x.ID] = x
		}
		return m, nil
	})
}

// availablePlans is the plans a region offers (the API answers 400 or 404
// for a region it does not know).
func (c *Client) availablePlans(ctx context.Context, region string) ([]string, error) {
	ct := &c.cat
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if plans, ok := ct.available[region]; ok {
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
	if ct.available == nil {
		ct.available = map[string][]string{}
	}
	ct.available[region] = pa.AvailablePlans
	return pa.AvailablePlans, nil
}
