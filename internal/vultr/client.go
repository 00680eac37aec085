// Package vultr is the build's client of the Vultr API v2: a small surface
// over github.com/vultr/govultr/v3 that adds what a build needs and govultr
// lacks: typed errors with the HTTP status, no blind re-sending of creates,
// deletes that outlast "Server is currently locked", adaptive waits that
// honour the context, a client-side rate limit, and pre-flight checks.
package vultr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vultr/govultr/v3"
	"golang.org/x/time/rate"

	"github.com/vultr-image-action/vultr-image-action/internal/ctxtime"
)

// DefaultBaseURL is Vultr's API.
const DefaultBaseURL = "https://api.vultr.com"

// Config configures a Client.
type Config struct {
	APIKey string
	// BaseURL is the API's base, without /v2 (VULTR_API_URL).
	BaseURL string
	// HTTPClient defaults to one on a clone of http.DefaultTransport, which
	// honours HTTPS_PROXY and NO_PROXY.
	HTTPClient *http.Client
	UserAgent  string
	// Logf receives one line per API call (method, path, status, time);
	// never keys or bodies.
	Logf func(format string, args ...any)
	// RateLimit caps requests per second from this client, across every
	// build that shares it (default 30, Vultr's documented limit). A build
	// caps its own rate further with WithRateLimit.
	RateLimit float64
	// MaxAttempts bounds tries of an idempotent call (default 5).
	MaxAttempts int
	// Backoff is the first retry wait (default 500ms), doubled each time.
	Backoff time.Duration
	// CreateTimeout bounds one create request (default 60s); LookupTimeout
	// bounds the look-up after an ambiguous create (default 60s), on a
	// budget of its own.
	CreateTimeout, LookupTimeout time.Duration
	// RateLimitWait bounds how long one call keeps trying while Vultr
	// answers 429 (default 5 minutes); then it fails with *RateLimitError.
	RateLimitWait time.Duration
	// TimeScale multiplies every poll interval (0 means 1). Only tests and
	// the bench set it (VIA_TEST_TIME_SCALE), to run the cloud's real
	// timeline in seconds against the emulator's scaled clock.
	TimeScale float64
}

// Client talks to the Vultr API. It is safe for concurrent use; parallel
// builds share one Client and so its rate limit.
type Client struct {
	gv   *govultr.Client
	cfg  Config
	gate gate // the shared pause after a 429 (ratelimit.go)
	cat  catalogue

	// Batched polls of concurrent waits (batch.go).
	batchOnce sync.Once
	instances *batch[govultr.Instance]
	snapshots *batch[govultr.Snapshot]
	tagMu     sync.Mutex
	tag       string
}

// New returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("no API key")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 28 // under Vultr's 30, with room for clock skew
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.CreateTimeout <= 0 {
		cfg.CreateTimeout = createTimeout
	}
	if cfg.LookupTimeout <= 0 {
		cfg.LookupTimeout = lookupTimeout
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: max(60*time.Second, cfg.CreateTimeout)}
	}
	if cfg.RateLimitWait <= 0 {
		cfg.RateLimitWait = rateLimitWait
	}
	c := &Client{cfg: cfg}
	hc := *base
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = &transport{next: next, key: cfg.APIKey, limiter: rate.NewLimiter(rate.Limit(cfg.RateLimit), 1), gate: &c.gate, logf: cfg.Logf}
	gv := govultr.NewClient(&hc)
	if err := gv.SetBaseURL(strings.TrimSuffix(cfg.BaseURL, "/")); err != nil {
		return nil, fmt.Errorf("base URL %q: %w", cfg.BaseURL, err)
	}
	// govultr re-sends every method, POST included, on 5xx and 429; a
	// re-sent create can make a second VPS. We retry ourselves, per method.
	gv.SetRetryLimit(0)
	if cfg.UserAgent != "" {
		gv.SetUserAgent(cfg.UserAgent)
	}
	c.gv = gv
	return c, nil
}

// ErrNotFound is returned (wrapped in *APIError) for 404s.
var ErrNotFound = errors.New("not found")

// APIError is an error answer from the API.
type APIError struct {
	Status     int
	Message    string // the body's "error" field
	Method     string
	Path       string
	RetryAfter time.Duration
	locked     bool
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, msg)
	switch e.Status {
	case http.StatusUnauthorized:
		s += " (the API key was rejected: " + hintUnauthorized + ")"
	case http.StatusForbidden:
		s += " (" + hintForbidden + ")"
	}
	return s
}

