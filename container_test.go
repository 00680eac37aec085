//go:build linux

package main

// The action as the runner runs it: the real Dockerfile's image (built by
// .ci/container-images), started the way actions/runner starts a Docker
// action, against the emulator on this machine. Run by .ci/run:
//
//	VIA_CONTAINER_IMAGE=localhost/vultr-image-action:test VIA_PODMAN=.ci/podman \
//	  go test -count=1 -run TestContainer -v .

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
)

// runnerUID is the runner's user: the workspace belongs to it, and files the
// action writes there must too.
const runnerUID = 1001

// containerRun is one docker run of the action, with the runner's mounts.
type containerRun struct {
	t                         *testing.T
	e                         *emu
	image, podman, name       string
	workspace, home, fileCmds string
	output, state, summary    string
	extraEnv                  []string
	stdout                    bytes.Buffer
}

func newContainerRun(t *testing.T, e *emu, template string, files map[string]string) *containerRun {
	t.Helper()
	image, podman := os.Getenv("VIA_CONTAINER_IMAGE"), os.Getenv("VIA_PODMAN")
	if image == "" || podman == "" {
		if os.Getenv("VIA_CONTAINER_TEST") == "required" {
			t.Fatal("VIA_CONTAINER_IMAGE and VIA_PODMAN are required (see .ci/run)")
		}
		t.Skip("the container test runs from .ci/run, which builds the image (VIA_CONTAINER_IMAGE, VIA_PODMAN)")
	}
	podman, _ = filepath.Abs(podman)
	root := t.TempDir()
	r := &containerRun{t: t, e: e, image: image, podman: podman, name: fmt.Sprintf("via-test-%d", time.Now().UnixNano()),
		workspace: filepath.Join(root, "workspace"), home: filepath.Join(root, "home"), fileCmds: filepath.Join(root, "file_commands")}
	for _, d := range []string{r.workspace, filepath.Join(r.workspace, "packer"), r.home, r.fileCmds} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(r.workspace, "packer", "server.json"), []byte(template), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		p := filepath.Join(r.workspace, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The runner's user owns the workspace.
	_ = filepath.Walk(r.workspace, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, runnerUID, runnerUID) })
	r.output, r.state, r.summary = "set_output_1", "save_state_1", "step_summary_1"
	for _, f := range []string{r.output, r.state, r.summary} {
		os.WriteFile(filepath.Join(r.fileCmds, f), nil, 0o666)
	}
	return r
}

// args are docker run's, as the runner builds them for a Docker action.
func (r *containerRun) args(entrypoint string, extra ...string) []string {
	a := []string{"run", "--rm", "--name", r.name, "--network", "host", "--workdir", "/github/workspace",
		"-v", r.workspace + ":/github/workspace", "-v", r.home + ":/github/home", "-v", r.fileCmds + ":/github/file_commands"}
	env := []string{
		"INPUT_TEMPLATE=packer/server.json", "INPUT_API-KEY=" + r.e.key, "HOME=/github/home",
		"GITHUB_ACTIONS=true", "CI=true", "GITHUB_WORKSPACE=/github/workspace", "GITHUB_RUN_ID=777", "GITHUB_RUN_ATTEMPT=1",
		"GITHUB_OUTPUT=/github/file_commands/" + r.output, "GITHUB_STATE=/github/file_commands/" + r.state,
		"GITHUB_STEP_SUMMARY=/github/file_commands/" + r.summary, "VULTR_API_URL=" + r.e.url,
	}
	for _, kv := range append(env, r.extraEnv...) {
		a = append(a, "-e", kv)
	}
	if entrypoint != "" {
		a = append(a, "--entrypoint", entrypoint)
	}
	a = append(a, extra...)
	return append(a, r.image)
}

func (r *containerRun) cmd(entrypoint string, extra ...string) *exec.Cmd {
	c := exec.Command(r.podman, r.args(entrypoint, extra...)...)
	c.Stdout, c.Stderr = &r.stdout, &r.stdout
	return c
}

func (r *containerRun) outputs() map[string]string {
	return fileCommands(r.t, filepath.Join(r.fileCmds, r.output))
}

