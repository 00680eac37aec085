package vultremu

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vultr/govultr/v3"
	"golang.org/x/oauth2"
)

const testKey = "TESTKEY1234567890"

func newTest(t *testing.T, o Options) (*Server, *govultr.Client, string) {
	t.Helper()
	if o.APIKey == "" {
		o.APIKey = testKey
	}
	o.Seed = 1
	srv := New(o)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	hc := oauth2.NewClient(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: o.APIKey}))
	gv := govultr.NewClient(hc)
	if err := gv.SetBaseURL(hs.URL); err != nil {
		t.Fatal(err)
	}
	gv.SetRetryLimit(0)
	return srv, gv, hs.URL
}

func rawRequest(t *testing.T, url, method, path, key, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m, res.Header
}

func TestAuth(t *testing.T) {
	t.Parallel()
	_, _, url := newTest(t, Options{})
	tests := []struct {
		name, method, path, key string
		want                    int
	}{
		{"no key", "GET", "/v2/instances", "", 401},
		{"wrong key", "GET", "/v2/instances", "nope", 401},
		{"good key", "GET", "/v2/instances", testKey, 200},
		{"public regions", "GET", "/v2/regions", "", 200},
		{"public plans", "GET", "/v2/plans", "", 200},
		{"public os", "GET", "/v2/os", "", 200},
		{"public availability", "GET", "/v2/regions/ewr/availability", "", 200},
		{"account needs key", "GET", "/v2/account", "", 401},
	}
	for _, tt := range tests {
		got, body, _ := rawRequest(t, url, tt.method, tt.path, tt.key, "")
		if got != tt.want {
			t.Errorf("%s: %s %s = %d, want %d", tt.name, tt.method, tt.path, got, tt.want)
		}
		if tt.want == 401 {
			if body["error"] != "Invalid API token." || body["status"] != float64(401) {
				t.Errorf("%s: body = %v, want Vultr's 401 body", tt.name, body)
			}
		}
	}
}

func TestCursorPaging(t *testing.T) {
	t.Parallel()
	_, gv, _ := newTest(t, Options{})
	var all []govultr.OS
	opts := &govultr.ListOptions{PerPage: 10}
	pages := 0
	for {
		list, meta, _, err := gv.OS.List(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, list...)
		if meta.Total != 33 {
			t.Errorf("meta.total = %d, want 33", meta.Total)
		}
		if meta.Links.Next == "" {
			break
		}
		opts.Cursor = meta.Links.Next
	}
	if got, want := len(all), 33; got != want {
		t.Errorf("listed %d OS, want %d", got, want)
	}
	if pages != 4 {
		t.Errorf("pages = %d, want 4", pages)
	}
	seen := map[int]bool{}
	for _, o := range all {
		if seen[o.ID] {
			t.Errorf("OS %d listed twice", o.ID)
		}
		seen[o.ID] = true
	}
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	_, _, url := newTest(t, Options{})
	tests := []struct {
		name, body, wantErr string
	}{
		{"no region", `{"plan":"vc2-1c-1gb","os_id":167}`, "Invalid region."},
		{"bad plan", `{"region":"ewr","plan":"nope","os_id":167}`, "Invalid plan chosen."},
		{"plan not in region", `{"region":"ams","plan":"vc2-1c-0.5gb-v6","os_id":167}`, "Plan is not available in the selected region."},
		{"two sources", `{"region":"ewr","plan":"vc2-1c-1gb","os_id":167,"app_id":1}`, "Please provide only one os_id, iso_id, snapshot_id, app_id, or image_id."},
		{"no source", `{"region":"ewr","plan":"vc2-1c-1gb"}`, "Please provide only one os_id, iso_id, snapshot_id, app_id, or image_id."},
		{"bad os", `{"region":"ewr","plan":"vc2-1c-1gb","os_id":999999}`, "Invalid os_id."},
		{"user_data not base64", `{"region":"ewr","plan":"vc2-1c-1gb","os_id":167,"user_data":"#!/bin/sh"}`, "user_data must be base64 encoded."},
		{"unknown key", `{"region":"ewr","plan":"vc2-1c-1gb","os_id":167,"sshkey_id":["00000000-0000-4000-8000-000000000000"]}`, "Invalid SSH key ID."},
	}
	for _, tt := range tests {
		code, body, _ := rawRequest(t, url, "POST", "/v2/instances", testKey, tt.body)
		if code != 400 || body["error"] != tt.wantErr {
			t.Errorf("%s: %d %v, want 400 %q", tt.name, code, body, tt.wantErr)
		}
	}
	// govultr's nulls are accepted.
	code, body, _ := rawRequest(t, url, "POST", "/v2/instances", testKey, `{"region":"ewr","plan":"vc2-1c-1gb","os_id":167,"tags":null,"block_devices":null}`)
	if code != 202 {
		t.Errorf("create with null tags: %d %v, want 202", code, body)
	}
}

