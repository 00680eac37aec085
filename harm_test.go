package main

// Do no harm: end-to-end tests, as the runner runs the action, for the
// harm a new user found: a deleted sibling snapshot, a secret left in the
// image, a kept instance deleted, a leak in another account, a locked
// instance that used up the key's cleanup time.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
)

// writeTemplate writes a template of the test's own.
func writeTemplate(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "template.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func vultrDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

func snapshotIDs(e *emu) map[string]bool {
	out := map[string]bool{}
	for _, s := range e.srv.Snapshots() {
		out[s.ID] = true
	}
	return out
}

// Retention never deletes a snapshot this run made, runs with or without
// post-processors, never touches pending or other snapshots, and its dry
// run lists exactly what the real run deletes.
func TestRetentionKeepsThisRunsSnapshots(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		manifest bool
		dryRun   bool
	}{
		{name: "with a manifest post-processor", manifest: true},
		{name: "without post-processors"},
		{name: "dry run", manifest: true, dryRun: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := startEmulator(t, "", fastDelays)
			now := time.Now()
			old1 := e.srv.SeedSnapshot(vultremu.Snapshot{Description: "shared app", DateCreated: vultrDate(now.Add(-3 * time.Hour))})
			old2 := e.srv.SeedSnapshot(vultremu.Snapshot{Description: "shared app", DateCreated: vultrDate(now.Add(-2 * time.Hour))})
			pending := e.srv.SeedSnapshot(vultremu.Snapshot{Description: "shared app", Status: "pending", DateCreated: vultrDate(now.Add(-time.Hour))})
			other := e.srv.SeedSnapshot(vultremu.Snapshot{Description: "another app", DateCreated: vultrDate(now.Add(-4 * time.Hour))})
			pp := ""
			if tt.manifest {
				pp = `, "post-processors": [{"type": "manifest", "output": "manifest.json"}]`
			}
			builder := func(name string) string {
				return fmt.Sprintf(`{"type": "vultr", "name": %q, "api_key": "{{user `+"`key`"+`}}", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": "2284",
				  "ssh_username": "root", "snapshot_description": "shared app", "keep_snapshots": 1, "retention_dry_run": %v}`, name, tt.dryRun)
			}
			tmpl := writeTemplate(t, `{"variables": {"key": "{{env `+"`VULTR_API_KEY`"+`}}"},
			  "builders": [`+builder("a")+`, `+builder("b")+`],
			  "provisioners": [{"type": "shell", "inline": ["echo $PACKER_BUILD_NAME > /root/who"]}]`+pp+`}`)
			r := newActionRun(t, e, tmpl, nil)
			r.cmd.Env = append(r.cmd.Env, "VULTR_API_KEY="+e.key)
			if code := r.run(t); code != 0 {
				t.Fatalf("exit %d\n%s", code, r.stdout.String())
			}
			var ids map[string]string
			if err := json.Unmarshal([]byte(fileCommands(t, r.output)["snapshot-ids"]), &ids); err != nil || len(ids) != 2 || ids["a"] == ids["b"] {
				t.Fatalf("snapshot-ids %v (%v), want two distinct snapshots", ids, err)
			}
			left := snapshotIDs(e)
			for build, id := range ids {
				if !left[id] {
					t.Errorf("build %s's new snapshot %s was deleted by this run's retention", build, id)
				}
			}
			if !left[pending] || !left[other] {
				t.Errorf("retention deleted a pending snapshot (%v) or another description's (%v)", !left[pending], !left[other])
			}
			out := r.stdout.String()
			if tt.dryRun {
				if !left[old1] || !left[old2] {
					t.Errorf("the dry run deleted something")
				}
				for _, id := range []string{old1, old2} {
					if !strings.Contains(out, "Would delete (retention_dry_run) old snapshot "+id) {
						t.Errorf("the dry run does not list %s:\n%s", id, out)
					}
				}
				// Each build lists what its retention would delete: the same
				// two old snapshots, and nothing else.
				listed := map[string]bool{}
				for _, part := range strings.Split(out, "Would delete (retention_dry_run) old snapshot ")[1:] {
					listed[strings.Fields(part)[0]] = true
				}
				if len(listed) != 2 || !listed[old1] || !listed[old2] {
					t.Errorf("the dry run lists %v, want exactly the 2 old snapshots", listed)
				}
				return
			}
			if left[old1] || left[old2] {
				t.Errorf("old snapshots kept: %v %v; keep_snapshots 1 deletes both", left[old1], left[old2])
			}
		})
	}
}

