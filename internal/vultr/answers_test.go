package vultr

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
)

// Answers that are valid JSON but not byte for byte what govultr expects
// (a gateway's media-type parameters), and 2xx answers without the body
// they should carry, are read or treated as unclear: never as an empty
// list, never a nil dereference.

var seedVultr = spec.Vultr{Region: spec.Ref{ID: "ewr", Key: "region_id"}, Plan: spec.Ref{ID: "vc2-1c-1gb", Key: "plan_id"},
	Image: spec.Image{Kind: spec.ImageOS, Ref: spec.Ref{ID: "2284", Key: "os_id"}}}

// A gateway's "application/json; charset=utf-8" is JSON: the pre-flight
// reads the catalogue, and a build's calls work end to end.
func TestMediaTypeParametersAreJSON(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"application/json; charset=utf-8", "application/json;charset=UTF-8", "application/vnd.vultr+json"} {
		t.Run(ct, func(t *testing.T) {
			t.Parallel()
			c, srv := newTest(t, vultremu.Delays{})
			srv.Inject(vultremu.Fault{Kind: vultremu.FaultMediaType, ContentType: ct})
			ctx := context.Background()
			r, err := c.Resolve(ctx, seedVultr)
			if err != nil {
				t.Fatalf("pre-flight: %v", err)
			}
			if r.Plan != "vc2-1c-1gb" || r.OSID != 2284 {
				t.Errorf("resolved %+v", r)
			}
			inst, err := c.CreateInstance(ctx, req("run-mt"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.GetInstance(ctx, inst.ID)
			if err != nil || got.ID != inst.ID {
				t.Fatalf("get: %+v %v", got, err)
			}
			list, err := c.ListInstances(ctx, ListFilter{Tag: "run-mt"})
			if err != nil || len(list) != 1 {
				t.Fatalf("list: %d %v", len(list), err)
			}
			if err := c.DeleteInstance(ctx, inst.ID); err != nil {
				t.Fatal(err)
			}
			if n := len(srv.Instances()); n != 0 {
				t.Errorf("%d instances left", n)
			}
		})
	}
}

// A create answered 2xx with an empty body happened, and the answer does
// not say what it made: the look-up adopts it, exactly one. A read
// answered so is tried again.
func TestEmptyBodyIsAnUnclearAnswer(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{})
	ctx := context.Background()
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultEmptyBody, Method: "POST", Path: "^/v2/instances$", Count: 1})
	inst, err := c.CreateInstance(ctx, req("run-empty"))
	if err != nil {
		t.Fatal(err)
	}
	if all := srv.Instances(); len(all) != 1 || all[0].ID != inst.ID {
		t.Fatalf("instances = %+v, want exactly the one returned (%s)", all, inst.ID)
	}
	if !inst.Unclear {
		t.Error("the instance does not say its create had an unclear answer")
	}
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultEmptyBody, Method: "GET", Count: 2})
	got, err := c.GetInstance(ctx, inst.ID)
	if err != nil || got.ID != inst.ID {
		t.Fatalf("get after empty answers: %+v %v", got, err)
	}
	srv.ClearFaults()
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultEmptyBody, Method: "GET", Path: "^/v2/plans$", Count: 1})
	if _, err := c.Resolve(ctx, seedVultr); err != nil {
		t.Fatalf("pre-flight after an empty plan list answer: %v", err)
	}
}

// Whatever a 2xx answer holds, the adapter returns an error or a value,
// never panics; an answer without its object is a *BadAnswerError.
func TestOddAnswersNeverPanic(t *testing.T) {
	t.Parallel()
	bodies := map[string]struct{ ct, body string }{
		"empty":        {"application/json", ""},
		"empty object": {"application/json; charset=utf-8", "{}"},
		"null":         {"application/json", "null"},
		"array":        {"application/json", "[]"},
		"html":         {"text/html", "<html>gateway</html>"},
		"null object":  {"application/json", `{"instance":null,"snapshot":null,"ssh_key":null}`},
		"no id":        {"application/json", `{"instance":{"label":"x"},"snapshot":{"status":"pending"},"ssh_key":{"name":"k"}}`},
		"truncated":    {"application/json", `{"instance":{"id":"`},
	}
	for name, b := range bodies {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", b.ct)
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(b.body))
			}))
			defer hs.Close()
			c, err := New(Config{APIKey: key, BaseURL: hs.URL, Backoff: time.Millisecond, RateLimit: 1000, MaxAttempts: 2, LookupTimeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			calls := map[string]func() error{
				"get instance":    func() error { _, err := c.GetInstance(ctx, "i"); return err },
				"list instances":  func() error { _, err := c.ListInstances(ctx, ListFilter{}); return err },
				"create instance": func() error { _, err := c.CreateInstance(ctx, req("run-odd")); return err },
				"get snapshot":    func() error { _, err := c.GetSnapshot(ctx, "s"); return err },
				"create snapshot": func() error { _, err := c.CreateSnapshot(ctx, "i", "d", nil); return err },
				"create key":      func() error { _, err := c.CreateSSHKey(ctx, "k", "ssh-ed25519 AAAA"); return err },
				"list keys":       func() error { _, err := c.ListSSHKeys(ctx); return err },
				"pre-flight":      func() error { _, err := c.Resolve(ctx, seedVultr); return err },
				"wait instance": func() error {
					_, err := c.WaitInstance(ctx, "i", func(*Instance) (bool, error) { return true, nil }, WaitOptions{Timeout: 300 * time.Millisecond, First: time.Millisecond})
					return err
				},
			}
			for what, call := range calls {
				if err := call(); err == nil {
					t.Errorf("%s: no error for a %s answer", what, name)
				}
			}
			var bad *BadAnswerError
			if err := calls["get instance"](); !errors.As(err, &bad) {
				t.Errorf("get instance: err = %v, want *BadAnswerError", err)
			}
		})
	}
}

