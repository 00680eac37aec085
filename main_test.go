package main

// End-to-end tests: the compiled binary, run the way the GitHub runner runs
// a Docker action (INPUT_* with hyphens kept, file-command paths, a
// workspace), against the Vultr emulator over real HTTP, whose instances are
// real SSH servers: the built-in one, or OpenSSH's sshd.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu/machine"
)

var binary string

func TestMain(m *testing.M) {
	if code, ok := machine.SandboxMain(); ok {
		os.Exit(code)
	}
	dir, err := os.MkdirTemp("", "vultr-image-action-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "vultr-image-action")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the binary: %v\n%s", err, out)
		os.Exit(1)
	}
	// The post-entrypoint is the same binary under another name.
	if err := os.Symlink("vultr-image-action", filepath.Join(dir, "vultr-image-action-post")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type emu struct {
	srv *vultremu.Server
	ms  *machine.Machines
	url string
	key string
}

// startEmulator runs the emulator in this process. The binary under test
// dials instances at main_ip:22, which needs permission to bind port 22 on
// loopback addresses (root, as in CI).
func startEmulator(t *testing.T, sshd string, delays vultremu.Delays) *emu {
	t.Helper()
	return startScaledEmulator(t, sshd, delays, 0)
}

// startScaledEmulator starts an emulator whose delays are multiplied by
// scale (0: 1), to run the cloud's real timeline in seconds.
func startScaledEmulator(t *testing.T, sshd string, delays vultremu.Delays, scale float64) *emu {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root so emulated machines can listen on port 22")
		}
		t.Skip("end-to-end tests need root: emulated machines listen on main_ip:22")
	}
	if sshd != "" {
		if _, err := os.Stat(sshd); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI must have %s (installed by .ci/run): %v", sshd, err)
			}
			t.Skipf("%s is not installed", sshd)
		}
	}
	ms, err := machine.New(machine.Options{SSHD: sshd, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ms.Close)
	key := "e2e-api-key-" + fmt.Sprint(time.Now().UnixNano())
	srv := vultremu.New(vultremu.Options{APIKey: key, Machines: ms, Delays: delays, TimeScale: scale})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return &emu{srv: srv, ms: ms, url: hs.URL, key: key}
}

// actionRun is one run of the binary as a Docker action.
type actionRun struct {
	workspace, output, state, summary string
	stdout, stderr                    bytes.Buffer
	cmd                               *exec.Cmd
}