// A description that changes on every run matches nothing: retention warns,
// says how to make it work, and deletes nothing.
func TestRetentionWarnsAboutATimestampedDescription(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "", fastDelays)
	old := e.srv.SeedSnapshot(vultremu.Snapshot{Description: "app 2020-01-01", DateCreated: vultrDate(time.Now().Add(-time.Hour))})
	tmpl := writeTemplate(t, `{"variables": {"key": "{{env `+"`VULTR_API_KEY`"+`}}"},
	  "builders": [{"type": "vultr", "api_key": "{{user `+"`key`"+`}}", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": "2284",
	    "ssh_username": "root", "snapshot_description": "app {{isotime `+"`2006-01-02 15:04:05`"+`}}", "keep_snapshots": 1}]}`)
	r := newActionRun(t, e, tmpl, nil)
	r.cmd.Env = append(r.cmd.Env, "VULTR_API_KEY="+e.key)
	if code := r.run(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, r.stdout.String())
	}
	out := r.stdout.String()
	if !strings.Contains(out, "::warning") || !strings.Contains(out, `keep_snapshots_prefix = \"app \"`) && !strings.Contains(out, `keep_snapshots_prefix = "app "`) {
		t.Errorf("no warning that suggests keep_snapshots_prefix = \"app \":\n%s", out)
	}
	if !snapshotIDs(e)[old] {
		t.Errorf("retention deleted an older snapshot with a different description")
	}
}

// A sensitive variable never stays on the machine's disk, and so never
// reaches the image: not after a provisioner that failed once and was
// retried, with variables on standard input or in use_env_var_file.
func TestNoSecretInTheImage(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-db-password-in-image"
	sum := sha256.Sum256([]byte(secret + "\n"))
	for _, file := range []bool{false, true} {
		t.Run(fmt.Sprintf("use_env_var_file=%v", file), func(t *testing.T) {
			t.Parallel()
			e := startEmulator(t, "", fastDelays)
			tmpl := writeTemplate(t, `{"variables": {"key": "{{env `+"`VULTR_API_KEY`"+`}}", "db_password": "`+secret+`"},
			  "sensitive-variables": ["db_password"],
			  "builders": [{"type": "vultr", "api_key": "{{user `+"`key`"+`}}", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": "2284",
			    "ssh_username": "root", "snapshot_description": "secret test"}],
			  "provisioners": [{"type": "shell", "max_retries": 2, "use_env_var_file": `+fmt.Sprint(file)+`,
			    "environment_vars": ["DB_PASSWORD={{user `+"`db_password`"+`}}"],
			    "inline": ["if [ ! -f /root/tried ]; then touch /root/tried; exit 1; fi", "echo \"$DB_PASSWORD\" | sha256sum | cut -d' ' -f1 > /root/pw.sha256"]}]}`)
			r := newActionRun(t, e, tmpl, nil)
			r.cmd.Env = append(r.cmd.Env, "VULTR_API_KEY="+e.key)
			if code := r.run(t); code != 0 {
				t.Fatalf("exit %d\n%s", code, r.stdout.String())
			}
			dir, ok := e.ms.SnapshotDir(fileCommands(t, r.output)["snapshot-id"])
			if !ok {
				t.Fatal("no snapshot disk")
			}
			found := false
			_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
				if err != nil || !fi.Mode().IsRegular() {
					return nil
				}
				b, _ := os.ReadFile(p)
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("the image holds the secret in %s", strings.TrimPrefix(p, dir))
				}
				if strings.HasSuffix(p, "/root/pw.sha256") {
					found = strings.TrimSpace(string(b)) == hex.EncodeToString(sum[:])
				}
				return nil
			})
			if !found {
				t.Errorf("the script did not receive the variable (no matching /root/pw.sha256 in the image)")
			}
			assertNoSecrets(t, r, secret, e.key)
		})
	}
}

// accountsHandler serves two accounts of one API, told apart by the key.
type accountsHandler map[string]*vultremu.Server

func (a accountsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if srv, ok := a[key]; ok {
		srv.ServeHTTP(w, r)
		return
	}
	a[""].ServeHTTP(w, r)
}

