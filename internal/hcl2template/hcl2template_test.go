package hcl2template

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/golden"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/template"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const key = "GOLDEN-API-KEY-0001"

func options() decode.Options {
	return decode.Options{
		Getenv: func(k string) string {
			if k == "VULTR_API_KEY" {
				return key
			}
			return ""
		},
		Now:     time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC),
		RunUUID: "00000000-0000-4000-8000-000000000000",
		Cwd:     "testdata", // as if built from there: relative paths are the working directory's
	}
}

func render(s *spec.Spec, err error) string {
	var b strings.Builder
	if s != nil {
		for _, w := range s.Warnings {
			b.WriteString("warning: " + w.Error() + "\n")
		}
	}
	if err != nil {
		if ds, ok := err.(spec.Diagnostics); ok {
			return b.String() + decode.FormatDiagnostics(ds)
		}
		return "error: " + err.Error() + "\n"
	}
	c := *s
	c.Warnings = nil
	out, _ := json.MarshalIndent(c, "", "  ")
	text := string(out)
	for _, sec := range s.Secrets {
		text = strings.ReplaceAll(text, sec, "<secret>")
	}
	return b.String() + text + "\n"
}

// TestGolden runs every HCL2 template in testdata/ against its .golden
// file (-update rewrites them).
func TestGolden(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*.pkr.hcl")
	if len(files) < 20 {
		t.Fatalf("the HCL2 corpus has %d templates, want at least 20", len(files))
	}
	for _, f := range files {
		f := f
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := Load(f, options())
			got := render(s, err)
			base := filepath.Base(f)
			if strings.HasPrefix(base, "error-") == (err == nil) {
				t.Errorf("unexpected outcome:\n%s", got)
			}
			if strings.Contains(got, key) {
				t.Errorf("output contains the API key")
			}
			golden.Check(t, strings.TrimSuffix(f, ".pkr.hcl")+".golden", got, *update)
		})
	}
}

// normalize drops what may differ between front ends (source positions,
// paths) so two specs of the same build compare equal.
func normalize(t *testing.T, s *spec.Spec) string {
	t.Helper()
	c := *s
	c.Path, c.Dir, c.Warnings = "", "", nil
	c.Variables = append([]spec.Variable(nil), c.Variables...)
	for i := range c.Variables {
		c.Variables[i].Pos = spec.Pos{}
	}
	// hcl2_upgrade writes variables in name order.
	sort.Slice(c.Variables, func(i, j int) bool { return c.Variables[i].Name < c.Variables[j].Name })
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	_ = json.Unmarshal(b, &m)
	var strip func(any) any
	strip = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			delete(x, "Pos")
			delete(x, "End")
			delete(x, "Aliases") // HCL2's extra names ("vultr.web") for the same build
			for k, e := range x {
				x[k] = strip(e)
			}
		case []any:
			for i, e := range x {
				x[i] = strip(e)
			}
		}
		return v
	}
	out, _ := json.MarshalIndent(strip(m), "", " ")
	abs, _ := filepath.Abs("../template/testdata")
	return strings.ReplaceAll(strings.ReplaceAll(string(out), abs, "DIR"), "../template/testdata", "DIR")
}