// A 429 is a refusal: the create waits and sends again, never looks up,
// and makes exactly one instance.
func TestCreateThrough429Storm(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		p          float64
		retryAfter int
	}{{"30% with Retry-After", 0.3, 1}, {"50% without Retry-After", 0.5, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, srv := newTest(t, vultremu.Delays{})
			srv.Inject(vultremu.Fault{Kind: vultremu.FaultStatus, Method: "POST", Path: "^/v2/instances$", Status: 429, RetryAfter: tc.retryAfter, Probability: tc.p})
			for i := range 4 {
				tag := "run-storm-" + string(rune('a'+i))
				if _, err := c.CreateInstance(context.Background(), req(tag)); err != nil {
					t.Fatalf("create %d: %v", i, err)
				}
			}
			if n := len(srv.Instances()); n != 4 {
				t.Errorf("instances = %d, want 4", n)
			}
			refused, lookups := 0, 0
			for _, r := range srv.Requests() {
				switch {
				case r.Method == "POST" && r.Status == 429:
					refused++
				case r.Method == "GET" && r.Path == "/v2/instances":
					lookups++
				}
			}
			if refused == 0 {
				t.Fatal("the storm refused nothing; the test proves nothing")
			}
			if lookups != 0 {
				t.Errorf("%d look-ups after 429s, want none: a 429 is a refusal", lookups)
			}
		})
	}
}

// At 100% 429s a call fails after its budget with an error that says so,
// and nothing was made.
func TestRateLimitBudget(t *testing.T) {
	t.Parallel()
	srv := vultremu.New(vultremu.Options{APIKey: key, Seed: 7})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	c, err := New(Config{APIKey: key, BaseURL: hs.URL, RateLimit: 1000, RateLimitWait: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultStatus, Status: 429})
	start := time.Now()
	_, err = c.CreateInstance(context.Background(), req("run-429"))
	var rl *RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("err = %v, want *RateLimitError", err)
	}
	var amb *AmbiguousCreateError
	if errors.As(err, &amb) {
		t.Errorf("a create refused with 429 is reported as maybe made: %v", err)
	}
	if d := time.Since(start); d < 1500*time.Millisecond || d > 40*time.Second {
		t.Errorf("gave up after %s, want the 1.5s budget", d)
	}
	if !strings.Contains(err.Error(), "429 Too Many Requests") || rl.Tries < 2 {
		t.Errorf("error = %v (tries %d)", err, rl.Tries)
	}
	if n := len(srv.Instances()); n != 0 {
		t.Errorf("%d instances made", n)
	}
	_, err = c.GetInstance(context.Background(), "x")
	if !errors.As(err, &rl) {
		t.Errorf("read: err = %v, want *RateLimitError", err)
	}
}

// A 429 seen by one build pauses the run's others: no request leaves the
// client before the pause is over.
func TestA429PausesEveryBuild(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{})
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultStatus, Method: "GET", Path: "^/v2/ssh-keys$", Status: 429, RetryAfter: 1, Count: 1})
	first := make(chan struct{})
	go func() {
		defer close(first)
		_, _ = c.ListSSHKeys(context.Background())
	}()
	var refusedAt time.Time
	for deadline := time.Now().Add(5 * time.Second); refusedAt.IsZero() && time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		for _, r := range srv.Requests() {
			if r.Status == 429 {
				refusedAt = r.Time
			}
		}
	}
	if refusedAt.IsZero() {
		t.Fatal("no 429 was answered")
	}
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = c.ListInstances(context.Background(), ListFilter{})
		}()
	}
	wg.Wait()
	<-first
	for _, r := range srv.Requests() {
		if r.Time.After(refusedAt) && r.Time.Sub(refusedAt) < 900*time.Millisecond {
			t.Errorf("%s %s sent %s after the 429, inside its 1s Retry-After", r.Method, r.Path, r.Time.Sub(refusedAt))
		}
	}
}

// A create whose first try is unclear and whose look-up finds nothing is
// sent again; the first may still appear, so the instance says so.
func TestLateCreateIsReportedUnclear(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{})
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultCreateThenError, Delay: 400 * time.Millisecond, Count: 1})
	inst, err := c.CreateInstance(context.Background(), req("run-late"))
	if err != nil {
		t.Fatal(err)
	}
	if !inst.Unclear {
		t.Error("Unclear is false after an unclear first try")
	}
	if n := len(srv.Instances()); n != 2 {
		t.Fatalf("instances = %d; the fault should have made a hidden first one", n)
	}
	time.Sleep(500 * time.Millisecond)
	found, err := findByTagAll(c, "run-late")
	if err != nil || len(found) != 2 {
		t.Errorf("after the delay the run tag lists %d instances (%v), want both", len(found), err)
	}
}

func findByTagAll(c *Client, tag string) ([]Instance, error) {
	return c.ListInstances(context.Background(), ListFilter{Tag: tag})
}

// A 429 answered during a pause, after a success reset the streak, is
// recorded without a panic, and pauses at least as long as it asks.
func TestGateAfterAReset(t *testing.T) {
	t.Parallel()
	var g gate
	g.refused(0)
	g.ok()
	g.refused(0) // during the pause, streak 0
	g.refused(3 * time.Second)
	if d := time.Until(g.until); d < 2*time.Second {
		t.Errorf("pause ends in %s, want the Retry-After's 3s", d)
	}
}