// The post step deletes with the credentials the build used: a template's
// api_key of another account than the api-key input.
func TestPostStepUsesTheBuildsCredentials(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "", vultremu.Delays{InstancePending: 100 * time.Millisecond, InstanceBooting: time.Hour})
	const otherKey = "other-account-key-123456"
	other := vultremu.New(vultremu.Options{APIKey: otherKey})
	hs := httptest.NewServer(accountsHandler{"": e.srv, e.key: e.srv, otherKey: other})
	t.Cleanup(func() { hs.Close(); other.Close() })
	e2 := &emu{srv: e.srv, ms: e.ms, url: hs.URL, key: otherKey}
	tmpl := writeTemplate(t, `{"variables": {"key": "{{env `+"`BUILD_VULTR_KEY`"+`}}"},
	  "builders": [{"type": "vultr", "api_key": "{{user `+"`key`"+`}}", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": "2284", "ssh_username": "root"}]}`)
	r := newActionRun(t, e2, tmpl, nil) // api-key input: the other account
	r.cmd.Env = append(r.cmd.Env, "BUILD_VULTR_KEY="+e.key)
	r.killAfterInstance(t, e)
	out, err := r.post(t)
	if err != nil {
		t.Fatalf("post step: %v\n%s", err, out)
	}
	if n := len(e.srv.Instances()) + len(e.srv.SSHKeys()); n != 0 {
		t.Errorf("post step left %d resources in the build's account:\n%s", n, out)
	}
	for _, s := range []string{e.key, otherKey} {
		if strings.Contains(strings.ReplaceAll(string(out), "::add-mask::"+s+"\n", ""), s) {
			t.Errorf("post step printed an API key")
		}
	}
	state, _ := os.ReadFile(r.state)
	if bytes.Contains(state, []byte(e.key)) || bytes.Contains(state, []byte(otherKey)) {
		t.Errorf("GITHUB_STATE holds an API key")
	}
}

// on-error: abort keeps the failed build's instance: the post step leaves
// it alone and says how to delete it, and cleanup then deletes it. The
// temporary key left the account when SSH let it in, before the failure.
func TestAbortIsHonouredByThePostStep(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "", fastDelays)
	tmpl := writeTemplate(t, `{"variables": {"key": "{{env `+"`VULTR_API_KEY`"+`}}"},
	  "builders": [{"type": "vultr", "api_key": "{{user `+"`key`"+`}}", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": "2284", "ssh_username": "root"}],
	  "provisioners": [{"type": "shell", "inline": ["exit 3"]}]}`)
	r := newActionRun(t, e, tmpl, map[string]string{"on-error": "abort"})
	r.cmd.Env = append(r.cmd.Env, "VULTR_API_KEY="+e.key)
	if code := r.run(t); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, r.stdout.String())
	}
	insts, keys := e.srv.Instances(), e.srv.SSHKeys()
	if len(insts) != 1 || len(keys) != 0 {
		t.Fatalf("abort kept %d instances and %d keys, want 1 and 0", len(insts), len(keys))
	}
	out, err := r.post(t)
	if err != nil {
		t.Fatalf("post step: %v\n%s", err, out)
	}
	if len(e.srv.Instances()) != 1 {
		t.Fatalf("the post step deleted what on-error=abort kept:\n%s", out)
	}
	want := "vultr-image-action cleanup -instance " + insts[0].ID
	if !strings.Contains(string(out), want) {
		t.Errorf("the post step does not say how to delete the kept instance (%q):\n%s", want, out)
	}
	if why := "on-error=abort kept it for debugging"; !strings.Contains(string(out), why) {
		t.Errorf("the post step does not say why the instance was kept (%q):\n%s", why, out)
	}
	cleanup := exec.Command(binary, strings.Fields(want)[1:]...)
	cleanup.Env = []string{"VULTR_API_KEY=" + e.key, "VULTR_API_URL=" + e.url, "PATH=" + os.Getenv("PATH")}
	if b, err := cleanup.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", want, err, b)
	}
	assertNothingLeft(t, e)
}

// A run cancelled seconds after its create, while the instance installs
// (Vultr refuses to delete it: "Server is currently locked") for longer
// than the cancel budget: the key is still deleted, the run says what is
// left, and the post step deletes the instance once the install ends.
func TestLockedInstanceDoesNotStarveTheKey(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "", vultremu.Delays{InstancePending: 9 * time.Second, InstanceBooting: time.Hour})
	r := newActionRun(t, e, "examples/server.json", nil)
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "an instance", 20*time.Second, func() bool { return len(e.srv.Instances()) == 1 })
	start := time.Now()
	_ = r.cmd.Process.Signal(syscall.SIGINT)
	_ = r.cmd.Wait()
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("cleanup took %s after the signal; the runner kills the step at 10s", d)
	}
	if n := len(e.srv.SSHKeys()); n != 0 {
		t.Errorf("%d keys left: the locked instance used up the key's cleanup time", n)
	}
	if len(e.srv.Instances()) != 1 {
		t.Fatalf("test setup: the locked instance should still exist")
	}
	if out := r.stdout.String(); !strings.Contains(out, "vultr-image-action cleanup -instance "+e.srv.Instances()[0].ID) {
		t.Errorf("the run does not say what is left and how to delete it:\n%s", out)
	}
	if out, err := r.post(t); err != nil {
		t.Fatalf("post step: %v\n%s", err, out)
	}
	assertNothingLeft(t, e)
}