func TestContainerAction(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "", fastDelays)
	r := newContainerRun(t, e, `{
  "builders": [{"type": "vultr", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": "2284", "ssh_username": "root", "snapshot_description": "container"}],
  "provisioners": [
    {"type": "shell", "inline": ["echo provisioned > /root/in-image.txt"]},
    {"type": "shell-local", "inline": ["echo \"$(uname -s) $(command -v bash) $(jq --version)\" > shell-local-provisioner.txt"]},
    {"type": "ansible", "playbook_file": "ansible/site.yml", "user": "root"}
  ],
  "post-processors": [[
    {"type": "manifest", "output": "out/manifest.json"},
    {"type": "shell-local", "inline": ["echo \"$PACKER_ARTIFACT_ID\" > shell-local-post-processor.txt"]}
  ]]
}`, map[string]string{"ansible/site.yml": `- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        dest: /root/from-ansible.txt
        content: "ansible in the action's image\n"
`})
	t.Logf("podman %s", strings.ReplaceAll(strings.Join(r.args(""), " "), e.key, "***")) // the emulator key too stays out of logs
	if err := r.cmd("").Run(); err != nil {
		t.Fatalf("the action failed: %v\n%s", err, r.stdout.String())
	}
	t.Logf("action log:\n%s", tail(r.stdout.String()))
	out := r.outputs()
	snap := out["snapshot-id"]
	if snap == "" {
		t.Fatalf("no snapshot-id output: %v", out)
	}
	// shell-local ran inside the image, with bash and jq there.
	if b, err := os.ReadFile(filepath.Join(r.workspace, "shell-local-provisioner.txt")); err != nil || !strings.HasPrefix(string(b), "Linux /usr/bin/bash jq-") {
		t.Errorf("shell-local provisioner: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(r.workspace, "shell-local-post-processor.txt")); err != nil || strings.TrimSpace(string(b)) != snap {
		t.Errorf("shell-local post-processor: %q, %v; want the snapshot ID %s", b, err, snap)
	}
	// The ansible provisioner ran from the image, against the machine.
	if got := imageFile(e, snap, "root/from-ansible.txt"); got != "ansible in the action's image" {
		t.Errorf("/root/from-ansible.txt in the image = %q", got)
	}
	// The manifest output is a path the runner's later steps can open.
	if got, want := out["manifest"], "out/manifest.json"; got != want {
		t.Errorf("manifest output %q, want %q (relative to the workspace)", got, want)
	}
	var m struct {
		Builds []struct {
			ArtifactID string `json:"artifact_id"`
		}
	}
	if b, err := os.ReadFile(filepath.Join(r.workspace, out["manifest"])); err != nil || json.Unmarshal(b, &m) != nil || len(m.Builds) != 1 || m.Builds[0].ArtifactID != snap {
		t.Errorf("the manifest does not open from the host's workspace with the artifact: %v %+v", err, m)
	}
	// Nothing in the workspace is left to root.
	_ = filepath.Walk(r.workspace, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			if st := fi.Sys().(*syscall.Stat_t); st.Uid != runnerUID {
				t.Errorf("%s belongs to uid %d, not the workspace's owner %d", strings.TrimPrefix(p, r.workspace), st.Uid, runnerUID)
			}
		}
		return nil
	})
	assertNothingLeft(t, e)
	if strings.Contains(strings.ReplaceAll(r.stdout.String(), "::add-mask::"+e.key+"\n", ""), e.key) {
		t.Errorf("the API key was printed")
	}
}

// A container killed mid-build (SIGKILL, as the runner's last resort)
// leaves its state; the post-entrypoint, run the same way, cleans up.
func TestContainerPostStepAfterKill(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "", vultremu.Delays{InstancePending: 100 * time.Millisecond, InstanceBooting: time.Hour})
	r := newContainerRun(t, e, `{"builders": [{"type": "vultr", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": "2284", "ssh_username": "root"}]}`, nil)
	main := r.cmd("")
	if err := main.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "an instance", 60*time.Second, func() bool { return len(e.srv.Instances()) == 1 })
	waitFor(t, "the instance ID in GITHUB_STATE", 10*time.Second, func() bool {
		return fileCommands(t, filepath.Join(r.fileCmds, r.state))["instances"] != ""
	})
	if out, err := exec.Command(r.podman, "kill", "--signal", "KILL", r.name).CombinedOutput(); err != nil {
		t.Fatalf("podman kill: %v\n%s", err, out)
	}
	_ = main.Wait()
	if len(e.srv.Instances()) != 1 {
		t.Fatal("test setup: the killed build should have left its instance")
	}
	state := fileCommands(t, filepath.Join(r.fileCmds, r.state))
	r.name += "-post"
	for k, v := range state {
		r.extraEnv = append(r.extraEnv, "STATE_"+k+"="+v)
	}
	r.stdout.Reset()
	if err := r.cmd("/usr/local/bin/vultr-image-action-post").Run(); err != nil {
		t.Fatalf("post step: %v\n%s", err, r.stdout.String())
	}
	t.Logf("post step log:\n%s", tail(r.stdout.String()))
	assertNothingLeft(t, e)
}
