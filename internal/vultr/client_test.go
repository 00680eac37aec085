package vultr

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
)

const key = "ADAPTERTESTKEY00001"

func newTest(t *testing.T, d vultremu.Delays) (*Client, *vultremu.Server) {
	t.Helper()
	srv := vultremu.New(vultremu.Options{APIKey: key, Delays: d, Seed: 7})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	c, err := New(Config{APIKey: key, BaseURL: hs.URL, Backoff: 5 * time.Millisecond, RateLimit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func req(tag string) CreateInstanceRequest {
	return CreateInstanceRequest{Region: "ewr", Plan: "vc2-1c-1gb", OSID: 167, Label: "x", RunTag: tag, Tags: []string{"vultr-image-action"}}
}

func TestCreateThatErrorsButCreatedMakesExactlyOne(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{})
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultCreateThenError, Count: 1})
	inst, err := c.CreateInstance(context.Background(), req("run-a"))
	if err != nil {
		t.Fatal(err)
	}
	all := srv.Instances()
	if len(all) != 1 {
		t.Fatalf("instances = %d, want exactly 1", len(all))
	}
	if inst.ID != all[0].ID {
		t.Errorf("returned %s, but the instance is %s", inst.ID, all[0].ID)
	}
	if err := c.DeleteInstance(context.Background(), inst.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Instances()); n != 0 {
		t.Errorf("after cleanup: %d instances", n)
	}
}

func TestCreateRetriesRejectedRequests(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{})
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultStatus, Method: "POST", Path: "^/v2/instances$", Status: 503, Count: 2})
	if _, err := c.CreateInstance(context.Background(), req("run-b")); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Instances()); n != 1 {
		t.Errorf("instances = %d, want 1", n)
	}
}

func TestCreateDefinitiveErrorIsNotRetried(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{})
	r := req("run-c")
	r.Plan = "no-such-plan"
	_, err := c.CreateInstance(context.Background(), r)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Message != "Invalid plan chosen." {
		t.Fatalf("err = %v, want *APIError 400 Invalid plan chosen.", err)
	}
	posts := 0
	for _, q := range srv.Requests() {
		if q.Method == "POST" {
			posts++
		}
	}
	if posts != 1 {
		t.Errorf("POSTs = %d, want 1", posts)
	}
}

func TestDeleteOutlastsLockAndTreats404AsDone(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{})
	inst, err := c.CreateInstance(context.Background(), req("run-d"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultLockedDelete, Count: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.DeleteInstance(ctx, inst.ID); err != nil {
		t.Fatalf("delete through 3 locked answers: %v", err)
	}
	if err := c.DeleteInstance(ctx, inst.ID); err != nil {
		t.Errorf("deleting a gone instance: %v, want nil", err)
	}
	if err := c.DeleteSSHKey(ctx, "00000000-0000-4000-8000-000000000000"); err != nil {
		t.Errorf("deleting a gone key: %v, want nil", err)
	}
}

// While the instance installs, Vultr refuses the delete: the client waits
// on server_status (GETs that back off to 10 s), not on repeated DELETEs,
// and deletes once the install ends. TimeScale runs a 90 s install in
// 0.45 s, client and emulator alike.
func TestDeleteWaitsOutTheInstallLock(t *testing.T) {
	t.Parallel()
	srv := vultremu.New(vultremu.Options{APIKey: key, Delays: vultremu.RealTimeline, TimeScale: 0.005, Seed: 7})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	c, err := New(Config{APIKey: key, BaseURL: hs.URL, Backoff: 5 * time.Millisecond, RateLimit: 1000, TimeScale: 0.005})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := c.CreateInstance(context.Background(), req("run-lock"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.DeleteInstance(ctx, inst.ID); err != nil {
		t.Fatalf("delete during the install: %v", err)
	}
	if n := len(srv.Instances()); n != 0 {
		t.Fatalf("%d instances left", n)
	}
	var deletes, gets int
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, inst.ID) {
			switch r.Method {
			case "DELETE":
				deletes++
			case "GET":
				gets++
			}
		}
	}
	if deletes > 3 || gets == 0 || gets > 25 {
		t.Errorf("%d DELETEs and %d GETs, want at most 3 DELETEs and a few GETs on server_status", deletes, gets)
	}
}

// A deleted instance answers 400 to DELETE on Vultr: the client counts it
// gone only once a GET confirms it, and a 400 for an instance that exists
// is an error.
func TestDeleteTreats400AsGoneOnlyWhenConfirmed(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{})
	inst, err := c.CreateInstance(context.Background(), req("run-400"))
	if err != nil {
		t.Fatal(err)
	}
	waitOK(t, c, inst.ID)
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultStatus, Method: "DELETE", Status: 400, Count: 1})
	if err := c.DeleteInstance(context.Background(), inst.ID); err == nil {
		t.Errorf("a 400 for a live instance was taken as deleted")
	}
	if n := len(srv.Instances()); n != 1 {
		t.Fatalf("%d instances, want the live one", n)
	}
	for i := 0; i < 2; i++ {
		if err := c.DeleteInstance(context.Background(), inst.ID); err != nil {
			t.Errorf("delete %d: %v", i+1, err)
		}
	}
	var sawBadRequest bool
	for _, r := range srv.Requests() {
		sawBadRequest = sawBadRequest || r.Method == "DELETE" && r.Status == 400
	}
	if !sawBadRequest || len(srv.Instances()) != 0 {
		t.Errorf("the second delete should have met Vultr's 400 and succeeded")
	}
}