// Parallel builds that share a description, one of whose snapshot-create
// answers is lost: each build reports its own snapshot, as the files
// inside the images prove.
func TestLostSnapshotAnswerAdoptsNoSibling(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "", fastDelays)
	e.srv.Inject(vultremu.Fault{Kind: vultremu.FaultCreateThenError, Path: "^/v2/snapshots$", Status: 503, Count: 1})
	var builders []string
	for _, n := range []string{"a", "b", "c"} {
		builders = append(builders, fmt.Sprintf(`{"type": "vultr", "name": %q, "api_key": "{{user `+"`key`"+`}}", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": "2284",
		  "ssh_username": "root", "snapshot_description": "shared"}`, n))
	}
	tmpl := writeTemplate(t, `{"variables": {"key": "{{env `+"`VULTR_API_KEY`"+`}}"}, "builders": [`+strings.Join(builders, ",")+`],
	  "provisioners": [{"type": "shell", "inline": ["echo $PACKER_BUILD_NAME > /root/who"]}]}`)
	r := newActionRun(t, e, tmpl, nil)
	r.cmd.Env = append(r.cmd.Env, "VULTR_API_KEY="+e.key)
	if code := r.run(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, r.stdout.String())
	}
	var ids map[string]string
	_ = json.Unmarshal([]byte(fileCommands(t, r.output)["snapshot-ids"]), &ids)
	var builds []string
	for b, id := range ids {
		builds = append(builds, b)
		dir, ok := e.ms.SnapshotDir(id)
		if !ok {
			t.Errorf("build %s reports snapshot %s, which has no disk", b, id)
			continue
		}
		who, _ := os.ReadFile(filepath.Join(dir, "upper", "root", "who"))
		if len(who) == 0 {
			who, _ = os.ReadFile(filepath.Join(dir, "fs", "root", "who"))
		}
		if got := strings.TrimSpace(string(who)); got != b {
			t.Errorf("build %s reports snapshot %s, which is build %q's image", b, id, got)
		}
	}
	sort.Strings(builds)
	if strings.Join(builds, ",") != "a,b,c" {
		t.Errorf("snapshot-ids names builds %v, want a, b and c", builds)
	}
	if n := len(e.srv.Snapshots()); n != 3 {
		t.Errorf("%d snapshots exist, want 3 (no duplicate)", n)
	}
}

// On the command line a second Ctrl-C stops cleanup waiting for a locked
// instance, and the run says what is left and how to delete it.
func TestSecondInterruptStopsWaiting(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "", vultremu.Delays{InstancePending: time.Hour})
	cmd := exec.Command(binary, "build", "examples/server.json")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "VULTR_API_KEY=" + e.key, "VULTR_API_URL=" + e.url}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "an instance", 20*time.Second, func() bool { return len(e.srv.Instances()) == 1 })
	_ = cmd.Process.Signal(syscall.SIGINT)
	waitFor(t, "the key deleted", 10*time.Second, func() bool { return len(e.srv.SSHKeys()) == 0 })
	time.Sleep(300 * time.Millisecond) // the instance delete is retrying: locked
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the second Ctrl-C took %s to stop the wait", d)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Errorf("exit = %v, want 130", err)
	}
	id := e.srv.Instances()[0].ID
	for _, want := range []string{"Press Ctrl-C again", "vultr-image-action cleanup -instance " + id} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// A 429 is Vultr saying "not now": at 30% of creates refused the build
// succeeds with one instance made and nothing left; at 100% it fails after
// its budget with an error that says so, having made nothing.
func TestRateLimitedCreates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		p    float64
		ok   bool
	}{{"30%", 0.3, true}, {"100%", 1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startEmulator(t, "", fastDelays)
			e.srv.Inject(vultremu.Fault{Kind: vultremu.FaultStatus, Method: "POST", Path: "^/v2/instances$", Status: 429, Probability: tc.p})
			r := newActionRun(t, e, "examples/server.json", nil)
			budget := "60s" // ample: 30% must succeed
			if !tc.ok {
				budget = "3s"
			}
			r.cmd.Env = append(r.cmd.Env, "VULTR_RATE_LIMIT_WAIT="+budget)
			code := r.run(t)
			out := r.stdout.String() + r.stderr.String()
			created := 0
			for _, req := range e.srv.Requests() {
				if req.Method == "POST" && req.Path == "/v2/instances" && req.Status < 300 {
					created++
				}
			}
			switch {
			case tc.ok && (code != 0 || created != 1):
				t.Errorf("exit %d, %d instances created; want 0 and 1\n%s", code, created, tail(out))
			case !tc.ok && (code != 1 || created != 0):
				t.Errorf("exit %d, %d instances created; want 1 and 0\n%s", code, created, tail(out))
			case !tc.ok && !strings.Contains(out, "429 Too Many Requests to all"):
				t.Errorf("the failure does not say the API kept refusing with 429:\n%s", tail(out))
			}
			assertNothingLeft(t, e)
		})
	}
}
