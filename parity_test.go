package main

// Template parity beyond the corpus: behaviour that a successful image
// cannot show.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