func waitOK(t *testing.T, c *Client, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.WaitInstance(ctx, id, func(i *Instance) (bool, error) { return !installing(i), nil }, WaitOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteGivesUpAtDeadlineWhenLocked(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{})
	inst, _ := c.CreateInstance(context.Background(), req("run-e"))
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultLockedDelete})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := c.DeleteInstance(ctx, inst.ID)
	var ae *APIError
	if !errors.As(err, &ae) || !ae.Locked() {
		t.Errorf("err = %v, want a locked *APIError", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to say the deadline passed", err)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{})
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultStatus, Path: "^/v2/account$", Status: 429, RetryAfter: 1, Count: 1})
	start := time.Now()
	if err := c.Account(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("retried after %s, before Retry-After's 1s", d)
	}
}

func TestErrorsCarryNoSecret(t *testing.T) {
	t.Parallel()
	srv := vultremu.New(vultremu.Options{APIKey: "right-key-123456"})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	c, _ := New(Config{APIKey: "wrong-key-987654", BaseURL: hs.URL})
	err := c.Account(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("err = %v, want 401", err)
	}
	if strings.Contains(err.Error(), "wrong-key-987654") {
		t.Errorf("error contains the key: %v", err)
	}
	if got, want := err.Error(), "GET /v2/account: 401 Invalid API token."; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func TestWaits(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{InstancePending: 50 * time.Millisecond, InstanceBooting: 300 * time.Millisecond, SnapshotPending: 100 * time.Millisecond})
	ctx := context.Background()
	inst, _ := c.CreateInstance(ctx, req("run-w"))
	before := len(srv.Requests())
	got, err := c.WaitInstance(ctx, inst.ID, func(i *Instance) (bool, error) { return InstanceReady(i), nil }, WaitOptions{Timeout: 10 * time.Second})
	if err != nil || !InstanceReady(got) {
		t.Fatalf("wait: %v %+v", err, got)
	}
	if polls := len(srv.Requests()) - before; polls > 6 {
		t.Errorf("%d polls for a 350ms boot; want at most 6", polls)
	}
	// A wait that cannot finish times out with a typed error.
	_, err = c.WaitInstance(ctx, inst.ID, func(i *Instance) (bool, error) { return InstanceStopped(i), nil }, WaitOptions{Timeout: 300 * time.Millisecond})
	var te *TimeoutError
	if !errors.As(err, &te) || !strings.Contains(te.State, "active/running/ok") {
		t.Errorf("err = %v, want *TimeoutError with the last state", err)
	}
	// Cancellation ends a wait at once.
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	start := time.Now()
	_, err = c.WaitInstance(cctx, inst.ID, func(i *Instance) (bool, error) { return false, nil }, WaitOptions{})
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Errorf("cancelled wait: %v after %s", err, time.Since(start))
	}
	snap, err := c.CreateSnapshot(ctx, inst.ID, "desc", nil)
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.WaitSnapshot(ctx, snap.ID, WaitOptions{Timeout: 5 * time.Second})
	if err != nil || done.Status != "complete" {
		t.Fatalf("snapshot wait: %v %+v", err, done)
	}
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultFailSnapshot, Count: 1})
	bad, _ := c.CreateSnapshot(ctx, inst.ID, "desc2", nil)
	if _, err := c.WaitSnapshot(ctx, bad.ID, WaitOptions{Timeout: 5 * time.Second}); !errors.Is(err, ErrSnapshotFailed) {
		t.Errorf("failed snapshot: err = %v, want ErrSnapshotFailed", err)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	c, _ := newTest(t, vultremu.Delays{})
	ctx := context.Background()
	pos := spec.Pos{File: "t.json", Line: 3, Col: 5}
	good := spec.Vultr{
		Region: spec.Ref{Name: "Chicago", Key: "region_name", Pos: pos},
		Plan:   spec.Ref{Name: "1024 MB RAM,25 GB SSD,1.00 TB BW", Key: "plan_name", Pos: pos},
		Image:  spec.Image{Kind: spec.ImageOS, Ref: spec.Ref{Name: "Ubuntu 24.04 LTS x64", Key: "os_name", Pos: pos}},
	}
	r, err := c.Resolve(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	if r.Region != "ord" || r.Plan != "vc2-1c-1gb" || r.OSID != 2284 {
		t.Errorf("resolved %+v", r)
	}
	bad := spec.Vultr{
		Region: spec.Ref{ID: "xyz", Key: "region_id", Pos: pos},
		Plan:   spec.Ref{ID: "vc2-1c-1gbb", Key: "plan_id", Pos: pos},
		Image:  spec.Image{Kind: spec.ImageOS, Ref: spec.Ref{ID: "99999", Key: "os_id", Pos: pos}},
	}
	_, err = c.Resolve(ctx, bad)
	var ds spec.Diagnostics
	if !errors.As(err, &ds) || len(ds) != 3 {
		t.Fatalf("err = %v, want 3 diagnostics at once", err)
	}
	if !strings.Contains(ds[1].Detail, "vc2-1c-1gb") {
		t.Errorf("plan diagnostic does not suggest the close plan: %+v", ds[1])
	}
	notThere := spec.Vultr{Region: spec.Ref{ID: "ams", Key: "region_id"}, Plan: spec.Ref{ID: "vc2-1c-0.5gb-v6", Key: "plan_id"}, Image: spec.Image{Kind: spec.ImageOS, Ref: spec.Ref{ID: "2284"}}}
	_, err = c.Resolve(ctx, notThere)
	if !errors.As(err, &ds) || !strings.Contains(ds[0].Summary, "not available in ams") {
		t.Errorf("availability: %v", err)
	}
	v6 := spec.Vultr{Region: spec.Ref{ID: "ewr"}, Plan: spec.Ref{ID: "vc2-1c-0.5gb-v6"}, Image: spec.Image{Kind: spec.ImageOS, Ref: spec.Ref{ID: "2284"}}}
	if r, err := c.Resolve(ctx, v6); err != nil || !r.IPv6Only {
		t.Errorf("IPv6-only plan: %+v %v", r, err)
	}
	badKey, _ := New(Config{APIKey: "nope-nope-nope", BaseURL: c.cfg.BaseURL})
	_, err = badKey.Resolve(ctx, good)
	if !errors.As(err, &ds) || !strings.Contains(ds[0].Summary, "API key was rejected") {
		t.Errorf("bad key: %v", err)
	}
}
