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
	off      bool          // a list came back incomplete: read directly from now on
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
		if b.waits < 2 || b.list == nil || b.off {
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
			b.off = b.off || lerr == nil && !complete
			close(b.inflight)
			b.inflight = nil
			if lerr != nil {
				// The caller's own read may still work; only its own end stops it.
				return item, false, ctx.Err()
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

// instanceBatch lists the instances carrying the tool's tag (given by
// CreateInstanceRequest.ListTag), one page.
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

// onePage reports whether a list answer held the whole list. One without
// "meta" is not a list answer of the API: not complete.
func onePage(meta *govultr.Meta) bool {
	return meta != nil && (meta.Links == nil || meta.Links.Next == "")
}

// listTag is the tag every instance of the tool carries, so a batched
// list holds only the tool's instances; "" until one was created.
func (c *Client) listTag() string {
	c.tagMu.Lock()
	defer c.tagMu.Unlock()
	return c.tag
}

func (c *Client) rememberTag(tag string) {
	if tag == "" {
		return
	}
	c.tagMu.Lock()
	defer c.tagMu.Unlock()
	c.tag = tag
}
