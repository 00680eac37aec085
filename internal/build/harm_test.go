package build

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
	"github.com/vultr-image-action/vultr-image-action/internal/remote"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

func TestRetentionPlan(t *testing.T) {
	t.Parallel()
	at := func(min int) time.Time { return time.Date(2026, 11, 30, 12, min, 0, 0, time.UTC) }
	snap := func(id, desc, status string, created time.Time) vultr.Snapshot {
		return vultr.Snapshot{ID: id, Description: desc, Status: status, DateCreated: created}
	}
	mine := snap("mine", "app", "complete", at(50))
	tests := []struct {
		name   string
		keep   int
		prefix string
		list   []vultr.Snapshot
		made   []string // other snapshots this run made
		want   string
	}{
		{name: "keeps the newest, deletes older", keep: 2,
			list: []vultr.Snapshot{mine, snap("o1", "app", "complete", at(10)), snap("o2", "app", "complete", at(20)), snap("o3", "app", "complete", at(30))},
			want: "o2,o1"},
		{name: "a sibling of this run is never deleted, and counts", keep: 1,
			list: []vultr.Snapshot{snap("sib", "app", "complete", at(40)), mine, snap("o1", "app", "complete", at(10))},
			made: []string{"sib"}, want: "o1"},
		{name: "a sibling newer than mine is never deleted", keep: 1,
			list: []vultr.Snapshot{mine, snap("sib", "app", "complete", at(55))},
			made: []string{"sib"}, want: ""},
		{name: "pending snapshots are never deleted", keep: 1,
			list: []vultr.Snapshot{mine, snap("p", "app", "pending", at(10))}, want: ""},
		{name: "a date that cannot be read is never old", keep: 1,
			list: []vultr.Snapshot{mine, snap("nodate", "app", "complete", time.Time{})}, want: ""},
		{name: "a concurrent run's newer snapshot is not judged", keep: 1,
			list: []vultr.Snapshot{mine, snap("theirs", "app", "complete", at(59)), snap("o1", "app", "complete", at(10))}, want: "o1"},
		{name: "other descriptions are never touched", keep: 1,
			list: []vultr.Snapshot{mine, snap("x", "app-staging", "complete", at(10)), snap("y", "App", "complete", at(10))}, want: ""},
		{name: "a prefix matches descriptions that hold a date", keep: 2, prefix: "app ",
			list: []vultr.Snapshot{mine, snap("d1", "app 2026-11-01", "complete", at(10)), snap("d2", "app 2026-11-02", "complete", at(20)), snap("z", "apple 1", "complete", at(5))},
			want: "d1"},
		{name: "keep 0 keeps all", keep: 0, list: []vultr.Snapshot{mine, snap("o1", "app", "complete", at(10))}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := spec.Vultr{SnapshotDescription: "app", KeepSnapshots: tt.keep, KeepSnapshotsPrefix: tt.prefix}
			if tt.prefix != "" {
				v.SnapshotDescription = "app 2026-11-30"
				for i := range tt.list {
					if tt.list[i].ID == "mine" {
						tt.list[i].Description = v.SnapshotDescription
					}
				}
			}
			made := map[string]bool{"mine": true}
			for _, id := range tt.made {
				made[id] = true
			}
			var ids []string
			for _, s := range retentionPlan(tt.list, v, mine, func(id string) bool { return made[id] }) {
				ids = append(ids, s.ID)
			}
			if got := strings.Join(ids, ","); got != tt.want {
				t.Errorf("deletes %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStablePrefix(t *testing.T) {
	t.Parallel()
	tests := []struct{ a, b, want string }{
		{"My App 2026-11-30T05:23:49Z", "My App 2029-12-31T18:41:12Z", "My App "},
		{"web-1764480229", "web-1859088652", "web-"},
		{"nightly", "nightly", ""},
		{"1764480229", "1859088652", ""},
	}
	for _, tt := range tests {
		if got := stablePrefix(tt.a, tt.b); got != tt.want {
			t.Errorf("stablePrefix(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

// The instance's root password is offered over SSH only when the build has
// no temporary key: with a key, a first-contact man-in-the-middle must not
// receive it.
func TestRootPasswordOnlyWithoutATemporaryKey(t *testing.T) {
	t.Parallel()
	for _, kind := range []spec.ImageKind{spec.ImageOS, spec.ImageSnapshot} {
		cloud := newCloud()
		o := options(cloud, &fakeComm{cloud: cloud}, nil)
		var offered string
		var signers int
		o.Connect = func(ctx context.Context, cfg remote.Config) (Comm, error) {
			offered, signers = cfg.Password, len(cfg.Signers)
			return &fakeComm{cloud: cloud}, nil
		}
		s := testSpec()
		s.Builds[0].Vultr.Image.Kind = kind
		if _, err := Run(context.Background(), s, o); err != nil {
			t.Fatal(err)
		}
		switch {
		case kind == spec.ImageOS && (offered != "" || signers != 1):
			t.Errorf("with a temporary key: offered password %q and %d keys, want no password and the key", offered, signers)
		case kind == spec.ImageSnapshot && offered != "root-pw-secret":
			t.Errorf("without a temporary key: offered password %q, want the instance's", offered)
		}
	}
}

// on-error=abort keeps the failed build's instance and key, and tells the
// tracker (the action's post step) to leave them alone.
func TestAbortKeepsAndTellsTheTracker(t *testing.T) {
	t.Parallel()
	cloud := newCloud()
	tr := &recTracker{}
	o := options(cloud, &fakeComm{cloud: cloud, failCmd: "chmod +x /tmp/s.sh; PACKER_BUILDER_TYPE='vultr' PACKER_BUILD_NAME='vultr'  /tmp/s.sh"}, tr)
	o.OnError = "abort"
	results, err := Run(context.Background(), testSpec(), o)
	if err == nil {
		t.Fatal("a failing provisioner succeeded")
	}
	// The provisioner failed after SSH let the key in: the key had left the
	// account already, and only the instance is kept.
	if r := results[0]; r.KeptInstance != "inst-1" || r.KeptSSHKey != "" {
		t.Errorf("kept %q and %q, want inst-1 and no key", r.KeptInstance, r.KeptSSHKey)
	}
	log := strings.Join(tr.log, ",")
	if !strings.Contains(log, "=instance:inst-1") || strings.Contains(log, "=ssh key:") {
		t.Errorf("tracker log %s: want the instance, and only it, marked kept", log)
	}
	if len(cloud.instances) != 1 || len(cloud.keys) != 0 {
		t.Errorf("abort: instances %v, keys %v; want the instance kept and the key gone", cloud.instances, cloud.keys)
	}
}

// A create that ended without a clear answer leaves a cleanup that looks
// for the run tag and deletes what carries it.
func TestAmbiguousCreateIsLookedForAtCleanup(t *testing.T) {
	t.Parallel()
	cloud := &ambiguousCloud{fakeCloud: newCloud()}
	o := options(cloud.fakeCloud, &fakeComm{cloud: cloud.fakeCloud}, nil)
	o.Cloud = func(string) (Cloud, error) { return cloud, nil }
	results, err := Run(context.Background(), testSpec(), o)
	if err == nil {
		t.Fatal("an ambiguous create succeeded")
	}
	if got := strings.Join(sortDeletes(cloud.calls), ","); !strings.Contains(got, "ListInstances,DeleteInstance") {
		t.Errorf("calls %s: the late instance was not looked for and deleted", got)
	}
	if len(results[0].Left) != 0 {
		t.Errorf("left %v", results[0].Left)
	}
}

type ambiguousCloud struct{ *fakeCloud }

func (a *ambiguousCloud) CreateInstance(ctx context.Context, r vultr.CreateInstanceRequest) (*vultr.Instance, error) {
	_ = a.rec(ctx, "CreateInstance")
	return nil, &vultr.AmbiguousCreateError{What: "instance", RunTag: r.RunTag}
}

func (a *ambiguousCloud) ListInstances(ctx context.Context, f vultr.ListFilter) ([]vultr.Instance, error) {
	_ = a.rec(ctx, "ListInstances")
	return []vultr.Instance{{ID: "late-1", Tags: []string{leftovers.ToolTag, f.Tag}}}, nil
}

// A create that succeeded after an unclear try may have made a second
// instance that appears later with the build's run tag: cleanup looks for
// the tag and deletes it, but never the build's own instance, which has
// its own cleanup (and may be kept while its snapshot is pending).
func TestLateDuplicateIsDeletedAtCleanup(t *testing.T) {
	t.Parallel()
	for _, pending := range []bool{false, true} {
		cloud := &lateCloud{fakeCloud: newCloud()}
		if pending {
			cloud.snapshotStatus, cloud.failAt = "pending", "WaitSnapshot"
		}
		o := options(cloud.fakeCloud, &fakeComm{cloud: cloud.fakeCloud}, nil)
		o.Cloud = func(string) (Cloud, error) { return cloud, nil }
		_, _ = Run(context.Background(), testSpec(), o)
		cloud.mu.Lock()
		deleted := cloud.deleted
		cloud.mu.Unlock()
		want := "inst-1,late-1"
		if pending {
			want = "late-1" // the build's own instance is kept for its snapshot
		}
		if got := strings.Join(deleted, ","); got != want {
			t.Errorf("snapshot pending %v: deleted %s, want %s", pending, got, want)
		}
	}
}

type lateCloud struct {
	*fakeCloud
	deleted []string
}

func (l *lateCloud) CreateInstance(ctx context.Context, r vultr.CreateInstanceRequest) (*vultr.Instance, error) {
	inst, err := l.fakeCloud.CreateInstance(ctx, r)
	if inst != nil {
		inst.Unclear = true
	}
	return inst, err
}

func (l *lateCloud) ListInstances(ctx context.Context, f vultr.ListFilter) ([]vultr.Instance, error) {
	_ = l.rec(ctx, "ListInstances")
	return []vultr.Instance{{ID: "inst-1", Tags: []string{leftovers.ToolTag, f.Tag}}, {ID: "late-1", Tags: []string{leftovers.ToolTag, f.Tag}}}, nil
}

func (l *lateCloud) DeleteInstance(ctx context.Context, id string) error {
	l.mu.Lock()
	l.deleted = append(l.deleted, id)
	sort.Strings(l.deleted)
	l.mu.Unlock()
	return l.fakeCloud.DeleteInstance(ctx, id)
}