func newActionRun(t *testing.T, e *emu, template string, inputs map[string]string) *actionRun {
	t.Helper()
	ws := t.TempDir()
	files := t.TempDir()
	src, err := os.ReadFile(template)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(ws, "packer"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "packer", "server.json"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	r := &actionRun{workspace: ws, output: filepath.Join(files, "set_output"), state: filepath.Join(files, "save_state"), summary: filepath.Join(files, "step_summary")}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + files,
		"GITHUB_ACTIONS=true",
		"CI=true",
		"GITHUB_WORKSPACE=" + ws,
		"GITHUB_OUTPUT=" + r.output,
		"GITHUB_STATE=" + r.state,
		"GITHUB_STEP_SUMMARY=" + r.summary,
		"GITHUB_RUN_ID=4242",
		"GITHUB_RUN_ATTEMPT=1",
		"VULTR_API_URL=" + e.url,
		"INPUT_TEMPLATE=packer/server.json",
		"INPUT_API-KEY=" + e.key,
	}
	for k, v := range inputs {
		env = append(env, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	r.cmd = exec.Command(binary)
	r.cmd.Env = env
	r.cmd.Dir = ws
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	return r
}

func (r *actionRun) run(t *testing.T) int {
	t.Helper()
	err := r.cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	default:
		t.Fatal(err)
		return -1
	}
}

// fileCommands parses GITHUB_OUTPUT/GITHUB_STATE (name<<delim ... delim);
// the last value of a name wins, as in the runner.
func fileCommands(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, delim, ok := strings.Cut(sc.Text(), "<<")
		if !ok {
			t.Fatalf("%s: unexpected line %q", path, sc.Text())
		}
		var val []string
		for sc.Scan() && sc.Text() != delim {
			val = append(val, sc.Text())
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

func assertNothingLeft(t *testing.T, e *emu) {
	t.Helper()
	if got := e.srv.Instances(); len(got) != 0 {
		t.Errorf("instances left: %d (%+v)", len(got), got)
	}
	if got := e.srv.SSHKeys(); len(got) != 0 {
		t.Errorf("SSH keys left: %d", len(got))
	}
}

func assertNoSecrets(t *testing.T, r *actionRun, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for name, text := range map[string]string{"stdout": r.stdout.String(), "stderr": r.stderr.String()} {
			// The one allowed appearance is the ::add-mask:: command itself.
			cleaned := strings.ReplaceAll(text, "::add-mask::"+s+"\n", "")
			if strings.Contains(cleaned, s) {
				t.Errorf("secret %q appears in %s", s, name)
			}
		}
	}
	for name, text := range map[string]string{"stdout": r.stdout.String(), "stderr": r.stderr.String()} {
		if strings.Contains(text, "PRIVATE KEY") {
			t.Errorf("a private key appears in %s", name)
		}
	}
}

var fastDelays = vultremu.Delays{InstancePending: 100 * time.Millisecond, InstanceBooting: 100 * time.Millisecond, SnapshotPending: 200 * time.Millisecond}

func testSeedBuildsAsAction(t *testing.T, sshd string) {
	e := startEmulator(t, sshd, fastDelays)
	r := newActionRun(t, e, "examples/server.json", nil)
	code := r.run(t)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, r.stdout.String(), r.stderr.String())
	}
	out := fileCommands(t, r.output)
	snaps := e.srv.Snapshots()
	if len(snaps) != 1 {
		t.Fatalf("snapshots = %d, want 1", len(snaps))
	}
	if got, want := out["snapshot-id"], snaps[0].ID; got != want {
		t.Errorf("output snapshot-id = %q, want %q", got, want)
	}
	if got, want := snaps[0].Status, "complete"; got != want {
		t.Errorf("snapshot status = %q, want %q", got, want)
	}
	if got, want := snaps[0].Description, "My Awesome App"; got != want {
		t.Errorf("snapshot description = %q, want %q", got, want)
	}
	if got, want := out["snapshot-ids"], fmt.Sprintf(`{"vultr":%q}`, snaps[0].ID); got != want {
		t.Errorf("output snapshot-ids = %q, want %q", got, want)
	}
	if got, want := out["region"], "ord"; got != want {
		t.Errorf("output region = %q, want %q", got, want)
	}
	assertNothingLeft(t, e)
	assertNoSecrets(t, r, e.key)
	stdout := r.stdout.String()
	if first, _, _ := strings.Cut(stdout, "\n"); first != "::add-mask::"+e.key {
		t.Errorf("first line = %q, want the API key's mask", first)
	}
	for _, want := range []string{"::group::vultr: create instance", "::group::vultr: shut down", "::endgroup::", "Vultr Snapshot: My Awesome App (" + snaps[0].ID + ")"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	summary, err := os.ReadFile(r.summary)
	if err != nil || !strings.Contains(string(summary), snaps[0].ID) {
		t.Errorf("step summary lacks the snapshot ID: %v\n%s", err, summary)
	}
	// The instance's label follows the seed article's rule.
	var created bool
	for _, c := range e.srv.StateChanges() {
		created = created || c.Field == "status" && c.Value == "pending"
	}
	if !created {
		t.Errorf("no instance was ever created")
	}
	state := fileCommands(t, r.state)
	if state["instances"] != "" || state["ssh_keys"] != "" {
		t.Errorf("state still lists live resources after success: %q", state)
	}
}

func TestSeedBuildsAsAction(t *testing.T) {
	t.Parallel()
	testSeedBuildsAsAction(t, "")
}

func TestSeedBuildsAsActionWithOpenSSH(t *testing.T) {
	t.Parallel()
	testSeedBuildsAsAction(t, "/usr/sbin/sshd")
}

// waitFor polls cond (test-side) until true or the deadline.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSIGTERMMidBuildLeavesNothing(t *testing.T) {
	t.Parallel()
	// Boot takes "forever": the build is interrupted while waiting.
	e := startEmulator(t, "", vultremu.Delays{InstancePending: 100 * time.Millisecond, InstanceBooting: time.Hour})
	r := newActionRun(t, e, "examples/server.json", nil)
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "an instance", 20*time.Second, func() bool { return len(e.srv.Instances()) == 1 })
	start := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := r.cmd.Wait()
	elapsed := time.Since(start)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Errorf("exit = %v, want status 130\nstdout:\n%s", err, r.stdout.String())
	}
	if elapsed > 7*time.Second {
		t.Errorf("took %s to clean up after SIGTERM; GitHub kills the step after 10s", elapsed)
	}
	assertNothingLeft(t, e)
	assertNoSecrets(t, r, e.key)
	if !strings.Contains(r.stdout.String(), "Destroyed instance") {
		t.Errorf("stdout does not report the instance destroyed:\n%s", r.stdout.String())
	}
}

