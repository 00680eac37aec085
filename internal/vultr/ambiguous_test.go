package vultr

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
)

// posts counts the emulator's answered POSTs to path.
func posts(srv *vultremu.Server, path string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == "POST" && r.Path == path {
			n++
		}
	}
	return n
}

// A create that the API answers only after the client stopped waiting is
// not a leaked create: the look-up runs on a budget of its own and finds it.
func TestSlowCreateIsFoundNotLeaked(t *testing.T) {
	t.Parallel()
	srv := vultremu.New(vultremu.Options{APIKey: key, Seed: 7})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	c, err := New(Config{APIKey: key, BaseURL: hs.URL, Backoff: 5 * time.Millisecond, RateLimit: 1000, CreateTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultSlowAnswer, Method: "POST", Path: "^/v2/instances$", Delay: 2 * time.Second, Count: 1})
	inst, err := c.CreateInstance(context.Background(), req("vultr-image-action-run:1a2b3c4d:slow"))
	if err != nil {
		t.Fatalf("slow create: %v", err)
	}
	all := srv.Instances()
	if len(all) != 1 || all[0].ID != inst.ID {
		t.Fatalf("instances %+v, want exactly the one returned (%s)", all, inst.ID)
	}
	if n := posts(srv, "/v2/instances"); n != 1 {
		t.Errorf("the create was sent %d times, want once", n)
	}
}

// The run-tag look-up reads tags itself: an API whose filter matches
// substrings must not make it adopt another build's instance.
func TestLookUpChecksTagsOnTheClient(t *testing.T) {
	t.Parallel()
	srv := vultremu.New(vultremu.Options{APIKey: key, Seed: 7, LooseTagFilter: true})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	c, err := New(Config{APIKey: key, BaseURL: hs.URL, Backoff: 5 * time.Millisecond, RateLimit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sibling, err := c.CreateInstance(ctx, req("vultr-image-action-run:1a2b3c4d:web-2"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultCreateThenError, Count: 1})
	mine, err := c.CreateInstance(ctx, req("vultr-image-action-run:1a2b3c4d:web"))
	if err != nil {
		t.Fatal(err)
	}
	if mine.ID == sibling.ID {
		t.Fatalf("adopted the sibling %s, whose tag only contains this build's", sibling.ID)
	}
	if n := len(srv.Instances()); n != 2 {
		t.Errorf("%d instances, want 2 (no duplicate)", n)
	}
}

// After a lost snapshot-create answer, a snapshot is adopted only when it
// can be nothing but this build's.
func TestLostSnapshotAnswer(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Format("2006-01-02T15:04:05+00:00")
	tests := []struct {
		name string
		// seed adds other snapshots described "app" that exist already.
		seed    []vultremu.Snapshot
		known   bool // the seeded one is a sibling of this run
		wantErr bool
		// done makes the lost snapshot complete at once (a small disk's).
		done bool
	}{
		{name: "alone: adopted"},
		{name: "alone and already complete: adopted, not made twice", done: true},
		{name: "another run's pending snapshot: fail, do not guess", seed: []vultremu.Snapshot{{Description: "app", Status: "pending", DateCreated: now}}, wantErr: true},
		{name: "a sibling of this run: excluded, adopted", seed: []vultremu.Snapshot{{Description: "app", Status: "pending", DateCreated: now}}, known: true},
		{name: "an old complete one: not a candidate", seed: []vultremu.Snapshot{{Description: "app", Status: "complete", DateCreated: "2020-01-01T00:00:00+00:00"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pending := time.Hour
			if tt.done {
				pending = 0
			}
			c, srv := newTest(t, vultremu.Delays{SnapshotPending: pending})
			ctx := context.Background()
			inst, err := c.CreateInstance(ctx, req("vultr-image-action-run:1a2b3c4d:web"))
			if err != nil {
				t.Fatal(err)
			}
			seeded := map[string]bool{}
			for _, s := range tt.seed {
				seeded[srv.SeedSnapshot(s)] = true
			}
			srv.Inject(vultremu.Fault{Kind: vultremu.FaultCreateThenError, Path: "^/v2/snapshots$", Status: 502, Count: 1})
			known := func(id string) bool { return tt.known && seeded[id] }
			snap, err := c.CreateSnapshot(ctx, inst.ID, "app", known)
			if n := posts(srv, "/v2/snapshots"); n != 1 {
				t.Errorf("the snapshot create was sent %d times, want once", n)
			}
			if tt.wantErr {
				var amb *AmbiguousCreateError
				if !errors.As(err, &amb) || !errors.Is(err, ErrAmbiguousMatch) {
					t.Fatalf("err = %v, want an *AmbiguousCreateError naming more than one candidate", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if seeded[snap.ID] {
				t.Errorf("adopted %s, which existed before this create", snap.ID)
			}
			if n := len(srv.Snapshots()) - len(tt.seed); n != 1 {
				t.Errorf("%d snapshots made, want 1", n)
			}
		})
	}
}

// server_status "error" fails the wait at once, naming the instance; odd
// statuses (isomounting, power starting, one this client does not know)
// are waited through, the unknown one reported once, never taken as ready.
func TestBootStates(t *testing.T) {
	t.Parallel()
	c, srv := newTest(t, vultremu.Delays{InstanceBooting: 300 * time.Millisecond})
	ctx := context.Background()
	srv.Inject(vultremu.Fault{Kind: vultremu.FaultInstanceError, Count: 1})
	inst, err := c.CreateInstance(ctx, req("vultr-image-action-run:1a2b3c4d:failed"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.WaitInstance(ctx, inst.ID, func(i *Instance) (bool, error) { return BootState(i, nil) }, WaitOptions{Timeout: time.Minute, First: 10 * time.Millisecond})
	if !errors.Is(err, ErrInstanceFailed) || !strings.Contains(err.Error(), inst.ID) || time.Since(start) > 5*time.Second {
		t.Errorf("err = %v after %s, want ErrInstanceFailed naming %s, at once", err, time.Since(start), inst.ID)
	}

	srv.Inject(vultremu.Fault{Kind: vultremu.FaultOddStatus, Count: 1})
	inst, err = c.CreateInstance(ctx, req("vultr-image-action-run:1a2b3c4d:odd"))
	if err != nil {
		t.Fatal(err)
	}
	var unknown []string
	ready, err := c.WaitInstance(ctx, inst.ID, func(i *Instance) (bool, error) {
		return BootState(i, func(field, value string) { unknown = append(unknown, field+"="+value) })
	}, WaitOptions{Timeout: time.Minute, First: 10 * time.Millisecond, Max: 20 * time.Millisecond})
	if err != nil || ready.ServerStatus != "ok" {
		t.Fatalf("odd statuses: %v, %+v", err, ready)
	}
	if len(unknown) == 0 || unknown[0] != "server_status=migrating" {
		t.Errorf("unknown statuses reported: %v, want server_status=migrating", unknown)
	}
	for _, u := range unknown {
		if strings.Contains(u, "isomounting") || strings.Contains(u, "starting") {
			t.Errorf("%s is a known state, reported as unknown", u)
		}
	}
}
