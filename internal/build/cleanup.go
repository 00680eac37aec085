package build

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
)

// cleanups is a stack of undo actions, as Packer's multistep runs each
// started step's Cleanup. An action is pushed the moment the resource it
// undoes exists, before anything waits on it.
//
// Local actions (closing a connection) run first, last-in first-out, on one
// budget. Then the cloud deletes run together, each on a budget of its own:
// an instance that Vultr keeps "locked" cannot use up the time of the
// unrelated key delete, and the key is never left untried.
type cleanups struct {
	mu  sync.Mutex
	fns []cleanup
}

type cleanup struct {
	name string
	fn   func(ctx context.Context) error
	// res is the cloud resource fn deletes; nil for local actions. It is
	// reported as left behind when fn fails.
	res *leftovers.Resource
}

func (c *cleanups) push(name string, fn func(ctx context.Context) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, cleanup{name: name, fn: fn})
}

// pushDelete registers the delete of a cloud resource.
func (c *cleanups) pushDelete(res leftovers.Resource, fn func(ctx context.Context) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, cleanup{name: "delete " + res.String(), fn: fn, res: &res})
}

// cleanupResult is what a cleanup run left: its joined errors, and the
// resources it could not delete.
type cleanupResult struct {
	err  error
	left []leftovers.Resource
}

// run runs every pushed action. Each runs on a context that ignores the
// parent's cancellation (a cancelled build must still delete its
// instance) and keeps its values; stop, when it ends, ends them all (a
// second Ctrl-C: the user stops waiting). Errors are joined.
func (c *cleanups) run(parent, stop context.Context, budget time.Duration) cleanupResult {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	if len(fns) == 0 {
		return cleanupResult{}
	}
	base, cancel := context.WithCancel(context.WithoutCancel(parent))
	defer cancel()
	if stop != nil {
		defer context.AfterFunc(stop, cancel)()
	}

	var errs []error
	local, lcancel := context.WithTimeout(base, budget)
	for i := len(fns) - 1; i >= 0; i-- {
		if fns[i].res != nil {
			continue
		}
		if err := fns[i].fn(local); err != nil {
			errs = append(errs, fmt.Errorf("cleanup: %s: %w", fns[i].name, err))
		}
	}
	lcancel()

	var res cleanupResult
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := len(fns) - 1; i >= 0; i-- {
		f := fns[i]
		if f.res == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(base, budget)
			defer cancel()
			if err := f.fn(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("cleanup: %s: %w", f.name, err))
				res.left = append(res.left, *f.res)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.err = errors.Join(errs...)
	return res
}