func TestPostStepCleansUpAfterSIGKILL(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "", vultremu.Delays{InstancePending: 100 * time.Millisecond, InstanceBooting: time.Hour})
	r := newActionRun(t, e, "examples/server.json", nil)
	r.killAfterInstance(t, e)
	if got := len(e.srv.Instances()); got != 1 {
		t.Fatalf("after SIGKILL, instances = %d, want the leaked 1", got)
	}
	state := fileCommands(t, r.state)
	post := exec.Command(binary + "-post")
	post.Env = append(r.cmd.Env, stateEnv(state)...)
	var out bytes.Buffer
	post.Stdout, post.Stderr = &out, &out
	if err := post.Run(); err != nil {
		t.Fatalf("post step: %v\n%s", err, out.String())
	}
	assertNothingLeft(t, e)
	if strings.Contains(strings.ReplaceAll(out.String(), "::add-mask::"+e.key+"\n", ""), e.key) {
		t.Errorf("post step printed the API key")
	}
	// Running it again is harmless: gone counts as done.
	again := exec.Command(binary + "-post")
	again.Env = post.Env
	if b, err := again.CombinedOutput(); err != nil {
		t.Errorf("second post step: %v\n%s", err, b)
	}
}

func TestProvisionedSnapshotKeepsFiles(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "/usr/sbin/sshd", fastDelays)
	r := newActionRun(t, e, "testdata/provisioned.json", nil)
	if code := r.run(t); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, r.stdout.String(), r.stderr.String())
	}
	snap := fileCommands(t, r.output)["snapshot-id"]
	if snap == "" {
		t.Fatal("no snapshot-id output")
	}
	assertNothingLeft(t, e)
	// Boot a new instance from the snapshot, as a deploy would, and look.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	got := bootFromSnapshot(t, e, snap, signer, "cat /etc/app-version /opt/app/config.txt")
	if want := "1.2.3\nlisten=8080\n"; got != want {
		t.Errorf("files in the new instance = %q, want %q", got, want)
	}
}

// bootFromSnapshot creates an instance from a snapshot through the API,
// with a key of ours, and runs cmd on it.
func bootFromSnapshot(t *testing.T, e *emu, snapshotID string, signer ssh.Signer, cmd string) string {
	t.Helper()
	api := func(method, path, body string) string {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.key)
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
		}
		return rec.Body.String()
	}
	keyJSON := api("POST", "/v2/ssh-keys", fmt.Sprintf(`{"name":"deploy","ssh_key":%q}`, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))))
	keyID := between(keyJSON, `"id":"`, `"`)
	inst := api("POST", "/v2/instances", fmt.Sprintf(`{"region":"ewr","plan":"vc2-1c-1gb","snapshot_id":%q,"sshkey_id":[%q]}`, snapshotID, keyID))
	id := between(inst, `"id":"`, `"`)
	var ip string
	waitFor(t, "the new instance", 20*time.Second, func() bool {
		for _, in := range e.srv.Instances() {
			if in.ID == id && in.ServerStatus == "ok" {
				ip = in.MainIP
				return true
			}
		}
		return false
	})
	conn, err := e.srv.Dialer().DialContext(context.Background(), "tcp", ip+":22")
	if err != nil {
		t.Fatal(err)
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, ip, &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	c := ssh.NewClient(sc, chans, reqs)
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Output(cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return string(out)
}

func between(s, start, end string) string {
	_, rest, _ := strings.Cut(s, start)
	v, _, _ := strings.Cut(rest, end)
	return v
}

// killAfterInstance starts the main step and SIGKILLs it once an instance
// exists and the state names it.
func (r *actionRun) killAfterInstance(t *testing.T, e *emu) {
	t.Helper()
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "an instance", 20*time.Second, func() bool { return len(e.srv.Instances()) == 1 })
	// The state must name it before anything else happens.
	waitFor(t, "the instance ID in GITHUB_STATE", 5*time.Second, func() bool { return fileCommands(t, r.state)["instances"] != "" })
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

// post runs the post step after the main step, with its saved state, as the
// runner does.
func (r *actionRun) post(t *testing.T) (string, error) {
	t.Helper()
	post := exec.Command(binary + "-post")
	post.Env = append(r.cmd.Env, stateEnv(fileCommands(t, r.state))...)
	out, err := post.CombinedOutput()
	return string(out), err
}

// stateEnv passes saved state to the post step as the runner does.
func stateEnv(state map[string]string) []string {
	var out []string
	for k, v := range state {
		out = append(out, "STATE_"+k+"="+v)
	}
	return out
}
