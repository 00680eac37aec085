package leftovers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

// fakeCloud answers lists with what it holds, ignoring the filter: the
// worst case of an API whose tag filter is not exact.
type fakeCloud struct {
	instances []vultr.Instance
	keys      []vultr.SSHKey
	deleted   []string
	keyLists  int
}

func (f *fakeCloud) ListInstances(context.Context, vultr.ListFilter) ([]vultr.Instance, error) {
	return f.instances, nil
}

func (f *fakeCloud) GetInstance(_ context.Context, id string) (*vultr.Instance, error) {
	for _, in := range f.instances {
		if in.ID == id {
			return &in, nil
		}
	}
	return nil, &vultr.APIError{Status: 404}
}

func (f *fakeCloud) DeleteInstance(_ context.Context, id string) error {
	f.deleted = append(f.deleted, id)
	return nil
}

func (f *fakeCloud) ListSSHKeys(context.Context) ([]vultr.SSHKey, error) {
	f.keyLists++
	return f.keys, nil
}

func (f *fakeCloud) DeleteSSHKey(_ context.Context, id string) error {
	f.deleted = append(f.deleted, id)
	return nil
}

func TestSchemeRoundTrips(t *testing.T) {
	t.Parallel()
	for _, run := range []string{NewRunID(func(string) string { return "" }), NewRunID(env{"GITHUB_RUN_ID": "987", "GITHUB_RUN_ATTEMPT": "2"}.get)} {
		in := vultr.Instance{Tags: []string{"app", ToolTag, RunTag(run, "web-1")}}
		if got, ok := InstanceRun(in); !ok || got != run {
			t.Errorf("InstanceRun(%v) = %q, %v; want %q", in.Tags, got, ok, run)
		}
		if got, ok := KeyRun(vultr.SSHKey{Name: KeyName(run, 1)}); !ok || got != run {
			t.Errorf("KeyRun(%q) = %q, %v; want %q", KeyName(run, 1), got, ok, run)
		}
	}
	if id := NewRunID(env{"GITHUB_RUN_ID": "1; rm -rf /"}.get); !ValidRunID(id) || strings.Contains(id, ";") {
		t.Errorf("a strange GITHUB_RUN_ID made run ID %q", id)
	}
}

type env map[string]string

func (e env) get(k string) string { return e[k] }

func TestFindOldActsOnlyOnTheWholeScheme(t *testing.T) {
	t.Parallel()
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cutoff := old.Add(time.Hour)
	f := &fakeCloud{
		instances: []vultr.Instance{
			{ID: "ours", Tags: []string{ToolTag, RunTag("1a2b3c4d", "web")}, DateCreated: old},
			{ID: "no-date", Tags: []string{ToolTag, RunTag("1a2b3c4d", "web")}},
			{ID: "young", Tags: []string{ToolTag, RunTag("1a2b3c4d", "web")}, DateCreated: cutoff.Add(time.Minute)},
			{ID: "tool-tag-only", Tags: []string{ToolTag}, DateCreated: old},
			{ID: "run-tag-only", Tags: []string{RunTag("1a2b3c4d", "web")}, DateCreated: old},
			{ID: "look-alike", Tags: []string{ToolTag + "-extra", "vultr-image-action-run:notarun:web"}, DateCreated: old},
			{ID: "production", Tags: []string{"production"}, DateCreated: old},
		},
		keys: []vultr.SSHKey{
			{ID: "key-ours", Name: KeyName("gh12-1-1a2b3c4d", 1), DateCreated: old},
			{ID: "key-no-date", Name: KeyName("1a2b3c4d", 1)},
			{ID: "key-deploy", Name: "vultr-image-action-deploy", DateCreated: old},
			{ID: "key-alice", Name: "alice", DateCreated: old},
		},
	}
	got, err := FindOld(context.Background(), f, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if got, want := strings.Join(ids, ","), "ours,key-ours"; got != want {
		t.Errorf("FindOld = %s, want %s", got, want)
	}
}

func TestFindRunAndFindBuildReadTagsThemselves(t *testing.T) {
	t.Parallel()
	f := &fakeCloud{instances: []vultr.Instance{
		{ID: "a", Tags: []string{ToolTag, RunTag("1a2b3c4d", "web")}},
		{ID: "b", Tags: []string{ToolTag, RunTag("1a2b3c4d", "db")}},
		{ID: "c", Tags: []string{ToolTag, RunTag("ffffffff", "web")}},
		{ID: "d", Tags: []string{RunTag("1a2b3c4d", "web")}}, // no tool tag
	}}
	ids := func(rs []Resource) string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return strings.Join(out, ",")
	}
	run, err := FindRun(context.Background(), f, "1a2b3c4d")
	if err != nil || ids(run) != "a,b" {
		t.Errorf("FindRun = %s (%v), want a,b", ids(run), err)
	}
	build, err := FindBuild(context.Background(), f, RunTag("1a2b3c4d", "web"))
	if err != nil || ids(build) != "a" {
		t.Errorf("FindBuild = %s (%v), want a", ids(build), err)
	}
	if _, err := FindRun(context.Background(), f, ""); err == nil {
		t.Errorf("FindRun of an empty run ID would match everything; want an error")
	}
}

