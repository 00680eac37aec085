package cli

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

// session is what one command shares from start to end: one redactor,
// which every line of output passes, and one API client per API key, so
// that the builds, the cleanup and the lookups of a run share a rate limit.
type session struct {
	red     *redact.Redactor
	baseURL string
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

// newSession starts a session. Secrets are masked from this moment: in the
// action, each one is announced with ::add-mask:: before any line that
// could hold it.
func newSession(env Env, act *ghaction.Action, baseURL string, secrets ...string) *session {
	red := redact.New()
	if act != nil {
		red.OnAdd(func(s string) { _ = act.Mask(s) })
	}
	red.Add(secrets...)
	red.Add(env.Getenv("VULTR_API_KEY"))
	d, _ := time.ParseDuration(env.Getenv("VULTR_CREATE_TIMEOUT"))
	rl, _ := time.ParseDuration(env.Getenv("VULTR_RATE_LIMIT_WAIT"))
	sess := &session{red: red, baseURL: baseURL, debug: func(string) {}, createTimeout: d, rateLimitWait: rl}
	if v := env.Getenv("VIA_TEST_TIME_SCALE"); v != "" {
		sess.timeScale, _ = strconv.ParseFloat(v, 64)
		fmt.Fprintf(env.Stderr, "warning: VIA_TEST_TIME_SCALE=%s scales every poll interval; it is for tests against the emulator only\n", v)
	}
	return sess
}

// cloud returns the session's client for an API key.
func (s *session) cloud(apiKey string) (*vultr.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cl, ok := s.clients[apiKey]; ok {
		return cl, nil
	}
	s.red.Add(apiKey)
	debug := s.debug
	cl, err := vultr.New(vultr.Config{
		APIKey:        apiKey,
		BaseURL:       s.baseURL,
		UserAgent:     "vultr-image-action/" + Version,
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
