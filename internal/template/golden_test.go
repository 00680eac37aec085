package template

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/golden"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const goldenKey = "GOLDEN-API-KEY-0001"

func goldenOptions() decode.Options {
	return decode.Options{
		Getenv: func(k string) string {
			if k == "VULTR_API_KEY" {
				return goldenKey
			}
			return ""
		},
		Now:     time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC),
		RunUUID: "00000000-0000-4000-8000-000000000000",
		Cwd:     "testdata", // as if built from there: relative paths are the working directory's
	}
}

// render is the golden form of a result: the diagnostics, or the Spec as
// JSON with secrets replaced.
func render(s *spec.Spec, err error) string {
	var b strings.Builder
	if s != nil {
		for _, w := range s.Warnings {
			b.WriteString("warning: " + w.Error() + "\n")
		}
	}
	if err != nil {
		var ds spec.Diagnostics
		if d, ok := err.(spec.Diagnostics); ok {
			ds = d
		} else {
			return "error: " + err.Error() + "\n"
		}
		return b.String() + decode.FormatDiagnostics(ds)
	}
	c := *s
	c.Warnings = nil // shown above
	out, _ := json.MarshalIndent(c, "", "  ")
	text := string(out)
	for _, sec := range s.Secrets {
		text = strings.ReplaceAll(text, sec, "<secret>")
	}
	return b.String() + text + "\n"
}

// TestGolden runs every template in testdata/ and compares the result with
// its .golden file. Run with -update to rewrite them after a deliberate
// change, then review the diff.
func TestGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("the corpus has %d templates, want at least 25", len(files))
	}
	valid, invalid := 0, 0
	for _, f := range files {
		f := f
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := Load(f, goldenOptions())
			got := render(s, err)
			switch {
			case strings.HasPrefix(filepath.Base(f), "valid-") && err != nil:
				t.Errorf("valid template failed:\n%s", got)
			case strings.HasPrefix(filepath.Base(f), "error-") && err == nil:
				t.Errorf("invalid template passed")
			}
			if strings.Contains(got, goldenKey) {
				t.Errorf("output contains the API key")
			}
			golden.Check(t, strings.TrimSuffix(f, ".json")+".golden", got, *update)
		})
		if strings.HasPrefix(filepath.Base(f), "valid-") {
			valid++
		} else {
			invalid++
		}
	}
	if valid == 0 || invalid < 15 {
		t.Errorf("corpus: %d valid, %d invalid", valid, invalid)
	}
}

func TestSeedTemplate(t *testing.T) {
	t.Parallel()
	s, err := Load("testdata/valid-seed.json", goldenOptions())
	if err != nil {
		t.Fatal(err)
	}
	v := s.Builds[0].Vultr
	tests := []struct{ name, got, want string }{
		{"region", v.Region.ID, "ord"},
		{"plan", v.Plan.ID, "vc2-1c-1gb"},
		{"os", v.Image.Ref.ID, "167"},
		{"label", v.InstanceLabel, "Snapshotting: My Awesome App"},
		{"description", v.SnapshotDescription, "My Awesome App"},
		{"api key", v.APIKey, goldenKey},
		{"user", s.Builds[0].SSH.Username, "root"},
		{"shutdown", v.ShutdownCommand, "shutdown -P now"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if len(s.Secrets) == 0 || s.Secrets[0] != goldenKey {
		t.Errorf("the API key is not a secret: %q", s.Secrets)
	}
}

func TestVariablePrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "t.json")
	vf1, vf2 := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	os.WriteFile(tmpl, []byte(`{"variables":{"r":"ewr","d":"def"},"builders":[{"type":"vultr","api_key":"k-123456","region_id":"{{user `+"`r`"+`}}","plan_id":"vc2-1c-1gb","os_id":"1","ssh_username":"root","snapshot_description":"{{user `+"`d`"+`}}"}]}`), 0o644)
	os.WriteFile(vf1, []byte(`{"r":"ord","d":"file1"}`), 0o644)
	os.WriteFile(vf2, []byte(`{"d":"file2"}`), 0o644)
	tests := []struct {
		name        string
		vars, files []string
		wantR       string
		wantD       string
	}{
		{"defaults", nil, nil, "ewr", "def"},
		{"var file", nil, []string{vf1}, "ord", "file1"},
		{"later file wins", nil, []string{vf1, vf2}, "ord", "file2"},
		{"-var beats files", []string{"d=cli"}, []string{vf1, vf2}, "ord", "cli"},
		{"later -var wins", []string{"r=fra", "r=ams"}, nil, "ams", "def"},
	}
	for _, tt := range tests {
		s, err := Load(tmpl, decode.Options{Vars: tt.vars, VarFiles: tt.files})
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		v := s.Builds[0].Vultr
		if v.Region.ID != tt.wantR || v.SnapshotDescription != tt.wantD {
			t.Errorf("%s: region %q description %q, want %q %q", tt.name, v.Region.ID, v.SnapshotDescription, tt.wantR, tt.wantD)
		}
	}
	if _, err := Load(tmpl, decode.Options{Vars: []string{"nope=1"}}); err == nil || !strings.Contains(err.Error(), `"nope" is not declared`) {
		t.Errorf("undeclared -var: %v", err)
	}
}

