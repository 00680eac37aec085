package build

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// cleanups is a stack of undo actions, run last-in first-out, as Packer's
// multistep runs each started step's Cleanup. An action is pushed the moment
// the resource it undoes exists, before anything waits on it.
type cleanups struct {
	mu  sync.Mutex
	fns []cleanup
}

type cleanup struct {
	name string
	fn   func(ctx context.Context) error
}

func (c *cleanups) push(name string, fn func(ctx context.Context) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, cleanup{name: name, fn: fn})
}

// run runs every pushed action in reverse order. Each runs on a context
// that ignores the parent's cancellation (a cancelled build must still
// delete its instance) and ends after budget in all. Errors are joined.
func (c *cleanups) run(parent context.Context, budget time.Duration) error {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	if len(fns) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), budget)
	defer cancel()
	var errs []error
	for i := len(fns) - 1; i >= 0; i-- {
		if err := fns[i].fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("cleanup: %s: %w", fns[i].name, err))
		}
	}
	return errors.Join(errs...)
}
