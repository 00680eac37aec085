package main

// Template parity beyond the corpus: behaviour that a successful image
// cannot show.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A failing provisioner runs the error-cleanup-provisioner before cleanup
// (JSON and HCL2), and the build still fails with the provisioner's error.
func TestErrorCleanupProvisionerRuns(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"template.pkr.hcl": `source "vultr" "x" {
  region_id    = "ewr"
  plan_id      = "vc2-1c-1gb"
  os_id        = 2284
  ssh_username = "root"
}
build {
  sources = ["source.vultr.x"]
  provisioner "shell" {
    inline = ["exit 7"]
  }
  error-cleanup-provisioner "shell-local" {
    inline = ["echo cleaned > \"$MARKER\""]
  }
}
`,
		"template.json": `{
  "builders": [{"type": "vultr", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": "2284", "ssh_username": "root"}],
  "provisioners": [{"type": "shell", "inline": ["exit 7"]}],
  "error-cleanup-provisioner": {"type": "shell-local", "inline": ["echo cleaned > \"$MARKER\""]}
}
`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := startEmulator(t, "", fastDelays)
			dir := t.TempDir()
			tmpl := filepath.Join(dir, name)
			if err := os.WriteFile(tmpl, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			marker := filepath.Join(dir, "marker")
			cmd := exec.Command(binary, "build", tmpl)
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "VULTR_API_KEY=" + e.key, "VULTR_API_URL=" + e.url, "MARKER=" + marker}
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("a failing provisioner succeeded:\n%s", out)
			}
			if !strings.Contains(string(out), "exited with status 7") {
				t.Errorf("the build's error is not the provisioner's:\n%s", out)
			}
			if b, err := os.ReadFile(marker); err != nil || strings.TrimSpace(string(b)) != "cleaned" {
				t.Errorf("the error-cleanup-provisioner did not run (%v):\n%s", err, out)
			}
			assertNothingLeft(t, e)
		})
	}
}

// -on-error: abort keeps the instance and skips the error-cleanup
// provisioner; run-cleanup-provisioner runs it and keeps the instance;
// cleanup runs it and deletes.
func TestOnErrorModes(t *testing.T) {
	t.Parallel()
	const tmpl = `{
  "builders": [{"type": "vultr", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": "2284", "ssh_username": "root"}],
  "provisioners": [{"type": "shell", "inline": ["exit 7"]}],
  "error-cleanup-provisioner": {"type": "shell-local", "inline": ["echo cleaned > \"$MARKER\""]}
}`
	for _, tt := range []struct {
		mode         string
		ranECP, kept bool
	}{
		{"cleanup", true, false},
		{"abort", false, true},
		{"run-cleanup-provisioner", true, true},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			e := startEmulator(t, "", fastDelays)
			dir := t.TempDir()
			p := filepath.Join(dir, "t.json")
			os.WriteFile(p, []byte(tmpl), 0o644)
			marker := filepath.Join(dir, "marker")
			cmd := exec.Command(binary, "build", "-on-error="+tt.mode, "-timestamp-ui", p)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "VULTR_API_KEY=" + e.key, "VULTR_API_URL=" + e.url, "MARKER=" + marker, "PACKER_LOG=1"}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err == nil {
				t.Fatal("a failing provisioner succeeded")
			}
			_, err := os.Stat(marker)
			if ran := err == nil; ran != tt.ranECP {
				t.Errorf("error-cleanup-provisioner ran: %v, want %v", ran, tt.ranECP)
			}
			if kept := len(e.srv.Instances()) == 1; kept != tt.kept {
				t.Errorf("instance kept: %v, want %v", kept, tt.kept)
			}
			// -timestamp-ui prefixes every line; PACKER_LOG sends debug lines
			// (the API calls) to standard error.
			for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
				if _, err := time.Parse(time.RFC3339, strings.SplitN(line, ": ", 2)[0]); err != nil {
					t.Errorf("-timestamp-ui: line without a time: %q", line)
					break
				}
			}
			if !strings.Contains(stderr.String(), "[DEBUG]") || !strings.Contains(stderr.String(), "/v2/instances") {
				t.Errorf("PACKER_LOG=1 wrote no API debug lines to standard error:\n%s", stderr.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), e.key) {
				t.Errorf("the API key was printed")
			}
		})
	}
}