// TestUpgradeBuildsIdenticalModel converts every valid JSON template of the
// template corpus to HCL2 and checks both build the identical model.
func TestUpgradeBuildsIdenticalModel(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../template/testdata/valid-*.json")
	if len(files) < 10 {
		t.Fatalf("only %d JSON templates", len(files))
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := template.Load(f, options())
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		hcl, err := Upgrade(src)
		if err != nil {
			t.Fatalf("%s: upgrade: %v", f, err)
		}
		out := filepath.Join(filepath.Dir(f), "tmp-"+filepath.Base(f)+".pkr.hcl")
		if err := os.WriteFile(out, hcl, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Load(out, options())
		os.Remove(out)
		if err != nil {
			t.Errorf("%s: the upgraded template fails:\n%v\n%s", f, err, hcl)
			continue
		}
		if g, w := normalize(t, got), normalize(t, want); g != w {
			t.Errorf("%s: models differ\n--- HCL2\n%s\n--- JSON\n%s", f, g, w)
		}
	}
}

func TestVariablePrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.pkr.hcl"), []byte(`
variable "region" {
  type    = string
  default = "ewr"
}
source "vultr" "web" {
  api_key = "k-123456"
  region_id = var.region
  plan_id = "vc2-1c-1gb"
  os_id = 2284
  ssh_username = "root"
}
build {
  sources = ["source.vultr.web"]
}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "x.auto.pkrvars.hcl"), []byte(`region = "ord"`+"\n"), 0o644)
	vf := filepath.Join(t.TempDir(), "more.pkrvars.hcl")
	os.WriteFile(vf, []byte(`region = "fra"`+"\n"), 0o644)
	tests := []struct {
		name  string
		vars  []string
		files []string
		env   string
		want  string
	}{
		{"auto var file beats default", nil, nil, "", "ord"},
		{"var file beats auto", nil, []string{vf}, "", "fra"},
		{"PKR_VAR_ beats files", nil, []string{vf}, "sgp", "sgp"},
		{"-var beats all", []string{"region=ams"}, []string{vf}, "sgp", "ams"},
	}
	for _, tt := range tests {
		o := options()
		o.Vars, o.VarFiles = tt.vars, tt.files
		env := tt.env
		o.Getenv = func(k string) string {
			if k == "PKR_VAR_region" {
				return env
			}
			return ""
		}
		s, err := Load(dir, o)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := s.Builds[0].Vultr.Region.ID; got != tt.want {
			t.Errorf("%s: region %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestHCLJSONSyntax reads HCL's JSON syntax (.pkr.json) to the same model
// as the native syntax.
func TestHCLJSONSyntax(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	native := filepath.Join(dir, "a.pkr.hcl")
	jsonForm := filepath.Join(dir, "b.pkr.json")
	os.WriteFile(native, []byte(`source "vultr" "web" {
  api_key      = "k-123456"
  region_id    = "ewr"
  plan_id      = "vc2-1c-1gb"
  os_id        = 2284
  ssh_username = "root"
}
build {
  sources = ["source.vultr.web"]
  provisioner "shell" {
    inline = ["echo hi"]
  }
}
`), 0o644)
	os.WriteFile(jsonForm, []byte(`{
  "source": {"vultr": {"web": {"api_key": "k-123456", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": 2284, "ssh_username": "root"}}},
  "build": {"sources": ["source.vultr.web"], "provisioner": {"shell": {"inline": ["echo hi"]}}}
}`), 0o644)
	a, err := Load(native, options())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(jsonForm, options())
	if err != nil {
		t.Fatal(err)
	}
	if g, w := normalize(t, b), normalize(t, a); g != w {
		t.Errorf("models differ\n--- .pkr.json\n%s\n--- .pkr.hcl\n%s", g, w)
	}
}

// A sensitive object's strings are secrets; its numbers and booleans are
// not (masking "true" would shred every later line of a job's log).
func TestSensitiveLeavesAreStrings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "t.pkr.hcl"), []byte(`variable "db" {
  type = object({ password = string, ssl = bool, port = number })
  sensitive = true
  default = { password = "obj-s3cret-1", ssl = true, port = 5432 }
}
source "null" "x" {
  communicator = "none"
}
build {
  sources = ["source.null.x"]
}
`), 0o644)
	var got []string
	o := options()
	o.Secret = func(v string) { got = append(got, v) }
	if _, err := Load(filepath.Join(dir, "t.pkr.hcl"), o); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, "obj-s3cret-1") || slices.Contains(got, "true") || slices.Contains(got, "5432") {
		t.Errorf("secrets registered: %q; want the password only", got)
	}
}