func TestOnlyExcept(t *testing.T) {
	t.Parallel()
	tests := []struct {
		only, except []string
		want         string
		wantErr      string
	}{
		{nil, nil, "web,worker", ""},
		{[]string{"web"}, nil, "web", ""},
		{[]string{"w*"}, []string{"worker"}, "web", ""},
		{nil, []string{"web"}, "worker", ""},
		{[]string{"nope"}, nil, "", `"nope" matches no build`},
	}
	for _, tt := range tests {
		o := goldenOptions()
		o.Only, o.Except = tt.only, tt.except
		s, err := Load("testdata/valid-everything.json", o)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("only %v except %v: err %v, want %q", tt.only, tt.except, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range s.Builds {
			names = append(names, b.Name)
		}
		if got := strings.Join(names, ","); got != tt.want {
			t.Errorf("only %v except %v: %s, want %s", tt.only, tt.except, got, tt.want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"1.16.0", "1.16.0", 0}, {"v1.16.0", "1.9", 1}, {"1.9.2", "1.16", -1}, {"1.16.0", "1.16.0-rc1", 0}, {"2", "1.99.99", 1},
	}
	for _, tt := range tests {
		if got := decode.CompareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("decode.CompareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// A zero timeout means the default, for every wait: "0s" never waits
// forever.
func TestZeroTimeoutsMeanTheDefault(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"state_timeout", "boot_timeout", "shutdown_timeout", "snapshot_timeout"} {
		src := fmt.Sprintf(`{"builders": [{"type": "vultr", "api_key": "k", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": 2284, "ssh_username": "root", %q: "0s"}]}`, key)
		s, err := Parse("t.json", []byte(src), goldenOptions())
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		v := s.Builds[0].Vultr
		if v.BootTimeout != 10*time.Minute || v.ShutdownTimeout != 10*time.Minute || v.SnapshotTimeout != 0 {
			t.Errorf("%s = 0s: boot %s, shutdown %s, snapshot %s; want 10m, 10m and 0 (the disk's default)", key, v.BootTimeout, v.ShutdownTimeout, v.SnapshotTimeout)
		}
	}
}

// The ansible provisioner never goes silently around the build's SOCKS5
// proxy: validate refuses the pair, naming both.
func TestAnsibleIsRefusedWithAProxy(t *testing.T) {
	t.Parallel()
	src := `{"builders": [{"type": "vultr", "api_key": "k", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": 2284, "ssh_username": "root", "ssh_proxy_host": "proxy.example.com"}],
	"provisioners": [{"type": "ansible", "playbook_file": "files/hello.txt"}]}`
	_, err := Parse("t.json", []byte(src), goldenOptions())
	if err == nil || !strings.Contains(err.Error(), "ansible provisioner cannot reach") || !strings.Contains(err.Error(), "ssh_proxy_host") {
		t.Errorf("err = %v, want a refusal naming the ansible provisioner and ssh_proxy_host", err)
	}
}
