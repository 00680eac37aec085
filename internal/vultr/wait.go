package vultr

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"time"
)

// WaitOptions tune a wait.
type WaitOptions struct {
	// Timeout bounds the wait (0: only ctx).
	Timeout time.Duration
	// First is the first poll's delay (default 250ms); polls then back off
	// by about 1.5x each time, with jitter, up to Max (default 2s for
	// instances; for snapshots, from the disk's size: see snapshotPollMax).
	First, Max time.Duration
	// DiskGB is the instance's disk, which sets a snapshot's poll schedule.
	DiskGB int
	// Progress is told the state at most every ProgressEvery (default 15s).
	Progress      func(elapsed time.Duration, state string)
	ProgressEvery time.Duration
}

// TimeoutError is a wait that ran out of time.
type TimeoutError struct {
	What  string
	State string
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("timed out after %s waiting for %s (last state: %s)", e.After.Round(time.Second), e.What, e.State)
}

// wait polls get until done, with adaptive backoff.
func wait[T any](ctx context.Context, o WaitOptions, what string, get func(ctx context.Context) (T, string, bool, error)) (T, error) {
	var zero T
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 15 * time.Second
	}
	start := time.Now()
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	delay := o.First
	lastProgress := start
	state := "unknown"
	for {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) && o.Timeout > 0 && time.Since(start) >= o.Timeout {
				return zero, &TimeoutError{What: what, State: state, After: time.Since(start)}
			}
			return zero, ctx.Err()
		case <-t.C:
		}
		v, st, done, err := get(ctx)
		switch {
		case err != nil && temporary(err):
			state = "API error: " + err.Error()
		case err != nil:
			if ctx.Err() != nil {
				continue // reported by the select above
			}
			return zero, err
		case done:
			return v, nil
		default:
			state = st
		}
		if o.Progress != nil && time.Since(lastProgress) >= o.ProgressEvery {
			lastProgress = time.Now()
			o.Progress(time.Since(start), state)
		}
		// Back off by about 1.5x with jitter: early changes are seen within a
		// quarter of a second, long waits cost few requests.
		delay = time.Duration(float64(delay) * (1.4 + 0.2*rand.Float64()))
		if delay > o.Max {
			delay = o.Max
		}
	}
}

// scaledWait fills a wait's defaults and applies the client's TimeScale.
func (c *Client) scaledWait(o WaitOptions, defMax time.Duration) WaitOptions {
	if o.First <= 0 {
		o.First = firstPoll
	}
	if o.Max <= 0 {
		o.Max = defMax
	}
	o.First, o.Max = c.scaled(o.First), c.scaled(o.Max)
	return o
}
