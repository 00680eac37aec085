package vultr

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// createTimeout bounds one create request. A create runs to its answer
// even when the build is cancelled: cancelling it halfway would leave a
// resource that exists with no ID to delete it by.
const createTimeout = 60 * time.Second

// lookupTimeout bounds the look-up after an ambiguous create. It is a
// budget of its own: a create that used all of createTimeout must still be
// looked for.
const lookupTimeout = 60 * time.Second

// createCtx is one create request's context: not cancelled with the build.
func (c *Client) createCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), c.cfg.CreateTimeout)
}

// lookupCtx is the look-up's context after an ambiguous create.
func (c *Client) lookupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), c.cfg.LookupTimeout)
}

// AmbiguousCreateError is a create that may have happened: the API gave no
// clear answer and no look-up could tell. The caller must look again
// (by RunTag, for instances) before it gives up on what it may have made.
type AmbiguousCreateError struct {
	What   string // "instance", "snapshot", "ssh key"
	RunTag string // instances only
	Err    error
}

func (e *AmbiguousCreateError) Error() string {
	return fmt.Sprintf("the %s create may have happened (no clear answer, and a look-up could not tell): %v", e.What, e.Err)
}

func (e *AmbiguousCreateError) Unwrap() error { return e.Err }

// createThenLookUp sends a create, and after an answer that leaves it
// unclear whether the create happened (5xx, a bad answer, no answer) looks
// for the result before it sends again: never two. A 429 is not unclear:
// it waits and sends again. ambiguous reports whether any answer was
// unclear: even when a later try succeeded, an earlier one may still
// appear (the caller looks again at cleanup). Each request and each look-up
// has its own deadline, and none ends with the build's cancellation. When
// the attempts run out with the question still open, the error is an
// *AmbiguousCreateError.
func createThenLookUp[T any](ctx context.Context, c *Client, what string, create, lookUp func(context.Context) (*T, error)) (_ *T, ambiguous bool, _ error) {
	// Nothing is sent for a build that is already cancelled; once sent, a
	// create runs to its answer.
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	var rl rateBudget
	for attempt := 1; ; attempt++ {
		var out *T
		// Wait out the shared pause on the build's time, before the
		// create's own time-out starts: a create that was never sent is
		// never unclear.
		if err := c.gate.wait(ctx); err != nil {
			if attempt > 1 {
				return nil, true, &AmbiguousCreateError{What: what, Err: err}
			}
			return nil, false, err
		}
		actx, cancel := c.createCtx(afterPause(ctx))
		err := c.call(actx, func(actx context.Context) error {
			var err error
			out, err = create(actx)
			return err
		})
		cancel()
		if err == nil {
			if out == nil {
				// A create's answer always names what it made.
				err = &BadAnswerError{What: "no " + what + " in the answer"}
			} else {
				return out, unclear(attempt), nil
			}
		}
		// 429: refused before any effect. Wait (shared with the run's
		// other builds) and send again, on the build's time.
		if again, rerr := rl.refused(ctx, c, err); again {
			attempt--
			continue
		} else if rerr != nil {
			if attempt > 1 {
				return nil, true, &AmbiguousCreateError{What: what, Err: rerr}
			}
			return nil, false, rerr
		}
		if !temporary(err) && !errors.Is(err, context.DeadlineExceeded) {
			if attempt > 1 {
				// An earlier attempt may have created it (this failure may
				// even be because of it: a quota, a name in use).
				return nil, true, &AmbiguousCreateError{What: what, Err: err}
			}
			return nil, false, err
		}
		// The create may have happened. Look before anything else.
		lctx, lcancel := c.lookupCtx(ctx)
		found, lerr := lookUp(lctx)
		lcancel()
		switch {
		case lerr == nil && found != nil:
			c.cfg.Logf("create %s: the API answered %v, but the look-up found what it made: using it", what, err)
			return found, true, nil
		case lerr != nil:
			// Unknown whether it exists: sending again could make two.
			return nil, true, &AmbiguousCreateError{What: what, Err: errors.Join(err, lerr)}
		}
		if attempt >= c.cfg.MaxAttempts || ctx.Err() != nil {
			return nil, true, &AmbiguousCreateError{What: what, Err: errors.Join(err, ctx.Err())}
		}
		if werr := sleep(ctx, c.backoff(attempt, err)); werr != nil {
			return nil, true, &AmbiguousCreateError{What: what, Err: errors.Join(err, werr)}
		}
	}
}

// ErrAmbiguousMatch is a look-up that found more than one candidate.
var ErrAmbiguousMatch = errors.New("more than one candidate")

// one returns the only element of found, nil for none, and an error for
// more than one: a look-up adopts only what can be nothing else.
func one[T any](found []T, what string) (*T, error) {
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return &found[0], nil
	}
	return nil, fmt.Errorf("%d %s: %w", len(found), what, ErrAmbiguousMatch)
}

// unclear reports whether a create that succeeded on this attempt had
// unclear answers before it: attempts after the first follow one.
func unclear(attempt int) bool { return attempt > 1 }
