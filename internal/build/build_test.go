package build

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
	"github.com/vultr-image-action/vultr-image-action/internal/remote"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

// fakeCloud records every call in order; failAt makes the named call fail.
type fakeCloud struct {
	mu        sync.Mutex
	lastReq   vultr.CreateInstanceRequest
	calls     []string
	failAt    string
	instances map[string]bool
	keys      map[string]bool
	// block makes the named call wait for ctx (a long wait being cancelled).
	block string
	// snapshotStatus is what GetSnapshot answers (default "complete").
	snapshotStatus string
	// resolved, when set, is what Resolve answers.
	resolved *vultr.Resolved
	// snapshotWait is what the last WaitSnapshot was asked.
	snapshotWait vultr.WaitOptions
}

func newCloud() *fakeCloud {
	return &fakeCloud{instances: map[string]bool{}, keys: map[string]bool{}}
}

var errInjected = errors.New("injected failure")

// callsSoFar returns the calls made so far.
func (f *fakeCloud) callsSoFar() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.calls...)
}

func (f *fakeCloud) rec(ctx context.Context, name string) error {
	f.mu.Lock()
	f.calls = append(f.calls, name)
	block := f.block == name
	fail := f.failAt == name
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	if fail {
		return errInjected
	}
	return nil
}

func (f *fakeCloud) Resolve(ctx context.Context, v spec.Vultr) (*vultr.Resolved, error) {
	if err := f.rec(ctx, "Resolve"); err != nil {
		return nil, err
	}
	if f.resolved != nil {
		return f.resolved, nil
	}
	return &vultr.Resolved{Region: "ewr", Plan: "vc2-1c-1gb", OSID: 2284, ImageName: "Ubuntu"}, nil
}