func TestVerifyRefusesForeignResources(t *testing.T) {
	t.Parallel()
	f := &fakeCloud{
		instances: []vultr.Instance{{ID: "prod", Tags: []string{"production"}}, {ID: "ours", Tags: []string{ToolTag, RunTag("1a2b3c4d", "web")}}},
		keys:      []vultr.SSHKey{{ID: "k1", Name: "alice"}, {ID: "k2", Name: KeyName("1a2b3c4d", 1)}},
	}
	tests := []struct {
		kind    Kind
		id      string
		wantErr error
		want    string // "ours", "gone" or "" (refused)
	}{
		{Instance, "prod", ErrNotOurs, ""},
		{Instance, "ours", nil, "ours"},
		{Instance, "gone", nil, "gone"},
		{SSHKey, "k1", ErrNotOurs, ""},
		{SSHKey, "k2", nil, "ours"},
		{SSHKey, "gone", nil, "gone"},
	}
	for _, tt := range tests {
		ours, gone, err := Verify(context.Background(), f, []Resource{{Kind: tt.kind, ID: tt.id}})
		got := ""
		switch {
		case len(ours) == 1 && ours[0].ID == tt.id:
			got = "ours"
		case len(gone) == 1 && gone[0].ID == tt.id:
			got = "gone"
		}
		if !errors.Is(err, tt.wantErr) || got != tt.want {
			t.Errorf("Verify(%s %s) = %q, %v; want %q, err %v", tt.kind, tt.id, got, err, tt.want, tt.wantErr)
		}
	}
	// Many keys: one list.
	f.keyLists = 0
	var many []Resource
	for _, id := range []string{"k2", "k2", "gone", "k1"} {
		many = append(many, Resource{Kind: SSHKey, ID: id})
	}
	if _, _, err := Verify(context.Background(), f, many); !errors.Is(err, ErrNotOurs) {
		t.Errorf("err = %v, want the foreign key named", err)
	}
	if f.keyLists != 1 {
		t.Errorf("listed keys %d times for %d keys, want once", f.keyLists, len(many))
	}
}

func TestCleanupCommand(t *testing.T) {
	t.Parallel()
	got := CleanupCommand([]Resource{
		{Kind: SSHKey, ID: "k1"}, {Kind: Instance, ID: "i1"}, {Kind: Instance, Run: "1a2b3c4d", Name: RunTag("1a2b3c4d", "web")},
	})
	if want := "vultr-image-action cleanup -instance i1 -run 1a2b3c4d -ssh-key k1"; got != want {
		t.Errorf("CleanupCommand = %q, want %q", got, want)
	}
	// A run's advice excepts what was kept on purpose; named IDs need no
	// exception.
	kept := []Resource{{Kind: Instance, ID: "pending-1", Why: "its snapshot is still pending"}}
	got = CleanupCommand([]Resource{{Kind: Instance, Run: "1a2b3c4d", Name: RunTag("1a2b3c4d", "web")}}, kept...)
	if want := "vultr-image-action cleanup -run 1a2b3c4d -keep pending-1"; got != want {
		t.Errorf("CleanupCommand = %q, want %q", got, want)
	}
	if got, want := CleanupCommand([]Resource{{Kind: Instance, ID: "i1"}}, kept...), "vultr-image-action cleanup -instance i1"; got != want {
		t.Errorf("CleanupCommand = %q, want %q", got, want)
	}
}
