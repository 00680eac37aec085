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
	// by about 1.5x each time, with jitter, up to an eighth of the time
	// waited so far (but at least Floor, default 0.5s), and never beyond Max
	// (5s for instances; for snapshots, from the disk's size: see
	// snapshotPollMax). A short wait is seen within half a second; a long one
	// costs few requests, and is seen late by an eighth at most.
	First, Floor, Max time.Duration
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
// get is given the earliest moment a shared answer may come from: a
// quarter of the current interval ago (see batch).
func wait[T any](ctx context.Context, o WaitOptions, what string, get func(ctx context.Context, notBefore time.Time) (T, string, bool, error)) (T, error) {
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
		v, st, done, err := get(ctx, time.Now().Add(-delay/4))
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
		delay = nextPoll(delay, time.Since(start), o)
	}
}

// scaledWait fills a wait's defaults and applies the client's TimeScale.
func (c *Client) scaledWait(o WaitOptions, defMax time.Duration) WaitOptions {
	if o.First <= 0 {
		o.First = firstPoll
	}
	if o.Floor <= 0 {
		o.Floor = pollFloor
	}
	if o.Max <= 0 {
		o.Max = defMax
	}
	o.First, o.Floor, o.Max = c.scaled(o.First), c.scaled(o.Floor), c.scaled(o.Max)
	return o
}

// nextPoll is the delay after delay, elapsed into a wait: about 1.5x, with
// jitter, capped by max(Floor, elapsed/8) and by Max.
func nextPoll(delay, elapsed time.Duration, o WaitOptions) time.Duration {
	next := time.Duration(float64(delay) * (1.4 + 0.2*rand.Float64()))
	return min(next, max(o.Floor, elapsed/8), o.Max)
}