func TestInstanceLifecycle(t *testing.T) {
	t.Parallel()
	srv, gv, url := newTest(t, Options{Delays: Delays{InstancePending: 30 * time.Millisecond, InstanceBooting: 30 * time.Millisecond}})
	ctx := context.Background()
	inst, _, err := gv.Instance.Create(ctx, &govultr.InstanceCreateReq{Region: "ewr", Plan: "vc2-1c-1gb", OsID: 167, Label: "l", Tags: []string{"a", "run-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if inst.Status != "pending" || inst.ServerStatus != "none" || inst.MainIP != "0.0.0.0" || inst.DefaultPassword == "" {
		t.Errorf("just created: %s/%s %s password %q; want pending/none 0.0.0.0 with a password", inst.Status, inst.ServerStatus, inst.MainIP, inst.DefaultPassword)
	}
	deadline := time.Now().Add(5 * time.Second)
	var got *govultr.Instance
	for time.Now().Before(deadline) {
		got, _, err = gv.Instance.Get(ctx, inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ServerStatus == "ok" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got.Status != "active" || got.ServerStatus != "ok" || got.PowerStatus != "running" || !strings.HasPrefix(got.MainIP, "127.") {
		t.Errorf("booted: %s/%s/%s %s", got.Status, got.PowerStatus, got.ServerStatus, got.MainIP)
	}
	if got.DefaultPassword != "" {
		t.Errorf("GET returned default_password; only the create response has it")
	}
	list, _, _, err := gv.Instance.List(ctx, &govultr.ListOptions{Tag: "run-1"})
	if err != nil || len(list) != 1 {
		t.Errorf("list by tag: %d, %v; want 1", len(list), err)
	}
	list, _, _, _ = gv.Instance.List(ctx, &govultr.ListOptions{Tag: "other"})
	if len(list) != 0 {
		t.Errorf("list by other tag: %d, want 0", len(list))
	}
	if err := gv.Instance.Halt(ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := gv.Instance.Get(ctx, inst.ID); got.PowerStatus != "stopped" {
		t.Errorf("after halt: power %s", got.PowerStatus)
	}
	if err := gv.Instance.Delete(ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	code, body, _ := rawRequest(t, url, "GET", "/v2/instances/"+inst.ID, testKey, "")
	if code != 404 || body["status"] != float64(404) {
		t.Errorf("after delete: %d %v, want 404", code, body)
	}
	code, body, _ = rawRequest(t, url, "GET", "/v2/instances/12345", testKey, "")
	if code != 400 || body["error"] != "Invalid UUID format." {
		t.Errorf("v1-style ID: %d %v, want 400 Invalid UUID format.", code, body)
	}
	if len(srv.Instances()) != 0 {
		t.Errorf("instances left")
	}
}

func TestSnapshotLifecycleAndMachines(t *testing.T) {
	t.Parallel()
	rec := &recordingMachines{}
	srv, gv, _ := newTest(t, Options{Machines: rec, Delays: Delays{SnapshotPending: 20 * time.Millisecond}})
	ctx := context.Background()
	key, _, err := gv.SSHKey.Create(ctx, &govultr.SSHKeyReq{Name: "k", SSHKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG+bW2CJ2QnFBrlHq2yQKvbT3b4nTdnKvFMzbJm6yW4N x"})
	if err != nil {
		t.Fatal(err)
	}
	inst, _, err := gv.Instance.Create(ctx, &govultr.InstanceCreateReq{Region: "ewr", Plan: "vc2-1c-1gb", OsID: 167, SSHKeys: []string{key.ID}})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { i, _, _ := gv.Instance.Get(ctx, inst.ID); return i.ServerStatus == "ok" })
	snap, _, err := gv.Snapshot.Create(ctx, &govultr.SnapshotReq{InstanceID: inst.ID, Description: "d"})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Status != "pending" || snap.Size != 0 {
		t.Errorf("new snapshot: %s size %d", snap.Status, snap.Size)
	}
	waitUntil(t, func() bool { s, _, _ := gv.Snapshot.Get(ctx, snap.ID); return s.Status == "complete" })
	s, _, _ := gv.Snapshot.Get(ctx, snap.ID)
	if s.Size == 0 || s.CompressedSize == 0 || s.CompressedSize >= s.Size {
		t.Errorf("complete snapshot sizes: %d / %d", s.Size, s.CompressedSize)
	}
	from, _, err := gv.Instance.Create(ctx, &govultr.InstanceCreateReq{Region: "ewr", Plan: "vc2-1c-1gb", SnapshotID: snap.ID})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { i, _, _ := gv.Instance.Get(ctx, from.ID); return i.ServerStatus == "ok" })
	rec.mu.Lock()
	calls := strings.Join(rec.calls, ",")
	rec.mu.Unlock()
	if want := "boot:" + inst.ID + "::1key,snapshot:" + snap.ID + ",boot:" + from.ID + ":" + snap.ID + ":0key"; calls != want {
		t.Errorf("machine calls = %s\nwant %s", calls, want)
	}
	_ = srv
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	srv, gv, url := newTest(t, Options{})
	ctx := context.Background()
	srv.Inject(Fault{Kind: FaultStatus, Method: "GET", Path: "^/v2/account$", Status: 429, RetryAfter: 2, Count: 1})
	code, body, hdr := rawRequest(t, url, "GET", "/v2/account", testKey, "")
	if code != 429 || hdr.Get("Retry-After") != "2" || body["status"] != float64(429) {
		t.Errorf("429 fault: %d %v %v", code, body, hdr)
	}
	if code, _, _ := rawRequest(t, url, "GET", "/v2/account", testKey, ""); code != 200 {
		t.Errorf("fault with count 1 fired twice: %d", code)
	}
	srv.Inject(Fault{Kind: FaultCreateThenError, Count: 1})
	_, _, err := gv.Instance.Create(ctx, &govultr.InstanceCreateReq{Region: "ewr", Plan: "vc2-1c-1gb", OsID: 167, Tags: []string{"t"}})
	if err == nil {
		t.Errorf("create-then-error answered success")
	}
	if got := len(srv.Instances()); got != 1 {
		t.Errorf("create-then-error: %d instances, want the 1 it created", got)
	}
	id := srv.Instances()[0].ID
	waitStatus(t, srv, id, "installingbooting", "ok")
	srv.Inject(Fault{Kind: FaultLockedDelete, Count: 2})
	for i := 0; i < 2; i++ {
		code, body, _ := rawRequest(t, url, "DELETE", "/v2/instances/"+id, testKey, "")
		if code != 500 || !strings.Contains(body["error"].(string), "currently locked") {
			t.Errorf("locked delete %d: %d %v", i, code, body)
		}
	}
	if code, _, _ := rawRequest(t, url, "DELETE", "/v2/instances/"+id, testKey, ""); code != 204 {
		t.Errorf("delete after the lock: %d, want 204", code)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	_, _, url := newTest(t, Options{RateLimit: 5})
	limited := 0
	for i := 0; i < 12; i++ {
		if code, _, _ := rawRequest(t, url, "GET", "/v2/regions", "", ""); code == 429 {
			limited++
		}
	}
	if limited == 0 {
		t.Errorf("12 requests at once under a limit of 5/s: none limited")
	}
}

type recordingMachines struct {
	mu    sync.Mutex
	calls []string
}

type fakeMachine struct{}

func (fakeMachine) Addr() string   { return "127.0.0.1:1" }
func (fakeMachine) Halt() error    { return nil }
func (fakeMachine) Destroy() error { return nil }

func (r *recordingMachines) Boot(_ context.Context, s MachineSpec) (Machine, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "boot:"+s.InstanceID+":"+s.From+":"+string(rune('0'+len(s.AuthorizedKeys)))+"key")
	return fakeMachine{}, nil
}

func (r *recordingMachines) Snapshot(_ context.Context, _ Machine, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "snapshot:"+id)
	return nil
}

func (r *recordingMachines) DeleteSnapshot(string) error { return nil }

// waitStatus waits until the instance's server_status is one of want.
func waitStatus(t *testing.T, srv *Server, id string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, in := range srv.Instances() {
			if in.ID == id && slices.Contains(want, in.ServerStatus) {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("instance %s never reached server_status %v", id, want)
}

// The install lock is server state, as on real Vultr: while the instance
// installs (server_status none, then locked) DELETE is refused; once it
// boots, DELETE works; a deleted instance answers 400 to DELETE and 404 to
// GET. TimeScale runs the real timeline (a 90 s install) in milliseconds.
func TestInstallLock(t *testing.T) {
	t.Parallel()
	srv, gv, url := newTest(t, Options{Delays: RealTimeline, TimeScale: 0.004}) // install 360 ms
	inst, _, err := gv.Instance.Create(context.Background(), &govultr.InstanceCreateReq{Region: "ewr", Plan: "vc2-1c-1gb", OsID: 2284})
	if err != nil {
		t.Fatal(err)
	}
	if inst.Status != "pending" || inst.ServerStatus != "none" {
		t.Errorf("a new instance is %s/%s, want pending/none", inst.Status, inst.ServerStatus)
	}
	del := func() (int, string) {
		code, body, _ := rawRequest(t, url, "DELETE", "/v2/instances/"+inst.ID, testKey, "")
		msg, _ := body["error"].(string)
		return code, msg
	}
	if code, msg := del(); code != 500 || !strings.Contains(msg, "Server is currently locked") {
		t.Errorf("delete while installing (none): %d %q, want 500 locked", code, msg)
	}
	waitStatus(t, srv, inst.ID, "locked")
	if code, msg := del(); code != 500 || !strings.Contains(msg, "Server is currently locked") {
		t.Errorf("delete while installing (locked): %d %q, want 500 locked", code, msg)
	}
	waitStatus(t, srv, inst.ID, "installingbooting")
	if got, _, _ := gv.Instance.Get(context.Background(), inst.ID); got.Status != "active" {
		t.Errorf("after the install the instance is %s, want active", got.Status)
	}
	if code, msg := del(); code != 204 {
		t.Errorf("delete after the install: %d %q, want 204", code, msg)
	}
	if code, msg := del(); code != 400 {
		t.Errorf("delete of a deleted instance: %d %q, want 400 (as Vultr answers)", code, msg)
	}
	if code, _, _ := rawRequest(t, url, "GET", "/v2/instances/"+inst.ID, testKey, ""); code != 404 {
		t.Errorf("GET of a deleted instance: %d, want 404", code)
	}
	var order []string
	for _, ch := range srv.StateChanges() {
		if ch.ID == inst.ID && ch.Field == "server_status" {
			order = append(order, ch.Value)
		}
	}
	if got, want := strings.Join(order, ","), "locked,installingbooting,ok"; !strings.HasPrefix(want, got) || len(order) < 2 {
		t.Errorf("server_status went %s, want the prefix of %s", got, want)
	}
}

// Public ISOs need no key and show only the API's fields; the account's
// own ISOs need the key.
func TestISOs(t *testing.T) {
	t.Parallel()
	srv, _, url := newTest(t, Options{})
	code, body, _ := rawRequest(t, url, "GET", "/v2/iso-public", "", "")
	list, _ := body["public_isos"].([]any)
	if code != 200 || len(list) == 0 {
		t.Fatalf("GET /v2/iso-public without a key: %d %v", code, body)
	}
	for _, it := range list {
		for k := range it.(map[string]any) {
			if strings.HasPrefix(k, "_") {
				t.Errorf("a public ISO shows the emulator's own field %q", k)
			}
		}
	}
	if code, _, _ := rawRequest(t, url, "GET", "/v2/iso", "", ""); code != 401 {
		t.Errorf("GET /v2/iso without a key: %d, want 401", code)
	}
	id := srv.SeedISO(ISO{FileName: "mine.iso"})
	code, body, _ = rawRequest(t, url, "GET", "/v2/iso/"+id, testKey, "")
	if iso, _ := body["iso"].(map[string]any); code != 200 || iso["filename"] != "mine.iso" || iso["status"] != "complete" {
		t.Errorf("GET /v2/iso/{id}: %d %v", code, body)
	}
}