// What a refused key means, said wherever Vultr refuses it.
const (
	hintUnauthorized = "check the key, and that its access control list admits this runner's address"
	hintForbidden    = "the API key lacks a permission for this call: see \"API key permissions\" in the README"
)

// Is makes errors.Is(err, ErrNotFound) true for 404s.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.Status == http.StatusNotFound
}

// Locked reports Vultr's "Server is currently locked" answer to a delete
// made shortly after create.
func (e *APIError) Locked() bool { return e.locked }

// Temporary reports whether trying again may succeed: 429 and 5xx but 501.
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || (e.Status >= 500 && e.Status != http.StatusNotImplemented)
}

// callInfo is filled by the transport for the call whose context holds it:
// govultr drops the response on errors, so this is how the status reaches
// us without parsing error strings.
type callInfo struct {
	mu         sync.Mutex
	method     string
	path       string
	status     int
	message    string
	retryAfter time.Duration
	// bad says what was wrong with a 2xx answer that should have carried
	// JSON and did not ("an empty body"); "" when it was fine.
	bad string
}

type callKey struct{}

type transport struct {
	next    http.RoundTripper
	key     string
	limiter *rate.Limiter
	gate    *gate
	logf    func(string, ...any)
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if l, ok := r.Context().Value(limiterKey{}).(*rate.Limiter); ok {
		if err := l.Wait(r.Context()); err != nil {
			return nil, err
		}
	}
	if err := t.limiter.Wait(r.Context()); err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.key)
	start := time.Now()
	res, err := t.next.RoundTrip(r)
	if err != nil {
		t.logf("%s %s: %v (%s)", r.Method, r.URL.Path, err, time.Since(start).Round(time.Millisecond))
		return nil, err
	}
	t.logf("%s %s -> %d (%s)", r.Method, r.URL.Path, res.StatusCode, time.Since(start).Round(time.Millisecond))
	body, rerr := io.ReadAll(io.LimitReader(res.Body, maxBody+1))
	_ = res.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	res.Body, res.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	retryAfter := parseRetryAfter(res.Header.Get("Retry-After"), time.Now())
	switch {
	case res.StatusCode == http.StatusTooManyRequests:
		t.gate.refused(retryAfter)
	case res.StatusCode < 300:
		t.gate.ok()
	}
	info, _ := r.Context().Value(callKey{}).(*callInfo)
	if info == nil {
		return res, nil
	}
	info.mu.Lock()
	defer info.mu.Unlock()
	info.method, info.path, info.status, info.retryAfter = r.Method, r.URL.Path, res.StatusCode, retryAfter
	if res.StatusCode >= 300 {
		info.message = errorMessage(body)
		return res, nil
	}
	// govultr decodes a body only when Content-Type is exactly
	// "application/json"; a gateway's "application/json; charset=utf-8"
	// (or a vendor type ending in +json) is the same JSON.
	if jsonMediaType(res.Header.Get("Content-Type")) || json.Valid(body) {
		res.Header.Set("Content-Type", "application/json")
	}
	if expectsBody(r, res.StatusCode) {
		info.bad = badBody(body)
	}
	return res, nil
}

// maxBody bounds how much of one answer is read (a page of 500 instances
// is about 1 MB).
const maxBody = 32 << 20

// errorMessage is an error answer's "error" (or "message") field.
func errorMessage(body []byte) string {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	if e.Error != "" {
		return e.Error
	}
	return e.Message
}

// jsonMediaType reports whether a Content-Type names JSON, with or without
// parameters.
func jsonMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// noBodyActions are the instance actions Vultr answers with 204.
var noBodyActions = []string{"halt", "reboot", "start"}

// expectsBody reports whether a 2xx answer to r must carry a JSON object:
// reads and creates do; deletes and power actions answer 204.
func expectsBody(r *http.Request, status int) bool {
	if status == http.StatusNoContent || status == http.StatusResetContent {
		return false
	}
	switch r.Method {
	case http.MethodGet:
		return true
	case http.MethodPost:
		return !slices.Contains(noBodyActions, path.Base(r.URL.Path))
	}
	return false
}

// badBody says what is wrong with a body that should be a JSON object.
func badBody(body []byte) string {
	switch b := bytes.TrimSpace(body); {
	case len(b) == 0:
		return "an empty body"
	case len(body) > maxBody:
		return "a body over 32 MiB"
	case !json.Valid(b) || b[0] != '{':
		return "a body that is not a JSON object"
	}
	return ""
}

