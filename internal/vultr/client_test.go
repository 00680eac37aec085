package vultr

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
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
	return CreateInstanceRequest{Region: "ewr", Plan: "vc2-1c-1gb", OSID: 167, Label: "x", RunTag: tag, Tags: []string{"vultr-image-action"}, ListTag: "vultr-image-action"}
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
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultStatus, Path: "^/v2/ssh-keys$", Status: 429, RetryAfter: 1, Count: 1})
	start := time.Now()
	if _, err := c.ListSSHKeys(context.Background()); err != nil {
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
	_, err := c.ListSSHKeys(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("err = %v, want 401", err)
	}
	if strings.Contains(err.Error(), "wrong-key-987654") {
		t.Errorf("error contains the key: %v", err)
	}
	if got, want := err.Error(), "GET /v2/ssh-keys: 401 Invalid API token. (the API key was rejected: "+hintUnauthorized+")"; got != want {
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
}

// The pre-flight asks for no permission the build does not need: the
// catalogue calls are public, and the key is checked once with a one-item
// instance list (never /v2/account, which needs billing access). A 401 or
// a 403 there fails the pre-flight; a 403 on an optional check (a private
// image's look-up) is a warning.
func TestResolveNeedsNoExtraPermission(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{})
	ctx := context.Background()
	osBuild := spec.Vultr{Region: spec.Ref{ID: "ewr"}, Plan: spec.Ref{ID: "vc2-1c-1gb"}, Image: spec.Image{Kind: spec.ImageOS, Ref: spec.Ref{ID: "2284"}}}
	for i := 0; i < 2; i++ {
		if _, err := c.Resolve(ctx, osBuild); err != nil {
			t.Fatal(err)
		}
	}
	var authed []string
	for _, r := range srv.Requests() {
		if !strings.HasPrefix(r.Path, "/v2/regions") && r.Path != "/v2/os" && r.Path != "/v2/plans" {
			authed = append(authed, r.Method+" "+r.Path)
		}
	}
	if got, want := strings.Join(authed, ","), "GET /v2/instances"; got != want {
		t.Errorf("two pre-flights made the authenticated calls %q, want %q (once per key)", got, want)
	}
	var ds spec.Diagnostics
	badKey, _ := New(Config{APIKey: "nope-nope-nope", BaseURL: c.cfg.BaseURL})
	if _, err := badKey.Resolve(ctx, osBuild); !errors.As(err, &ds) || !strings.Contains(ds[0].Summary, "API key was rejected") {
		t.Errorf("a refused key: %v", err)
	}
	limited, srv2 := newTest(t, vultremu.Delays{})
	srv2.Inject(vultremu.Fault{Kind: vultremu.FaultStatus, Method: "GET", Path: "^/v2/instances$", Status: 403, Count: 1})
	if _, err := limited.Resolve(ctx, osBuild); !errors.As(err, &ds) || !strings.Contains(ds[0].Summary, "may not manage instances") {
		t.Errorf("a key that may not manage instances: %v", err)
	}
	snapBuild := osBuild
	snapBuild.Image = spec.Image{Kind: spec.ImageSnapshot, Ref: spec.Ref{ID: "0f1d4a4c-5a6b-4c3e-9b21-3c1f7a2e8d99", Key: "snapshot_id"}}
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultStatus, Path: "^/v2/snapshots/", Status: 403, Count: 1})
	r, err := c.Resolve(ctx, snapBuild)
	if err != nil || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "403") || r.SnapshotID == "" {
		t.Errorf("a 403 on the snapshot check: %+v %v, want a warning and the ID passed on", r, err)
	}
}

// ISOs: the account's own (complete) and Vultr's public ones both pass;
// one that is neither fails, listing public ISOs.
func TestResolveISO(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{})
	ctx := context.Background()
	own := srv.SeedISO(vultremu.ISO{FileName: "installer.iso"})
	uploading := srv.SeedISO(vultremu.ISO{FileName: "big.iso", Status: "pending"})
	build := func(id string) spec.Vultr {
		return spec.Vultr{Region: spec.Ref{ID: "ewr"}, Plan: spec.Ref{ID: "vc2-1c-1gb"}, Image: spec.Image{Kind: spec.ImageISO, Ref: spec.Ref{ID: id, Key: "iso_id"}}}
	}
	tests := []struct {
		id, wantName, wantErr string
	}{
		{own, "ISO installer.iso", ""},
		{"6a8e2b7d-91c4-4f0a-b3d5-7e2c9f1a4b62", "public ISO Alpine Linux 3.20 x86_64 virt", ""},
		{uploading, "", "is pending, not complete"},
		{"11111111-2222-4333-8444-555555555555", "", "neither the account's nor a public one"},
	}
	// A key that may not read the account's ISOs: the pre-flight warns and
	// lets the create decide.
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultStatus, Method: "GET", Path: "^/v2/iso/", Status: 403, Count: 1})
	if r, err := c.Resolve(ctx, build(own)); err != nil || r.ISOID != own || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "403") {
		t.Errorf("a 403 on a private ISO: %+v %v, want its ID passed on with a warning", r, err)
	}
	for _, tt := range tests {
		r, err := c.Resolve(ctx, build(tt.id))
		switch {
		case tt.wantErr == "" && (err != nil || r.ISOID != tt.id || r.ImageName != tt.wantName):
			t.Errorf("ISO %s: %+v %v, want %q", tt.id, r, err, tt.wantName)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ISO %s: err = %v, want %q", tt.id, err, tt.wantErr)
		}
	}
}