func (f *fakeCloud) CreateSSHKey(ctx context.Context, name, pub string) (*vultr.SSHKey, error) {
	if err := f.rec(ctx, "CreateSSHKey"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.keys["key-1"] = true
	f.mu.Unlock()
	return &vultr.SSHKey{ID: "key-1", Name: name}, nil
}

func (f *fakeCloud) DeleteSSHKey(ctx context.Context, id string) error {
	if err := f.rec(ctx, "DeleteSSHKey"); err != nil {
		return err
	}
	f.mu.Lock()
	delete(f.keys, id)
	f.mu.Unlock()
	return nil
}

func (f *fakeCloud) CreateInstance(ctx context.Context, r vultr.CreateInstanceRequest) (*vultr.Instance, error) {
	if err := f.rec(ctx, "CreateInstance"); err != nil {
		return nil, err
	}
	if r.RunTag == "" {
		return nil, fmt.Errorf("bad request %+v", r)
	}
	f.mu.Lock()
	f.lastReq = r
	f.instances["inst-1"] = true
	f.mu.Unlock()
	return &vultr.Instance{ID: "inst-1", DefaultPassword: "root-pw-secret"}, nil
}

func (f *fakeCloud) WaitInstance(ctx context.Context, id string, cond func(*vultr.Instance) (bool, error), o vultr.WaitOptions) (*vultr.Instance, error) {
	ready := &vultr.Instance{ID: id, Status: "active", PowerStatus: "running", ServerStatus: "ok", MainIP: "192.0.2.10", Disk: 55}
	name := "WaitReady"
	if ok, _ := cond(ready); !ok {
		name = "WaitStopped"
		ready.PowerStatus = "stopped"
	}
	if err := f.rec(ctx, name); err != nil {
		return nil, err
	}
	return ready, nil
}

func (f *fakeCloud) HaltInstance(ctx context.Context, id string) error { return f.rec(ctx, "Halt") }

func (f *fakeCloud) DeleteInstance(ctx context.Context, id string) error {
	if err := f.rec(ctx, "DeleteInstance"); err != nil {
		return err
	}
	f.mu.Lock()
	delete(f.instances, id)
	f.mu.Unlock()
	return nil
}

func (f *fakeCloud) CreateSnapshot(ctx context.Context, id, desc string, known func(string) bool) (*vultr.Snapshot, error) {
	if err := f.rec(ctx, "CreateSnapshot"); err != nil {
		return nil, err
	}
	return &vultr.Snapshot{ID: "snap-1", Status: "pending", Description: desc}, nil
}

func (f *fakeCloud) WaitSnapshot(ctx context.Context, id string, o vultr.WaitOptions) (*vultr.Snapshot, error) {
	f.mu.Lock()
	f.snapshotWait = o
	f.mu.Unlock()
	if err := f.rec(ctx, "WaitSnapshot"); err != nil {
		return nil, err
	}
	return &vultr.Snapshot{ID: id, Status: "complete"}, nil
}

func (f *fakeCloud) GetSnapshot(ctx context.Context, id string) (*vultr.Snapshot, error) {
	if err := f.rec(ctx, "GetSnapshot"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return &vultr.Snapshot{ID: id, Status: cmp.Or(f.snapshotStatus, "complete")}, nil
}

func (f *fakeCloud) ListSnapshots(ctx context.Context, d string) ([]vultr.Snapshot, error) {
	return nil, f.rec(ctx, "ListSnapshots")
}

func (f *fakeCloud) DeleteSnapshot(ctx context.Context, id string) error {
	return f.rec(ctx, "DeleteSnapshot")
}

func (f *fakeCloud) ListInstances(ctx context.Context, _ vultr.ListFilter) ([]vultr.Instance, error) {
	return nil, f.rec(ctx, "ListInstances")
}

func (f *fakeCloud) GetInstance(ctx context.Context, id string) (*vultr.Instance, error) {
	return nil, f.rec(ctx, "GetInstance")
}

func (f *fakeCloud) ListSSHKeys(ctx context.Context) ([]vultr.SSHKey, error) {
	return nil, f.rec(ctx, "ListSSHKeys")
}

// fakeComm records commands; failCmd fails a command with an exit status.
type fakeComm struct {
	cloud   *fakeCloud
	failCmd string
}

func (c *fakeComm) Run(ctx context.Context, cmd string, _ io.Reader, _, _ io.Writer) error {
	if err := c.cloud.rec(ctx, "Run:"+strings.Fields(cmd)[0]); err != nil {
		return err
	}
	if cmd == c.failCmd {
		return &remote.ExitError{Status: 1}
	}
	return nil
}
func (c *fakeComm) Upload(context.Context, string, io.Reader, fs.FileMode, int64) error { return nil }
func (c *fakeComm) UploadFile(context.Context, string, string) error                    { return nil }
func (c *fakeComm) UploadDir(context.Context, string, string) error                     { return nil }
func (c *fakeComm) Download(context.Context, string, io.Writer) error                   { return nil }
func (c *fakeComm) DownloadFile(context.Context, string, string) error                  { return nil }
func (c *fakeComm) DownloadDir(context.Context, string, string) error                   { return nil }
func (c *fakeComm) HostKeyFingerprint() string                                          { return "SHA256:test" }
func (c *fakeComm) Close() error                                                        { return nil }

type quietUI struct{}

func (quietUI) Say(string, string)                     {}
func (quietUI) Message(string, string)                 {}
func (quietUI) Phase(string, string) func()            { return func() {} }
func (quietUI) Warn(string, string, spec.Pos)          {}
func (quietUI) Error(string, string, spec.Pos, string) {}
func (quietUI) Debug(string)                           {}
func (quietUI) Output(string) io.WriteCloser           { return nopWC{} }
func (quietUI) Success(string, string)                 {}

type nopWC struct{}

func (nopWC) Write(p []byte) (int, error) { return len(p), nil }
func (nopWC) Close() error                { return nil }

type recTracker struct {
	mu  sync.Mutex
	log []string
}

func (r *recTracker) Track(k leftovers.Kind, id string)   { r.add("+" + string(k) + ":" + id) }
func (r *recTracker) Untrack(k leftovers.Kind, id string) { r.add("-" + string(k) + ":" + id) }
func (r *recTracker) Keep(k leftovers.Kind, id, _ string) { r.add("=" + string(k) + ":" + id) }

func (r *recTracker) add(s string) {
	r.mu.Lock()
	r.log = append(r.log, s)
	r.mu.Unlock()
}

func testSpec() *spec.Spec {
	return &spec.Spec{Builds: []spec.Build{{
		Name: "vultr", Type: "vultr",
		Vultr: spec.Vultr{APIKey: "k", SnapshotDescription: "d", InstanceLabel: "l", ShutdownCommand: "shutdown -P now",
			Image: spec.Image{Kind: spec.ImageOS}, BootTimeout: time.Minute, ShutdownTimeout: time.Minute, SnapshotTimeout: time.Minute},
		SSH:          spec.SSH{Username: "root", Port: 22},
		Provisioners: []spec.Provisioner{{Type: "shell", Config: &spec.Shell{Inline: []string{"x"}, RemotePath: "/tmp/s.sh"}}},
	}}}
}

func options(cloud *fakeCloud, comm *fakeComm, tr Tracker) Options {
	return Options{
		Cloud:   func(string) (Cloud, error) { return cloud, nil },
		UI:      quietUI{},
		Tracker: tr,
		Connect: func(ctx context.Context, cfg remote.Config) (Comm, error) {
			if err := cloud.rec(ctx, "Connect"); err != nil {
				return nil, err
			}
			return comm, nil
		},
		RunID: "1a2b3c4d",
	}
}

// TestEveryFailureCleansUp fails each step in turn and checks the undo
// calls that follow. The deletes run together, so the test sorts them; a
// failed script is removed from the machine before they start.
func TestEveryFailureCleansUp(t *testing.T) {
	t.Parallel()
	full := "Resolve,CreateSSHKey,CreateInstance,WaitReady,Connect,Run:uname,DeleteSSHKey,Run:chmod,Run:rm,Run:shutdown,WaitStopped,CreateSnapshot,WaitSnapshot,DeleteInstance"
	tests := []struct {
		failAt string
		want   string
	}{
		{"", full},
		{"Resolve", "Resolve"},
		{"CreateSSHKey", "Resolve,CreateSSHKey"},
		{"CreateInstance", "Resolve,CreateSSHKey,CreateInstance,DeleteSSHKey"},
		{"WaitReady", "Resolve,CreateSSHKey,CreateInstance,WaitReady,DeleteInstance,DeleteSSHKey"},
		{"Connect", "Resolve,CreateSSHKey,CreateInstance,WaitReady,Connect,DeleteInstance,DeleteSSHKey"},
		{"Run:chmod", "Resolve,CreateSSHKey,CreateInstance,WaitReady,Connect,Run:uname,DeleteSSHKey,Run:chmod,Run:rm,DeleteInstance"},
		{"WaitStopped", "Resolve,CreateSSHKey,CreateInstance,WaitReady,Connect,Run:uname,DeleteSSHKey,Run:chmod,Run:rm,Run:shutdown,WaitStopped,DeleteInstance"},
		{"CreateSnapshot", "Resolve,CreateSSHKey,CreateInstance,WaitReady,Connect,Run:uname,DeleteSSHKey,Run:chmod,Run:rm,Run:shutdown,WaitStopped,CreateSnapshot,DeleteInstance"},
		// The snapshot is asked about before its instance is deleted.
		{"WaitSnapshot", "Resolve,CreateSSHKey,CreateInstance,WaitReady,Connect,Run:uname,DeleteSSHKey,Run:chmod,Run:rm,Run:shutdown,WaitStopped,CreateSnapshot,WaitSnapshot,DeleteInstance,GetSnapshot"},
	}
	for _, tt := range tests {
		cloud := newCloud()
		cloud.failAt = tt.failAt
		tr := &recTracker{}
		results, err := Run(context.Background(), testSpec(), options(cloud, &fakeComm{cloud: cloud}, tr))
		if got := strings.Join(sortDeletes(cloud.calls), ","); got != tt.want {
			t.Errorf("fail at %q:\n got  %s\n want %s", tt.failAt, got, tt.want)
		}
		if (err != nil) != (tt.failAt != "") {
			t.Errorf("fail at %q: err = %v", tt.failAt, err)
		}
		if tt.failAt != "" && !errors.Is(err, errInjected) {
			t.Errorf("fail at %q: the injected error is lost: %v", tt.failAt, err)
		}
		if len(cloud.instances)+len(cloud.keys) != 0 {
			t.Errorf("fail at %q: left %v %v", tt.failAt, cloud.instances, cloud.keys)
		}
		if tt.failAt == "WaitSnapshot" && (len(results) != 1 || results[0].SnapshotID != "snap-1") {
			t.Errorf("a snapshot made before a failure is not reported: %+v", results)
		}
		if tt.failAt == "" {
			// Tracked as each resource exists; the two deletes run together,
			// so their untracks may come in either order.
			got := append([]string{}, tr.log...)
			if len(got) == 4 {
				sort.Strings(got[2:])
			}
			if want := "+ssh key:key-1,+instance:inst-1,-instance:inst-1,-ssh key:key-1"; strings.Join(got, ",") != want {
				t.Errorf("tracker log %v, want %s", tr.log, want)
			}
		}
	}
}

func TestCleanupErrorIsJoinedNotReplacing(t *testing.T) {
	t.Parallel()
	cloud := newCloud()
	cloud.failAt = "WaitReady"
	c2 := &failingDelete{fakeCloud: cloud}
	o := options(cloud, &fakeComm{cloud: cloud}, nil)
	o.Cloud = func(string) (Cloud, error) { return c2, nil }
	_, err := Run(context.Background(), testSpec(), o)
	if !errors.Is(err, errInjected) || !errors.Is(err, errDelete) {
		t.Errorf("err = %v, want both the build's and the cleanup's errors", err)
	}
}

var errDelete = errors.New("delete failed")

type failingDelete struct{ *fakeCloud }

func (f *failingDelete) DeleteInstance(ctx context.Context, id string) error { return errDelete }

func TestCancelDuringWaitStillCleansUp(t *testing.T) {
	t.Parallel()
	cloud := newCloud()
	cloud.block = "WaitReady"
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			cloud.mu.Lock()
			n := len(cloud.calls)
			cloud.mu.Unlock()
			if n >= 4 {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	results, err := Run(ctx, testSpec(), options(cloud, &fakeComm{cloud: cloud}, nil))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if results[0].Status != Cancelled {
		t.Errorf("status %s, want cancelled", results[0].Status)
	}
	if len(cloud.instances)+len(cloud.keys) != 0 {
		t.Errorf("left %v %v after cancel", cloud.instances, cloud.keys)
	}
}

func TestAbortKeepsFailedInstance(t *testing.T) {
	t.Parallel()
	cloud := newCloud()
	cloud.failAt = "WaitSnapshot"
	o := options(cloud, &fakeComm{cloud: cloud}, nil)
	o.OnError = "abort"
	results, _ := Run(context.Background(), testSpec(), o)
	if !cloud.instances["inst-1"] || results[0].KeptInstance != "inst-1" {
		t.Errorf("on-error=abort did not keep the instance: %v %+v", cloud.instances, results[0])
	}
}

func TestParallelBuildsAllRunAndAllClean(t *testing.T) {
	t.Parallel()
	s := testSpec()
	b := s.Builds[0]
	s.Builds = nil
	for i := 0; i < 5; i++ {
		b.Name = fmt.Sprintf("b%d", i)
		s.Builds = append(s.Builds, b)
	}
	cloud := newCloud()
	results, err := Run(context.Background(), s, options(cloud, &fakeComm{cloud: cloud}, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Status != Succeeded {
			t.Errorf("%s: %s", r.Name, r.Status)
		}
	}
}

// TestBuilderKeysReachTheAPI checks every builder key that shapes the
// instance arrives in the create request.
func TestBuilderKeysReachTheAPI(t *testing.T) {
	t.Parallel()
	s := testSpec()
	v := &s.Builds[0].Vultr
	v.InstanceLabel, v.Hostname, v.Tags = "lbl", "host-1", []string{"team-a"}
	v.EnableVPC, v.VPCIDs, v.ScriptID, v.SSHKeyIDs = true, []string{"vpc-1"}, "script-1", []string{"user-key"}
	v.UserData = []byte("#!/bin/sh\n")
	s.Builds[0].SSH.Interface = "public_v6"
	cloud := newCloud()
	if _, err := Run(context.Background(), s, options(cloud, &fakeComm{cloud: cloud}, nil)); err != nil {
		t.Fatal(err)
	}
	r := cloud.lastReq
	checks := []struct{ name, got, want string }{
		{"region", r.Region, "ewr"},
		{"plan", r.Plan, "vc2-1c-1gb"},
		{"os", fmt.Sprint(r.OSID), "2284"},
		{"label", r.Label, "lbl"},
		{"hostname", r.Hostname, "host-1"},
		{"tags", strings.Join(r.Tags, ","), "team-a,vultr-image-action"},
		{"run tag", r.RunTag, "vultr-image-action-run:1a2b3c4d:vultr"},
		{"ssh keys", strings.Join(r.SSHKeyIDs, ","), "user-key,key-1"},
		{"script", r.ScriptID, "script-1"},
		{"vpc", fmt.Sprint(r.EnableVPC, r.VPCIDs), "true [vpc-1]"},
		{"ipv6 for public_v6", fmt.Sprint(r.EnableIPv6), "true"},
		{"user data", string(r.UserData), "#!/bin/sh\n"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

// sortDeletes sorts the trailing run of Delete calls, which run together.
func sortDeletes(calls []string) []string {
	out := append([]string{}, calls...)
	i := len(out)
	for i > 0 && (strings.HasPrefix(out[i-1], "Delete") || out[i-1] == "GetSnapshot") {
		i--
	}
	sort.Strings(out[i:])
	return out
}

// A plan without IPv4 on a host without IPv6 (a GitHub-hosted runner)
// fails the pre-flight, before anything is created, unless the machine is
// reached another way.
func TestIPv6OnlyPlanNeedsARoute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		v6Only    bool
		host      string
		bastion   bool
		reachable bool
		wantFail  bool
	}{
		{"v6-only, no route", true, "", false, false, true},
		{"v6-only, route", true, "", false, true, false},
		{"v6-only, ssh_host", true, "10.0.0.5", false, false, false},
		{"v6-only, bastion", true, "", true, false, false},
		{"v4 plan, no route", false, "", false, false, false},
	}
	for _, tt := range tests {
		cloud := newCloud()
		cloud.resolved = &vultr.Resolved{Region: "ewr", Plan: "vc2-1c-0.5gb-v6", OSID: 2284, IPv6Only: tt.v6Only}
		s := testSpec()
		s.Builds[0].SSH.Host = tt.host
		if tt.bastion {
			s.Builds[0].SSH.Bastion = &spec.Bastion{Host: "jump.example", Username: "ops"}
		}
		o := options(cloud, &fakeComm{cloud: cloud}, &recTracker{})
		o.IPv6Reachable = func() bool { return tt.reachable }
		_, err := Run(context.Background(), s, o)
		failed := err != nil && strings.Contains(err.Error(), "cannot reach IPv6")
		if failed != tt.wantFail {
			t.Errorf("%s: err = %v, want failure %v", tt.name, err, tt.wantFail)
		}
		if tt.wantFail && slices.Contains(cloud.calls, "CreateSSHKey") {
			t.Errorf("%s: something was created before the pre-flight failed", tt.name)
		}
	}
}

// The snapshot wait fits the disk: unset, it is vultr.SnapshotTimeout of
// the instance's disk, polled by its size; set shorter than Vultr takes for
// that disk, it is a warning.
func TestSnapshotWaitFitsTheDisk(t *testing.T) {
	t.Parallel()
	for _, set := range []time.Duration{0, time.Minute, 2 * time.Hour} {
		cloud := newCloud()
		o := options(cloud, &fakeComm{cloud: cloud}, &recTracker{})
		ui := &warnUI{}
		o.UI = ui
		s := testSpec()
		s.Builds[0].Vultr.SnapshotTimeout = set
		if _, err := Run(context.Background(), s, o); err != nil {
			t.Fatal(err)
		}
		want := set
		if set == 0 {
			want = vultr.SnapshotTimeout(55)
		}
		if got := cloud.snapshotWait; got.Timeout != want || got.DiskGB != 55 {
			t.Errorf("snapshot_timeout %s: the wait was %s for %d GB, want %s for 55 GB", set, got.Timeout, got.DiskGB, want)
		}
		warned := strings.Contains(strings.Join(ui.warns, "\n"), "55 GB disk")
		if warned != (set == time.Minute) {
			t.Errorf("snapshot_timeout %s: warned %v, want a warning only when it is shorter than Vultr takes", set, warned)
		}
	}
}

// A run's builds share one temporary key per account: created once, and
// deleted once, after the last build that holds it has connected. Builds
// that run one after another (-parallel-builds 1) each get a new one.
func TestBuildsShareTheRunsTemporaryKey(t *testing.T) {
	t.Parallel()
	for _, parallel := range []int{0, 1} {
		cloud := newCloud()
		o := options(cloud, &fakeComm{cloud: cloud}, &recTracker{})
		o.ParallelBuilds = parallel
		if parallel == 0 {
			// As on a real cloud, every build has created its instance
			// before the first one connects.
			connect := o.Connect
			o.Connect = func(ctx context.Context, cfg remote.Config) (Comm, error) {
				for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					if n := strings.Count(strings.Join(cloud.callsSoFar(), ","), "CreateInstance"); n == 3 {
						break
					}
				}
				return connect(ctx, cfg)
			}
		}
		s := testSpec()
		for _, name := range []string{"b", "c"} {
			b := s.Builds[0]
			b.Name = name
			s.Builds = append(s.Builds, b)
		}
		if _, err := Run(context.Background(), s, o); err != nil {
			t.Fatal(err)
		}
		calls := cloud.callsSoFar()
		count := func(name string) int {
			n := 0
			for _, c := range calls {
				if c == name {
					n++
				}
			}
			return n
		}
		want := map[int]int{0: 1, 1: 3}[parallel]
		if got := count("CreateSSHKey"); got != want {
			t.Errorf("parallel %d: %d key creates, want %d", parallel, got, want)
		}
		if got := count("DeleteSSHKey"); got != want {
			t.Errorf("parallel %d: %d key deletes, want %d", parallel, got, want)
		}
		lastConnect := 0
		for i, c := range calls {
			if c == "Connect" {
				lastConnect = i
			}
		}
		if parallel == 0 && slices.Index(calls, "DeleteSSHKey") < lastConnect {
			t.Errorf("the shared key was deleted before every build had connected: %v", calls)
		}
		if len(cloud.keys) != 0 {
			t.Errorf("parallel %d: keys left %v", parallel, cloud.keys)
		}
	}
}
