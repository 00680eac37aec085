package vultr

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// A 429 is Vultr saying "not now": the request was refused before it took
// any effect, so it is never ambiguous, not even for a create. The client
// waits (Retry-After when sent, else an exponential back-off with jitter)
// and sends again, for up to Config.RateLimitWait per call. The wait is
// shared: one Client serves all the builds of a run that use a key, and a
// 429 seen by one pauses them all, so parallel builds do not stampede an
// account that is already over its limit.

// rateLimitWait is how long one call keeps trying through 429s by default.
const rateLimitWait = 5 * time.Minute

// maxPause is the longest back-off after a 429 without Retry-After.
const maxPause = 8 * time.Second

// gate is a Client's shared pause after a 429.
type gate struct {
	mu     sync.Mutex
	until  time.Time // no request is sent before this
	streak int       // 429s in a row, each after the previous pause ended
}

// refused records a 429. One after the pause doubles the next pause (1 s,
// 2 s, 4 s, then 8 s, with jitter: Vultr's limit is per second, so a
// longer pause only idles the build), unless the API said how long with
// Retry-After; one to a request sent during a pause does not double it,
// but the pause lasts at least as long as that 429 asks.
func (g *gate) refused(retryAfter time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if !now.Before(g.until) || g.streak == 0 {
		g.streak++
	}
	d := retryAfter
	if d <= 0 {
		d = min(time.Second<<min(max(g.streak-1, 0), 3), maxPause)
		d = d/2 + rand.N(d/2+1)
	}
	if u := now.Add(d); u.After(g.until) {
		g.until = u
	}
}

// ok records an answer that was not a 429.
func (g *gate) ok() {
	g.mu.Lock()
	g.streak = 0
	g.mu.Unlock()
}

// wait holds a request until the pause is over, or ctx ends. Waiters are
// spread over a fifth of the pause, so they do not all send at its end.
func (g *gate) wait(ctx context.Context) error {
	g.mu.Lock()
	d := time.Until(g.until)
	g.mu.Unlock()
	if d <= 0 {
		return ctx.Err()
	}
	return sleep(ctx, d+rand.N(d/5+1))
}

// RateLimitError is a call that Vultr kept refusing with 429 for the
// whole of Config.RateLimitWait. Nothing it asked for took effect.
type RateLimitError struct {
	Method, Path string
	Tries        int
	Waited       time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s %s: Vultr answered 429 Too Many Requests to all %d tries over %s: the API key's rate limit is shared by everything that uses the key (other jobs, builds and scripts); try again later, or run fewer builds at once (-parallel-builds)",
		e.Method, e.Path, e.Tries, e.Waited.Round(time.Second))
}

// rateBudget is one call's account of its 429s.
type rateBudget struct {
	first time.Time
	tries int
	// waited is set when the next try follows a pause refused waited out.
	waited bool
}

// refused reports whether err is a 429 to send again after: it has waited
// out the shared pause. Past the client's RateLimitWait it reports a
// *RateLimitError instead; when ctx ends first, ctx's error.
func (b *rateBudget) refused(ctx context.Context, c *Client, err error) (again bool, _ error) {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests {
		return false, nil
	}
	b.tries++
	if b.first.IsZero() {
		b.first = time.Now()
	}
	waited := time.Since(b.first)
	if waited >= c.cfg.RateLimitWait {
		return false, &RateLimitError{Method: ae.Method, Path: ae.Path, Tries: b.tries, Waited: waited}
	}
	// Wait out the pause, but not past the budget: the last try is sent
	// when it ends.
	wctx, cancel := context.WithTimeout(ctx, c.cfg.RateLimitWait-waited)
	defer cancel()
	if werr := c.gate.wait(wctx); werr != nil && ctx.Err() != nil {
		return false, errors.Join(err, ctx.Err())
	}
	b.waited = true
	return true, nil
}

type waitedKey struct{}

// next is the context of a call's next try: right after refused waited
// out the pause (within the budget), call sends it at once instead of
// waiting again. Only that one try.
func (b *rateBudget) next(ctx context.Context) context.Context {
	if !b.waited {
		return ctx
	}
	b.waited = false
	return afterPause(ctx)
}

// afterPause marks a context whose call has waited out the shared pause.
func afterPause(ctx context.Context) context.Context {
	return context.WithValue(ctx, waitedKey{}, true)
}