// The poll schedule: about 1.5x each time from First, seen within Floor
// early on, an eighth of the time waited later, never beyond Max.
func TestNextPoll(t *testing.T) {
	t.Parallel()
	o := WaitOptions{First: 250 * time.Millisecond, Floor: time.Second, Max: 5 * time.Second}
	tests := []struct {
		delay, elapsed time.Duration
		lo, hi         time.Duration
	}{
		{250 * time.Millisecond, 250 * time.Millisecond, 350 * time.Millisecond, 400 * time.Millisecond},
		{900 * time.Millisecond, 2 * time.Second, time.Second, time.Second},
		{4 * time.Second, 20 * time.Second, 2500 * time.Millisecond, 2500 * time.Millisecond},
		{5 * time.Second, 10 * time.Minute, 5 * time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		for i := 0; i < 20; i++ {
			if got := nextPoll(tt.delay, tt.elapsed, o); got < tt.lo || got > tt.hi {
				t.Errorf("nextPoll(%s, %s) = %s, want %s..%s", tt.delay, tt.elapsed, got, tt.lo, tt.hi)
				break
			}
		}
	}
}

// Parallel builds share their polls: eight concurrent waits on one Client
// cost about as many requests as two alone, each still sees its own
// instance, and a lone wait reads its instance directly.
func TestConcurrentWaitsShareTheirPolls(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{InstancePending: 800 * time.Millisecond})
	ctx := context.Background()
	polls := func(from int) (gets, lists int) {
		for _, r := range srv.Requests()[from:] {
			switch {
			case r.Method == "GET" && r.Path == "/v2/instances":
				lists++
			case r.Method == "GET" && strings.HasPrefix(r.Path, "/v2/instances/"):
				gets++
			}
		}
		return gets, lists
	}
	alone, _ := c.CreateInstance(ctx, req("run-alone"))
	from := len(srv.Requests())
	if _, err := c.WaitInstance(ctx, alone.ID, func(i *Instance) (bool, error) { return i.Status == "active", nil }, WaitOptions{}); err != nil {
		t.Fatal(err)
	}
	single, lists := polls(from)
	if lists != 0 {
		t.Errorf("a lone wait made %d list calls", lists)
	}
	var ids []string
	for i := 0; i < 8; i++ {
		in, err := c.CreateInstance(ctx, req(fmt.Sprintf("run-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, in.ID)
	}
	from = len(srv.Requests())
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := c.WaitInstance(ctx, id, func(in *Instance) (bool, error) { return in.Status == "active", nil }, WaitOptions{})
			if err == nil && got.ID != id {
				err = fmt.Errorf("wait for %s answered %s", id, got.ID)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	gets, lists := polls(from)
	t.Logf("one wait alone: %d GETs; eight together: %d GETs and %d lists", single, gets, lists)
	if lists == 0 || gets+lists > 3*single {
		t.Errorf("8 waits made %d GETs and %d lists; one alone made %d: want a few shared lists", gets, lists, single)
	}
}

func TestSnapshotTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		diskGB int
		want   time.Duration
	}{
		{0, 30 * time.Minute},                 // unknown disk
		{25, 30 * time.Minute},                // observed: 7-8.5 minutes
		{55, 36*time.Minute + 40*time.Second}, // Packer's 10m fails from here on
		{120, 80 * time.Minute},               // observed: over 20 minutes
		{2000, 6 * time.Hour},
	}
	for _, tt := range tests {
		if got := SnapshotTimeout(tt.diskGB); got != tt.want {
			t.Errorf("SnapshotTimeout(%d) = %s, want %s", tt.diskGB, got, tt.want)
		}
	}
}

// A snapshot wait that times out names the snapshot and its last status.
func TestSnapshotTimeoutNamesTheSnapshot(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{})
	ctx := context.Background()
	inst, _ := c.CreateInstance(ctx, req("run-hang"))
	waitOK(t, c, inst.ID)
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultHangSnapshot, Count: 1})
	snap, err := c.CreateSnapshot(ctx, inst.ID, "hangs", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.WaitSnapshot(ctx, snap.ID, WaitOptions{Timeout: 300 * time.Millisecond})
	var te *TimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), snap.ID) || te.State != "pending" {
		t.Errorf("err = %v, want a TimeoutError naming %s, last state pending", err, snap.ID)
	}
}
