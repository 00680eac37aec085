package vultr

import (
	"context"
	"sync"
	"time"

	"github.com/vultr/govultr/v3"
)

// batch lets the concurrent waits of one Client share their polls: when
// more than one build waits (a run's parallel builds), a poll that comes
// due reads a list call made at most a quarter of its interval ago, or
// makes one, instead of reading its own object. Sixteen builds then poll
// about as often as four. A single wait reads its object directly, and so
// does any wait whose object the list does not hold.
type batch[T any] struct {
	mu       sync.Mutex
	waits    int
	at       time.Time     // when the last list call started
	items    map[string]T  // its answer, by ID
	complete bool          // it held every item (one page)
	inflight chan struct{} // closed when the call in progress ends
	list     func(ctx context.Context) (map[string]T, bool, error)
}

// begin counts a wait in; the returned func counts it out.
func (b *batch[T]) begin() func() {
	b.mu.Lock()
	b.waits++
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		b.waits--
		b.mu.Unlock()
	}
}

// get returns id's item from a list call that started no earlier than
// notBefore, making the call if none did. ok is false when the caller must
// read the item itself: it waits alone, or the list could not tell.
func (b *batch[T]) get(ctx context.Context, id string, notBefore time.Time) (item T, ok bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		if b.waits < 2 || b.list == nil {
			return item, false, nil
		}
		fresh := !b.at.Before(notBefore)
		switch {
		case fresh && b.inflight == nil:
			item, ok = b.items[id]
			return item, ok && b.complete, nil
		case b.inflight != nil:
			ch := b.inflight
			b.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				b.mu.Lock()
				return item, false, ctx.Err()
			}
			b.mu.Lock()
			if fresh && !b.complete {
				return item, false, nil // that call failed: read it directly
			}
		default:
			b.inflight, b.at = make(chan struct{}), time.Now()
			b.mu.Unlock()
			items, complete, lerr := b.list(ctx)
			b.mu.Lock()
			b.items, b.complete = items, complete && lerr == nil
			close(b.inflight)
			b.inflight = nil
			if lerr != nil {
				return item, false, lerr
			}
		}
	}
}

// read returns id's item: from a shared list call when the batch can
// answer, else from direct, one request of its own.
func (b *batch[T]) read(ctx context.Context, c *Client, id string, notBefore time.Time, direct func(ctx context.Context) (*T, error)) (T, error) {
	item, ok, err := b.get(ctx, id, notBefore)
	if err != nil || ok {
		return item, err
	}
	err = c.call(ctx, func(ctx context.Context) error {
		got, err := direct(ctx)
		if err == nil {
			item = *got
		}
		return err
	})
	return item, err
}

// instanceBatch lists the instances carrying the tag of the ones this
// Client created (the tool's), one page.
func (c *Client) instanceBatch() *batch[govultr.Instance] {
	c.batchOnce.Do(c.initBatches)
	return c.instances
}

func (c *Client) snapshotBatch() *batch[govultr.Snapshot] {
	c.batchOnce.Do(c.initBatches)
	return c.snapshots
}

func (c *Client) initBatches() {
	c.instances = &batch[govultr.Instance]{list: func(ctx context.Context) (map[string]govultr.Instance, bool, error) {
		tag := c.listTag()
		if tag == "" {
			return nil, false, nil
		}
		var page []govultr.Instance
		var meta *govultr.Meta
		err := c.call(ctx, func(ctx context.Context) error {
			var err error
			page, meta, _, err = c.gv.Instance.List(ctx, &govultr.ListOptions{PerPage: 500, Tag: tag})
			return err
		})
		out := make(map[string]govultr.Instance, len(page))
		for _, in := range page {
			out[in.ID] = in
		}
		return out, err == nil && onePage(meta), err
	}}
	c.snapshots = &batch[govultr.Snapshot]{list: func(ctx context.Context) (map[string]govultr.Snapshot, bool, error) {
		var page []govultr.Snapshot
		var meta *govultr.Meta
		err := c.call(ctx, func(ctx context.Context) error {
			var err error
			page, meta, _, err = c.gv.Snapshot.List(ctx, &govultr.ListOptions{PerPage: 500})
			return err
		})
		out := make(map[string]govultr.Snapshot, len(page))
		for _, s := range page {
			out[s.ID] = s
		}
		return out, err == nil && onePage(meta), err
	}}
}

func onePage(meta *govultr.Meta) bool {
	return meta == nil || meta.Links == nil || meta.Links.Next == ""
}

// listTag is the first tag of the instances this Client created: the
// tool's, so a batched list holds only the tool's instances.
func (c *Client) listTag() string {
	c.tagMu.Lock()
	defer c.tagMu.Unlock()
	return c.tag
}

func (c *Client) rememberTag(tags []string) {
	if len(tags) == 0 {
		return
	}
	c.tagMu.Lock()
	defer c.tagMu.Unlock()
	if c.tag == "" {
		c.tag = tags[0]
	}
}
