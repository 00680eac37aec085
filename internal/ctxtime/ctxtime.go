// Package ctxtime waits in a way that a context can end: the one sleep the
// project uses instead of time.Sleep.
package ctxtime

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends (then it returns ctx's error). A
// non-positive d returns at once, with ctx's error if it has one.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
