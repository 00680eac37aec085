package main

// The action attests what it builds, and a later step of another job
// checks the attestation before it uses the snapshot.

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestActionAttestsAndVerifies(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "", fastDelays)
	r := newActionRun(t, e, "testdata/attest/attested.json", nil)
	signingKey(t, filepath.Join(r.workspace, "keys", "release"))
	if code := r.run(t); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, r.stdout.String(), r.stderr.String())
	}
	out := fileCommands(t, r.output)
	id := out["snapshot-id"]
	wantProv := "att/web.packer.vultr-" + id + ".provenance.json"
	if out["provenance"] != wantProv {
		t.Errorf("output provenance = %q, want %q", out["provenance"], wantProv)
	}
	if !strings.HasPrefix(out["sbom"], "att/packer-user-sbom-") {
		t.Errorf("output sbom = %q, want the hcp-sbom provisioner's file under att/", out["sbom"])
	}
	var arts []map[string]any
	if err := json.Unmarshal([]byte(out["artifacts"]), &arts); err != nil || len(arts) != 1 {
		t.Fatalf("artifacts %q: %v", out["artifacts"], err)
	}
	if a := arts[0]; a["provenance"] != wantProv || a["signing"] != "key" || a["sbom_attestation"] != "att/web.packer.vultr-"+id+".sbom.att.json" || a["sbom_packages"].(float64) < 3 {
		t.Errorf("artifacts[0] = %v", a)
	}
	summary, _ := os.ReadFile(r.summary)
	for _, want := range []string{"#### SBOM and attestations", "packages (cyclonedx)", "provenance: `web.packer.vultr-" + id + ".provenance.json`, signing key"} {
		if !strings.Contains(string(summary), want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	// No statement, SBOM or output holds the sensitive variable or the key.
	files, _ := filepath.Glob(filepath.Join(r.workspace, "att", "*"))
	if len(files) < 4 {
		t.Errorf("att/ holds %v", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, secret := range []string{"attest-test-password-913", e.key} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s holds a secret", f)
			}
		}
	}
	assertNoSecrets(t, r, e.key, "attest-test-password-913")

	verify := func(inputs map[string]string) (int, string) {
		v := newActionRun(t, e, "testdata/attest/attested.json", inputs)
		v.cmd.Dir, v.cmd.Env = r.workspace, append(v.cmd.Env, "GITHUB_WORKSPACE="+r.workspace)
		code := v.run(t)
		return code, v.stdout.String() + v.stderr.String()
	}
	inputs := func(snapshot, attestation string) map[string]string {
		return map[string]string{"mode": "verify-attestation", "snapshot-id": snapshot, "attestation": attestation, "verify-key": "keys/release.pub.pem"}
	}
	if code, log := verify(inputs(id, wantProv)); code != 0 || !strings.Contains(log, "Attestation verified") {
		t.Errorf("verify: exit %d\n%s", code, log)
	}
	if code, log := verify(inputs(id, "att/web.packer.vultr-"+id+".sbom.att.json")); code != 0 {
		t.Errorf("verify the SBOM's statement: exit %d\n%s", code, log)
	}
	for name, c := range map[string]struct {
		in   map[string]string
		text string
	}{
		"another snapshot": {inputs("8b0c6f6e-5f1a-4a43-9d51-0c1d2e3f4a5b", wantProv), "is not about snapshot"},
		"no key":           {map[string]string{"mode": "verify-attestation", "snapshot-id": id, "attestation": wantProv}, "cannot tell how the attestation was signed"},
		"no snapshot":      {map[string]string{"mode": "verify-attestation", "attestation": wantProv}, `input "snapshot-id"`},
	} {
		if code, log := verify(c.in); code == 0 || !strings.Contains(log, c.text) || !strings.Contains(log, "::error") {
			t.Errorf("%s: exit %d, want a failure annotating %q:\n%s", name, code, c.text, log)
		}
	}
	// A snapshot deleted since is no longer attested.
	req, _ := http.NewRequest(http.MethodDelete, e.url+"/v2/snapshots/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("delete the snapshot: %v %v", resp, err)
	}
	if code, log := verify(inputs(id, wantProv)); code == 0 || !strings.Contains(log, "no longer exists") {
		t.Errorf("deleted snapshot: exit %d\n%s", code, log)
	}
}

// Keyless signing without the job's OIDC token fails the build, saying
// what to set; the snapshot stays, reported unattested.
func TestKeylessWithoutATokenLeavesTheSnapshotUnattested(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "", fastDelays)
	tmpl := filepath.Join(t.TempDir(), "keyless.json")
	os.WriteFile(tmpl, []byte(`{"builders":[{"type":"vultr","name":"web","region_id":"ewr","plan_id":"vc2-1c-1gb","os_id":"2284","ssh_username":"root","snapshot_description":"keyless web"}],
"post-processors":[{"type":"provenance","signing_mode":"keyless","keyless_identity":"https://github.com/o/r/.github/workflows/b.yml@refs/heads/main","keyless_oidc_issuer":"https://token.actions.githubusercontent.com"}]}`), 0o644)
	r := newActionRun(t, e, tmpl, nil)
	if code := r.run(t); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, r.stdout.String())
	}
	snaps := e.srv.Snapshots()
	if len(snaps) != 1 || snaps[0].Status != "complete" {
		t.Fatalf("snapshots %+v, want the one built", snaps)
	}
	log := r.stdout.String()
	for _, want := range []string{"snapshot " + snaps[0].ID + " stays, unattested", "permissions: id-token: write"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q:\n%s", want, log)
		}
	}
	out := fileCommands(t, r.output)
	if out["provenance"] != "" || !strings.Contains(out["artifacts"], snaps[0].ID) {
		t.Errorf("outputs provenance %q, artifacts %q", out["provenance"], out["artifacts"])
	}
	if m, _ := filepath.Glob(filepath.Join(r.workspace, "*.provenance.json")); len(m) != 0 {
		t.Errorf("statements written: %v", m)
	}
	assertNothingLeft(t, e)
}
