package app

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

// Session is what one command shares from start to end: one redactor,
// which every line of output passes, and one API client per API key, so
// that the builds, the cleanup and the lookups of a run share a rate limit.
type Session struct {
	// Red masks every secret of the run.
	Red     *redact.Redactor
	baseURL string
	version string
	debug   func(string)
	// createTimeout bounds one create request (VULTR_CREATE_TIMEOUT;
	// default the client's 60s).
	createTimeout time.Duration
	// rateLimitWait bounds how long one call keeps trying while Vultr
	// answers 429 (VULTR_RATE_LIMIT_WAIT; default the client's 5m).
	rateLimitWait time.Duration
	// timeScale multiplies the client's poll intervals: tests and the
	// bench only (VIA_TEST_TIME_SCALE), against an emulator run on the
	// same scale.
	timeScale float64

	mu      sync.Mutex
	clients map[string]*vultr.Client
}

// NewSession starts a session. Secrets are masked from this moment: in the
// action, each one is announced with ::add-mask:: before any line that
// could hold it.
func NewSession(w World, act *ghaction.Action, baseURL string, secrets ...string) *Session {
	red := redact.New()
	if act != nil {
		red.OnAdd(func(s string) { _ = act.Mask(s) })
	}
	red.Add(secrets...)
	red.Add(w.Getenv("VULTR_API_KEY"))
	d, _ := time.ParseDuration(w.Getenv("VULTR_CREATE_TIMEOUT"))
	rl, _ := time.ParseDuration(w.Getenv("VULTR_RATE_LIMIT_WAIT"))
	sess := &Session{Red: red, version: w.Version, baseURL: baseURL, debug: func(string) {}, createTimeout: d, rateLimitWait: rl}
	if v := w.Getenv("VIA_TEST_TIME_SCALE"); v != "" {
		sess.timeScale, _ = strconv.ParseFloat(v, 64)
		fmt.Fprintf(w.Stderr, "warning: VIA_TEST_TIME_SCALE=%s scales every poll interval; it is for tests against the emulator only\n", v)
	}
	return sess
}

// Cloud returns the session's client for an API key.
func (s *Session) Cloud(apiKey string) (*vultr.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cl, ok := s.clients[apiKey]; ok {
		return cl, nil
	}
	s.Red.Add(apiKey)
	debug := s.debug
	cl, err := vultr.New(vultr.Config{
		APIKey:        apiKey,
		BaseURL:       s.baseURL,
		UserAgent:     "vultr-image-action/" + s.version,
		Logf:          func(format string, args ...any) { debug(fmt.Sprintf(format, args...)) },
		CreateTimeout: s.createTimeout,
		RateLimitWait: s.rateLimitWait,
		TimeScale:     s.timeScale,
	})
	if err != nil {
		return nil, fmt.Errorf("vultr client: %w", err)
	}
	if s.clients == nil {
		s.clients = map[string]*vultr.Client{}
	}
	s.clients[apiKey] = cl
	return cl, nil
}