// parseRetryAfter reads Retry-After: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// BadAnswerError is a 2xx answer that should have carried a JSON object
// and did not, or whose object lacked what every answer of its kind has
// (an ID). Whether the call took effect is unknown: reads are tried again,
// and a create looks before it sends again.
type BadAnswerError struct {
	Method, Path string
	Status       int
	What         string // "an empty body", "no instance in the answer"
}

func (e *BadAnswerError) Error() string {
	return fmt.Sprintf("%s %s: %d with %s, not an answer of the Vultr API (is a proxy or gateway in the way? see HTTPS_PROXY and VULTR_API_URL)", e.Method, e.Path, e.Status, e.What)
}

// badAnswer is what an adapter returns for a decoded answer that lacks
// its object; call fills in the request.
func badAnswer(what string) error { return &BadAnswerError{What: what} }

// lockedText is the only signal Vultr gives for a locked instance: the
// error text of a 500 (vultr/ansible-collection-vultr#113). It is compared
// here, once, where the answer is decoded, and nowhere else.
const lockedText = "currently locked"

// call runs one API call and turns its failure into *APIError,
// *BadAnswerError (or a transport error).
func (c *Client) call(ctx context.Context, fn func(ctx context.Context) error) error {
	// The run's shared pause after a 429 is waited out here, on the
	// caller's context: never inside a request's own time-out.
	if ctx.Value(waitedKey{}) == nil {
		if err := c.gate.wait(ctx); err != nil {
			return err
		}
	}
	info := &callInfo{}
	err := fn(context.WithValue(ctx, callKey{}, info))
	info.mu.Lock()
	defer info.mu.Unlock()
	var bad *BadAnswerError
	switch {
	case info.bad != "" && info.status < 300:
		return &BadAnswerError{Method: info.method, Path: info.path, Status: info.status, What: info.bad}
	case errors.As(err, &bad):
		bad.Method, bad.Path, bad.Status = info.method, info.path, info.status
		return bad
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case info.status >= 300:
		return &APIError{Status: info.status, Message: info.message, Method: info.method, Path: info.path, RetryAfter: info.retryAfter,
			locked: info.status == http.StatusInternalServerError && strings.Contains(strings.ToLower(info.message), lockedText)}
	}
	return &NetError{Err: err}
}

// NetError is a failure to get an answer at all (connection, time-out).
type NetError struct{ Err error }

func (e *NetError) Error() string { return "no answer from the Vultr API: " + e.Err.Error() }
func (e *NetError) Unwrap() error { return e.Err }

// temporary reports whether err may pass on a retry.
func temporary(err error) bool {
	var ae *APIError
	var ne *NetError
	var be *BadAnswerError
	switch {
	case errors.As(err, &ae):
		return ae.Temporary()
	case errors.As(err, &ne), errors.As(err, &be):
		return true
	}
	return false
}

// retry runs an idempotent call until it succeeds, fails for good, or the
// attempts or the context run out. A 429 is not an attempt: it waits (see
// rateBudget) and tries again.
func (c *Client) retry(ctx context.Context, fn func(ctx context.Context) error) error {
	var rl rateBudget
	for attempt := 1; ; attempt++ {
		err := c.call(rl.next(ctx), fn)
		if again, rerr := rl.refused(ctx, c, err); again {
			attempt--
			continue
		} else if rerr != nil {
			return rerr
		}
		if err == nil || !temporary(err) || attempt >= c.cfg.MaxAttempts {
			return err
		}
		if werr := sleep(ctx, c.backoff(attempt, err)); werr != nil {
			return errors.Join(err, werr)
		}
	}
}

// backoff is the wait before retry number attempt: Retry-After when the
// API said so, else exponential with jitter.
func (c *Client) backoff(attempt int, err error) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return ae.RetryAfter
	}
	d := c.cfg.Backoff << (attempt - 1)
	if d > 8*time.Second || d <= 0 {
		d = 8 * time.Second
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// sleep waits d or until ctx ends.
var sleep = ctxtime.Sleep

type limiterKey struct{}

// WithRateLimit returns a context whose API calls are held to perSecond
// with bursts of burst, on top of the client's overall limit: one build's
// share.
func WithRateLimit(ctx context.Context, perSecond float64, burst int) context.Context {
	return context.WithValue(ctx, limiterKey{}, rate.NewLimiter(rate.Limit(perSecond), max(burst, 1)))
}
