package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/app"
	"github.com/vultr-image-action/vultr-image-action/internal/build"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu/machine"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) {
	if code, ok := machine.SandboxMain(); ok {
		os.Exit(code)
	}
	flag.Parse()
	os.Exit(m.Run())
}

type testEnv struct {
	Env
	stdout, stderr *bytes.Buffer
	vars           map[string]string
}

func newEnv(args []string, vars map[string]string) *testEnv {
	te := &testEnv{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, vars: vars}
	te.Env = Env{
		Args:    append([]string{"vultr-image-action"}, args...),
		Stdout:  te.stdout,
		Stderr:  te.stderr,
		Getenv:  func(k string) string { return vars[k] },
		Environ: func() []string { return []string{"PATH=" + os.Getenv("PATH")} },
		Getwd:   func() (string, error) { return "/nonexistent-workdir", nil },
	}
	return te
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{flag.ErrHelp, 0},
		{&app.UsageError{Err: errors.New("x")}, 2},
		{spec.Diagnostics{{Summary: "x"}}, 2},
		{fmt.Errorf("build x: %w", context.Canceled), 130},
		{errors.New("boom"), 1},
		{&app.ShownError{Err: &app.UsageError{Err: errors.New("x")}}, 2},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestActionInputValidation(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	os.WriteFile(filepath.Join(ws, "server.json"), []byte("{}"), 0o644)
	base := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{"nothing set", with(), []string{`input "template": is required`, `input "api-key": is required`}},
		{"bad mode", with("INPUT_MODE", "deploy", "INPUT_TEMPLATE", "server.json", "INPUT_API-KEY", "k"), []string{`"deploy" is not a mode; valid modes are build, validate, sweep and verify-attestation`}},
		{"bad mode, no template", with("INPUT_MODE", "biuld", "INPUT_API-KEY", "k"), []string{`"biuld" is not a mode`, `input "template": is required`}},
		{"bad boolean", with("INPUT_MODE", "sweep", "INPUT_API-KEY", "k", "INPUT_YES", "yes"), []string{`input "yes": "yes" is not a boolean`}},
		{"outside workspace", with("INPUT_TEMPLATE", "../../etc/passwd", "INPUT_API-KEY", "k"), []string{"resolves outside the workspace"}},
		{"unreadable", with("INPUT_TEMPLATE", "missing.json", "INPUT_API-KEY", "k"), []string{`input "template": cannot read`}},
		{"bad timeout", with("INPUT_TEMPLATE", "server.json", "INPUT_API-KEY", "k", "INPUT_TIMEOUT", "soon"), []string{`"soon" is not a duration`}},
		{"bad on-error", with("INPUT_TEMPLATE", "server.json", "INPUT_API-KEY", "k", "INPUT_ON-ERROR", "ask"), []string{`"ask": valid values are cleanup and abort`}},
		{"oversized", with("INPUT_TEMPLATE", "server.json", "INPUT_API-KEY", "k", "INPUT_VARIABLES", strings.Repeat("a", 300<<10)), []string{`input "variables": value is 307200 bytes`}},
	}
	for _, tt := range tests {
		te := newEnv(nil, tt.vars)
		err := Run(context.Background(), te.Env)
		if ExitCode(err) != ExitUsage {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, ExitCode(err), err, ExitUsage)
		}
		out := strings.TrimPrefix(te.stdout.String(), "::add-mask::k\n") // the key is masked first
		if !strings.HasPrefix(out, "::error title=Invalid input::") {
			t.Errorf("%s: not an ::error annotation: %q", tt.name, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tt.name, w, out)
			}
		}
	}
}

func TestValidateAnnotatesTemplateProblems(t *testing.T) {
	t.Parallel()
	ws, _ := filepath.Abs("../template/testdata")
	te := newEnv(nil, map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws, "INPUT_MODE": "validate", "INPUT_TEMPLATE": "error-unknown-key.json"})
	err := Run(context.Background(), te.Env)
	if ExitCode(err) != ExitUsage {
		t.Fatalf("exit %d, want 2", ExitCode(err))
	}
	want := "::error col=7,file=error-unknown-key.json,line=13,title=Template error::" + ws + "/error-unknown-key.json:13:7: builders[0].plan_idd: unknown key \"plan_idd\" in a vultr builder; did you mean \"plan_id\"?\n"
	if got := te.stdout.String(); got != want {
		t.Errorf("annotation:\n%q\nwant\n%q", got, want)
	}
	// The seed validates without any secret available (placeholder key).
	te = newEnv([]string{"validate", "../../examples/server.json"}, map[string]string{})
	if err := Run(context.Background(), te.Env); err != nil {
		t.Fatalf("seed validate: %v\n%s", err, te.stdout.String())
	}
	if got := te.stdout.String(); got != "The configuration is valid.\n" {
		t.Errorf("validate output %q", got)
	}
}

func TestInspectMasksSensitive(t *testing.T) {
	t.Parallel()
	te := newEnv([]string{"inspect", "valid-everything.json"}, map[string]string{"VULTR_API_KEY": "inspect-key-123456"})
	// As Packer is run: from the template's directory, which relative
	// script paths are relative to.
	dir, _ := filepath.Abs("../template/testdata")
	te.Getwd = func() (string, error) { return dir, nil }
	te.Args = []string{"vultr-image-action", "inspect", filepath.Join(dir, "valid-everything.json")}
	if err := Run(context.Background(), te.Env); err != nil {
		t.Fatal(err)
	}
	out := te.stdout.String()
	for _, want := range []string{`db_password = "<sensitive>"`, `key = "<sensitive>"`, `version = "2.0.1"`, "web                  vultr", "web: 0 shell", "worker: manifest -> shell-local"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2-secret") || strings.Contains(out, "inspect-key-123456") {
		t.Errorf("inspect shows a secret:\n%s", out)
	}
}

func TestMachineReadableBuildOnEmulator(t *testing.T) {
	t.Parallel()
	te := newEnv([]string{"build", "-emulator", "-machine-readable", "../../examples/server.json"}, map[string]string{})
	te.Getwd = func() (string, error) { return t.TempDir(), nil }
	if err := Run(context.Background(), te.Env); err != nil {
		if errors.Is(err, machine.ErrNoSandbox) {
			t.Skip(err)
		}
		t.Fatalf("%v\n%s", err, te.stdout.String())
	}
	out := te.stdout.String()
	re := regexp.MustCompile(`(?m)^\d+,vultr,artifact,0,id,([0-9a-f-]{36})$`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no artifact id line:\n%s", out)
	}
	for _, want := range []string{",vultr,artifact-count,1\n", ",vultr,artifact,0,builder-id,packer.vultr\n", ",vultr,artifact,0,string,Vultr Snapshot: My Awesome App (" + m[1] + ")\n", ",vultr,artifact,0,end\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("machine-readable output lacks %q", want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"build"}, "build takes exactly one template path"},
		{[]string{"build", "-on-error", "ask", "x.json"}, "-on-error=ask needs a terminal"},
		{[]string{"build", "-on-error", "retry", "x.json"}, `-on-error "retry": valid values are cleanup, abort, run-cleanup-provisioner and ask`},
		{[]string{"emulator", "-listen", "0.0.0.0:8080"}, "only on loopback"},
	}
	for _, tt := range tests {
		te := newEnv(tt.args, map[string]string{})
		err := Run(context.Background(), te.Env)
		if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v (exit %d), want usage error %q", tt.args, err, ExitCode(err), tt.want)
		}
	}
	te := newEnv([]string{"version"}, nil)
	if err := Run(context.Background(), te.Env); err != nil || te.stdout.String() != "vultr-image-action dev\n" {
		t.Errorf("version: %v %q", err, te.stdout.String())
	}
}

func emulatorOnly(t *testing.T) (*vultremu.Server, string) {
	t.Helper()
	srv := vultremu.New(vultremu.Options{APIKey: "CLI-TEST-KEY-123456"})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return srv, hs.URL
}

func TestPreflightFailureCreatesNothing(t *testing.T) {
	t.Parallel()
	srv, url := emulatorOnly(t)
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "bad.json")
	os.WriteFile(tmpl, []byte(`{"builders":[{"type":"vultr","region_id":"xyz","plan_id":"vc2-1c-1gbb","os_id":"999999","ssh_username":"root"}]}`), 0o644)
	te := newEnv([]string{"build", tmpl}, map[string]string{"VULTR_API_KEY": "CLI-TEST-KEY-123456", "VULTR_API_URL": url})
	err := Run(context.Background(), te.Env)
	if ExitCode(err) != ExitUsage {
		t.Fatalf("exit %d (%v), want 2", ExitCode(err), err)
	}
	out := te.stdout.String()
	for _, want := range []string{`unknown region "xyz"`, `unknown plan "vc2-1c-1gbb"`, "unknown os_id 999999", "bad.json:1:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, r := range srv.Requests() {
		if r.Method != "GET" {
			t.Errorf("pre-flight failure still sent %s %s", r.Method, r.Path)
		}
	}
	if len(srv.Instances())+len(srv.SSHKeys()) != 0 {
		t.Errorf("something was created")
	}
	if strings.Contains(out, "CLI-TEST-KEY-123456") {
		t.Errorf("API key in output")
	}
}

// Sweep acts only on what carries this tool's whole scheme, read on the
// client: the emulator's tag filter here matches substrings, as Vultr's
// undocumented one might.
func TestSweep(t *testing.T) {
	t.Parallel()
	srv := vultremu.New(vultremu.Options{APIKey: "CLI-TEST-KEY-123456", LooseTagFilter: true})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	url := hs.URL
	api := func(method, path, body string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer CLI-TEST-KEY-123456")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
		}
	}
	const pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG+bW2CJ2QnFBrlHq2yQKvbT3b4nTdnKvFMzbJm6yW4N"
	api("POST", "/v2/instances", `{"region":"ewr","plan":"vc2-1c-1gb","os_id":167,"label":"ours","tags":["vultr-image-action","vultr-image-action-run:1a2b3c4d:vultr"]}`)
	api("POST", "/v2/instances", `{"region":"ewr","plan":"vc2-1c-1gb","os_id":167,"label":"production","tags":["production"]}`)
	api("POST", "/v2/instances", `{"region":"ewr","plan":"vc2-1c-1gb","os_id":167,"label":"tool tag only","tags":["vultr-image-action"]}`)
	api("POST", "/v2/instances", `{"region":"ewr","plan":"vc2-1c-1gb","os_id":167,"label":"look-alike","tags":["vultr-image-action-builders"]}`)
	api("POST", "/v2/ssh-keys", `{"name":"vultr-image-action-1a2b3c4d-vultr","ssh_key":"`+pub+`"}`)
	api("POST", "/v2/ssh-keys", `{"name":"alice","ssh_key":"`+pub+`"}`)
	api("POST", "/v2/ssh-keys", `{"name":"vultr-image-action-deploy","ssh_key":"`+pub+`"}`)
	time.Sleep(10 * time.Millisecond)
	vars := map[string]string{"VULTR_API_KEY": "CLI-TEST-KEY-123456", "VULTR_API_URL": url}
	te := newEnv([]string{"sweep", "-older-than", "1ms"}, vars)
	if err := Run(context.Background(), te.Env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(te.stdout.String(), "2 resources would be deleted") || len(srv.Instances()) != 4 || len(srv.SSHKeys()) != 3 {
		t.Fatalf("dry run:\n%s", te.stdout.String())
	}
	te = newEnv([]string{"sweep", "-older-than", "1ms", "-yes"}, vars)
	if err := Run(context.Background(), te.Env); err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, in := range srv.Instances() {
		labels = append(labels, in.Label)
	}
	if got, want := strings.Join(labels, ","), "production,tool tag only,look-alike"; got != want {
		t.Errorf("sweep left instances %s, want %s", got, want)
	}
	var names []string
	for _, k := range srv.SSHKeys() {
		names = append(names, k.Name)
	}
	sort.Strings(names)
	if got, want := strings.Join(names, ","), "alice,vultr-image-action-deploy"; got != want {
		t.Errorf("sweep left keys %s, want %s", got, want)
	}
	// Young resources are left alone.
	api("POST", "/v2/instances", `{"region":"ewr","plan":"vc2-1c-1gb","os_id":167,"tags":["vultr-image-action","vultr-image-action-run:1a2b3c4e:vultr"]}`)
	te = newEnv([]string{"sweep", "-older-than", "1h", "-yes"}, vars)
	if err := Run(context.Background(), te.Env); err != nil || len(srv.Instances()) != 4 {
		t.Errorf("sweep deleted a fresh instance: %v, %d left", err, len(srv.Instances()))
	}
}

// A sweep whose look-up fails half way (instances listed, keys refused)
// says nothing was found and deletes nothing: a partial listing is never
// reported as "Deleting".
func TestSweepWithAFailedLookUpSaysNothing(t *testing.T) {
	t.Parallel()
	srv := vultremu.New(vultremu.Options{APIKey: "CLI-TEST-KEY-123456"})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v2/ssh-keys") {
			http.Error(w, `{"error":"Unauthorized IP address"}`, http.StatusUnauthorized)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { hs.Close(); srv.Close() })
	req := httptest.NewRequest("POST", "/v2/instances", strings.NewReader(`{"region":"ewr","plan":"vc2-1c-1gb","os_id":167,"tags":["vultr-image-action","vultr-image-action-run:1a2b3c4d:vultr"]}`))
	req.Header.Set("Authorization", "Bearer CLI-TEST-KEY-123456")
	srv.ServeHTTP(httptest.NewRecorder(), req)
	time.Sleep(10 * time.Millisecond)
	te := newEnv([]string{"sweep", "-older-than", "1ms", "-yes"}, map[string]string{"VULTR_API_KEY": "CLI-TEST-KEY-123456", "VULTR_API_URL": hs.URL})
	err := Run(context.Background(), te.Env)
	if err == nil || !strings.Contains(err.Error(), "list ssh keys") {
		t.Errorf("err = %v, want the failed key listing", err)
	}
	if out := te.stdout.String(); strings.Contains(out, "Deleting") || strings.Contains(out, "Deleted") {
		t.Errorf("a failed sweep reported resources:\n%s", out)
	}
	if n := len(srv.Instances()); n != 1 {
		t.Errorf("%d instances left, want 1", n)
	}
}

// cleanup deletes what it is named only when it carries this tool's
// scheme; -run finds a run's resources by the tags it reads itself.
func TestCleanupChecksWhatItDeletes(t *testing.T) {
	t.Parallel()
	srv := vultremu.New(vultremu.Options{APIKey: "CLI-TEST-KEY-123456", LooseTagFilter: true})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	api := func(body string) string {
		req := httptest.NewRequest("POST", "/v2/instances", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer CLI-TEST-KEY-123456")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var out struct{ Instance struct{ ID string } }
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code >= 300 {
			t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
		}
		return out.Instance.ID
	}
	ours := api(`{"region":"ewr","plan":"vc2-1c-1gb","os_id":167,"tags":["vultr-image-action","vultr-image-action-run:1a2b3c4d:web"]}`)
	keptOne := api(`{"region":"ewr","plan":"vc2-1c-1gb","os_id":167,"tags":["vultr-image-action","vultr-image-action-run:1a2b3c4d:db"]}`)
	other := api(`{"region":"ewr","plan":"vc2-1c-1gb","os_id":167,"tags":["vultr-image-action","vultr-image-action-run:1a2b3c4dd:web"]}`)
	prod := api(`{"region":"ewr","plan":"vc2-1c-1gb","os_id":167,"tags":["production"]}`)
	vars := map[string]string{"VULTR_API_KEY": "CLI-TEST-KEY-123456", "VULTR_API_URL": hs.URL}
	te := newEnv([]string{"cleanup", "-instance", prod}, vars)
	if err := Run(context.Background(), te.Env); err == nil || !strings.Contains(err.Error(), "not created by vultr-image-action") {
		t.Errorf("cleanup of a foreign instance: err = %v, want a refusal", err)
	}
	te = newEnv([]string{"cleanup", "-run", "1a2b3c4d", "-keep", keptOne}, vars)
	if err := Run(context.Background(), te.Env); err != nil {
		t.Fatal(err)
	}
	left := map[string]bool{}
	for _, in := range srv.Instances() {
		left[in.ID] = true
	}
	if left[ours] || !left[other] || !left[prod] || !left[keptOne] {
		t.Errorf("after cleanup -run -keep: ours left %v, other run's left %v, production left %v, kept left %v; want only ours gone", left[ours], left[other], left[prod], left[keptOne])
	}
	// A second cleanup of the same run finds nothing and succeeds.
	te = newEnv([]string{"cleanup", "-run", "1a2b3c4d", "-instance", ours}, vars)
	if err := Run(context.Background(), te.Env); err != nil {
		t.Errorf("second cleanup: %v", err)
	}
}

// TestEverythingTemplateBuilds runs a template with every JSON feature end
// to end against the built-in emulator: two builds in parallel, variables
// from -var and a var file, a sensitive variable, every provisioner type
// with only/override/retries, and a manifest and shell-local post-processor.
func TestEverythingTemplateBuilds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	marker := filepath.Join(dir, "marker")
	varFile := filepath.Join(dir, "vars.json")
	os.WriteFile(varFile, []byte(`{"version": "from-file", "region": "ewr"}`), 0o644)
	tmpl, _ := filepath.Abs("testdata/everything/template.json")
	te := newEnv([]string{"build", "-emulator", "-parallel-builds", "2", "-var-file", varFile, "-var", "version=3.1.4", "-var", "marker=" + marker, tmpl}, map[string]string{})
	te.Getwd = func() (string, error) { return dir, nil }
	err := Run(context.Background(), te.Env)
	if errors.Is(err, machine.ErrNoSandbox) {
		t.Skip(err)
	}
	out := te.stdout.String()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"--> web: Vultr Snapshot: web 3.1.4 (", "--> worker: Vultr Snapshot: worker 3.1.4 (", "setup on web", "setup on worker", "db password is ***"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "everything-db-secret") {
		t.Errorf("the sensitive variable leaked into the output")
	}
	m, err := os.ReadFile(marker)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"web\n", "worker\n", "post web ", "post worker "} {
		if !strings.Contains(string(m), want) {
			t.Errorf("shell-local marker lacks %q:\n%s", want, m)
		}
	}
	var man build.Manifest
	b, err := os.ReadFile(marker + ".manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	if len(man.Builds) != 2 || man.LastRunUUID == "" {
		t.Fatalf("manifest: %s", b)
	}
	for _, mb := range man.Builds {
		if mb.BuilderType != "vultr" || len(mb.ArtifactID) != 36 || mb.CustomData["version"] != "3.1.4" || mb.PackerRunUUID != man.LastRunUUID {
			t.Errorf("manifest build %+v", mb)
		}
	}
}

// TestEveryPreflightFailureCreatesNothing drives each pre-flight failure
// through the CLI: each is reported with its key, and nothing is created.
func TestEveryPreflightFailureCreatesNothing(t *testing.T) {
	t.Parallel()
	const key = "CLI-TEST-KEY-123456"
	builder := func(extra string) string {
		return `{"builders":[{"type":"vultr","ssh_username":"root",` + extra + `}]}`
	}
	tests := []struct {
		name, template, apiKey, want string
	}{
		{"bad key", builder(`"region_id":"ewr","plan_id":"vc2-1c-1gb","os_id":"2284"`), "WRONG-KEY-000000", "the API key was rejected (401 Invalid API token.)"},
		{"unknown region", builder(`"region_id":"xyz","plan_id":"vc2-1c-1gb","os_id":"2284"`), key, `unknown region "xyz"`},
		{"region by unknown city", builder(`"region_name":"Atlantis","plan_id":"vc2-1c-1gb","os_id":"2284"`), key, `no region is in "Atlantis"`},
		{"unknown plan", builder(`"region_id":"ewr","plan_id":"vc9-huge","os_id":"2284"`), key, `unknown plan "vc9-huge"`},
		{"plan not in region", builder(`"region_id":"ams","plan_id":"vc2-1c-0.5gb-v6","os_id":"2284"`), key, "plan vc2-1c-0.5gb-v6 is not available in ams"},
		{"unknown os", builder(`"region_id":"ewr","plan_id":"vc2-1c-1gb","os_id":"1"`), key, "unknown os_id 1"},
		{"unknown os name", builder(`"region_id":"ewr","plan_id":"vc2-1c-1gb","os_name":"Ubuntu 99.04"`), key, `no OS is named "Ubuntu 99.04"`},
		{"missing snapshot", builder(`"region_id":"ewr","plan_id":"vc2-1c-1gb","snapshot_id":"0b5a3c1e-1111-4222-8333-444455556666","ssh_password":"pw-123456"`), key, "snapshot 0b5a3c1e-1111-4222-8333-444455556666 does not exist"},
		{"snapshot by unknown name", builder(`"region_id":"ewr","plan_id":"vc2-1c-1gb","snapshot_name":"nope","ssh_password":"pw-123456"`), key, `no complete snapshot is described "nope"`},
	}
	for _, tt := range tests {
		srv, url := emulatorOnly(t)
		tmpl := filepath.Join(t.TempDir(), "t.json")
		os.WriteFile(tmpl, []byte(tt.template), 0o644)
		te := newEnv([]string{"build", tmpl}, map[string]string{"VULTR_API_KEY": tt.apiKey, "VULTR_API_URL": url})
		err := Run(context.Background(), te.Env)
		if ExitCode(err) != ExitUsage {
			t.Errorf("%s: exit %d (%v), want 2", tt.name, ExitCode(err), err)
		}
		if !strings.Contains(te.stdout.String(), tt.want) {
			t.Errorf("%s: output lacks %q:\n%s", tt.name, tt.want, te.stdout.String())
		}
		for _, r := range srv.Requests() {
			if r.Method != "GET" {
				t.Errorf("%s: pre-flight failure still sent %s %s", tt.name, r.Method, r.Path)
			}
		}
		if len(srv.Instances())+len(srv.SSHKeys()) != 0 {
			t.Errorf("%s: something was created", tt.name)
		}
	}
}

// TestIPv6OnlyPlanBuildsOverV6 builds on a plan without IPv4: SSH goes to
// v6_main_ip (the embedded emulator routes it to the machine).
func TestIPv6OnlyPlanBuildsOverV6(t *testing.T) {
	t.Parallel()
	tmpl := filepath.Join(t.TempDir(), "v6.json")
	os.WriteFile(tmpl, []byte(`{"builders":[{"type":"vultr","region_id":"ewr","plan_id":"vc2-1c-0.5gb-v6","os_id":"2284","ssh_username":"root","snapshot_description":"v6"}]}`), 0o644)
	out := buildOnEmulator(t, tmpl)
	if !regexp.MustCompile(`is active at 2001:db8:`).MatchString(out) || !strings.Contains(out, "--> vultr: Vultr Snapshot: v6 (") {
		t.Errorf("the build did not go over IPv6:\n%s", out)
	}
}

// TestSeedUpgradedToHCL2Builds converts the seed with hcl2_upgrade and
// builds the result end to end against the built-in emulator.
func TestSeedUpgradedToHCL2Builds(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "server.pkr.hcl")
	te := newEnv([]string{"hcl2_upgrade", "-output-file", out, "../../examples/server.json"}, map[string]string{})
	if err := Run(context.Background(), te.Env); err != nil {
		t.Fatal(err)
	}
	if got, want := te.stdout.String(), "Successfully created "+out+"\n"; got != want {
		t.Errorf("hcl2_upgrade said %q, want %q", got, want)
	}
	te = newEnv([]string{"validate", out}, map[string]string{})
	if err := Run(context.Background(), te.Env); err != nil || te.stdout.String() != "The configuration is valid.\n" {
		t.Fatalf("validate the HCL2 seed: %v %q", err, te.stdout.String())
	}
	if built := buildOnEmulator(t, out); !strings.Contains(built, "--> vultr: Vultr Snapshot: My Awesome App (") {
		t.Fatalf("build the HCL2 seed:\n%s", built)
	}
}

func TestFmt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	messy := "source \"vultr\" \"x\" {\nregion_id=\"ewr\"\n  plan_id =   \"vc2-1c-1gb\"\n}\n"
	tidy := "source \"vultr\" \"x\" {\n  region_id = \"ewr\"\n  plan_id   = \"vc2-1c-1gb\"\n}\n"
	p := filepath.Join(dir, "a.pkr.hcl")
	os.WriteFile(p, []byte(messy), 0o644)
	os.WriteFile(filepath.Join(dir, "ignored.txt"), []byte(messy), 0o644)
	te := newEnv([]string{"fmt", "-check", dir}, nil)
	if err := Run(context.Background(), te.Env); ExitCode(err) != 3 || !strings.Contains(te.stdout.String(), "a.pkr.hcl") {
		t.Errorf("fmt -check: exit %d, output %q; want 3 naming a.pkr.hcl", ExitCode(err), te.stdout.String())
	}
	if b, _ := os.ReadFile(p); string(b) != messy {
		t.Errorf("fmt -check wrote the file")
	}
	te = newEnv([]string{"fmt", "-diff", dir}, nil)
	if err := Run(context.Background(), te.Env); err != nil || !strings.Contains(te.stdout.String(), "+   region_id = \"ewr\"") {
		t.Errorf("fmt -diff: %v, %q", err, te.stdout.String())
	}
	if b, _ := os.ReadFile(p); string(b) != tidy {
		t.Errorf("fmt wrote %q, want %q", b, tidy)
	}
	te = newEnv([]string{"fmt", "-check", dir}, nil)
	if err := Run(context.Background(), te.Env); err != nil {
		t.Errorf("fmt -check of a formatted directory: %v", err)
	}
	te = newEnv([]string{"init", dir}, nil)
	if err := Run(context.Background(), te.Env); err != nil || !strings.Contains(te.stdout.String(), "no plugin to install") {
		t.Errorf("init: %v, %q", err, te.stdout.String())
	}
}

// validate warns about a shell-local step whose program this environment
// lacks (in the action: its image), and names it.
func TestValidateWarnsAboutMissingLocalPrograms(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "t.json")
	os.WriteFile(p, []byte(`{"builders":[{"type":"vultr","api_key":"k-123456","region_id":"ewr","plan_id":"vc2-1c-1gb","os_id":"2284","ssh_username":"root"}],
"provisioners":[{"type":"shell-local","inline_shebang":"/usr/bin/env no-such-interpreter-xyz","inline":["print(1)"]},
{"type":"shell-local","inline":["true"]}]}`), 0o644)
	te := newEnv([]string{"validate", p}, nil)
	if err := Run(context.Background(), te.Env); err != nil {
		t.Fatal(err)
	}
	out := te.stdout.String()
	if !strings.Contains(out, `shell-local provisioner 0 needs "no-such-interpreter-xyz"`) {
		t.Errorf("no warning naming the missing interpreter:\n%s", out)
	}
	if strings.Contains(out, "provisioner 1 needs") {
		t.Errorf("a warning for /bin/sh, which is here:\n%s", out)
	}
}

// TestISOBuild builds from one of Vultr's public ISOs (iso_id) on the
// embedded emulator: the pre-flight finds it in /v2/iso-public, the
// machine boots it, and, with no temporary key for an ISO (as in Packer),
// SSH uses the password of the ISO's own system (ssh_password).
func TestISOBuild(t *testing.T) {
	t.Parallel()
	tmpl := filepath.Join(t.TempDir(), "iso.json")
	os.WriteFile(tmpl, []byte(`{"builders":[{"type":"vultr","region_id":"ewr","plan_id":"vc2-1c-1gb","iso_id":"0f1d4a4c-5a6b-4c3e-9b21-3c1f7a2e8d01","ssh_username":"root","ssh_password":"live-debian","snapshot_description":"from iso"}],
  "provisioners":[{"type":"shell","inline":["echo installed > /root/iso.txt"]}]}`), 0o644)
	out := buildOnEmulator(t, tmpl)
	for _, want := range []string{"public ISO Debian 12", "--> vultr: Vultr Snapshot: from iso ("} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Created temporary SSH key") {
		t.Errorf("an ISO build registered a temporary key, which an ISO cannot use:\n%s", out)
	}
}

// A plan without IPv4, on a host that cannot reach IPv6 (a GitHub-hosted
// runner): the pre-flight fails against the emulator, naming the plan, and
// nothing is created.
func TestIPv6OnlyPlanWithoutARouteCreatesNothing(t *testing.T) {
	t.Parallel()
	srv := vultremu.New(vultremu.Options{APIKey: "CLI-TEST-KEY-V6-0001"})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	tmpl := filepath.Join(t.TempDir(), "v6.json")
	os.WriteFile(tmpl, []byte(`{"builders":[{"type":"vultr","region_id":"ewr","plan_id":"vc2-1c-0.5gb-v6","os_id":"2284","ssh_username":"root","snapshot_description":"v6"}]}`), 0o644)
	te := newEnv([]string{"build", tmpl}, map[string]string{"VULTR_API_KEY": "CLI-TEST-KEY-V6-0001", "VULTR_API_URL": hs.URL})
	te.IPv6Reachable = func() bool { return false }
	err := Run(context.Background(), te.Env)
	if code := ExitCode(err); code != ExitUsage {
		t.Errorf("exit %d (%v), want %d: nothing was created", code, err, ExitUsage)
	}
	if out := te.stdout.String() + te.stderr.String(); !strings.Contains(out, "plan vc2-1c-0.5gb-v6 has no IPv4 address, and this host cannot reach IPv6") {
		t.Errorf("the output does not name the problem:\n%s", out)
	}
	for _, r := range srv.Requests() {
		if r.Method == "POST" {
			t.Errorf("%s %s was sent before the pre-flight failed", r.Method, r.Path)
		}
	}
}

// buildOnEmulator runs build -emulator with args and returns its output;
// it skips where machines cannot be sandboxed and fails on a failed build.
func buildOnEmulator(t *testing.T, args ...string) string {
	t.Helper()
	te := newEnv(append([]string{"build", "-emulator"}, args...), map[string]string{})
	te.Getwd = func() (string, error) { return t.TempDir(), nil }
	err := Run(context.Background(), te.Env)
	if errors.Is(err, machine.ErrNoSandbox) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, te.stdout.String())
	}
	return te.stdout.String()
}

// A sensitive value that reaches a failing function while the template
// loads is masked in every command's report of it, on the command line and
// in the action's annotations: it is registered the moment it is read.
func TestSecretsInLoadErrorsAreMasked(t *testing.T) {
	t.Parallel()
	const secret = "not-base64-s3cr3t!value"
	dir := t.TempDir()
	hcl := `variable "db_password" {
  type      = string
  sensitive = true
}
variable "vault_json" {
  type      = map(string)
  sensitive = true
  default   = {}
}
locals {
  decoded = base64decode(var.db_password)
}
source "vultr" "x" {
  api_key   = "k-123456"
  region_id = "ewr"
  plan_id   = "vc2-1c-1gb"
  os_id     = 2284
  ssh_username = "root"
  snapshot_description = local.decoded
}
build { sources = ["source.vultr.x"] }
`
	tmpl := filepath.Join(dir, "t.pkr.hcl")
	if err := os.WriteFile(tmpl, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	varFile := filepath.Join(dir, "s.pkrvars.hcl")
	if err := os.WriteFile(varFile, []byte(`db_password = "`+secret+`"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"validate -var", []string{"validate", "-var", "db_password=" + secret, tmpl}, map[string]string{}},
		{"validate var file", []string{"validate", "-var-file", varFile, tmpl}, map[string]string{}},
		{"build", []string{"build", "-var", "db_password=" + secret, tmpl}, map[string]string{"VULTR_API_KEY": "k-123456"}},
		{"inspect", []string{"inspect", "-var", "db_password=" + secret, tmpl}, map[string]string{}},
		{"build in Actions", []string{"build", "-var-file", varFile, tmpl}, map[string]string{"GITHUB_ACTIONS": "true", "VULTR_API_KEY": "k-123456"}},
		{"PKR_VAR_", []string{"validate", tmpl}, map[string]string{"PKR_VAR_db_password": secret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			te := newEnv(tc.args, tc.env)
			err := Run(context.Background(), te.Env)
			if ExitCode(err) != ExitUsage {
				t.Fatalf("exit %d (%v), want 2", ExitCode(err), err)
			}
			out := te.stdout.String() + te.stderr.String()
			if !strings.Contains(out, "base64") {
				t.Fatalf("the load error is not shown:\n%s", out)
			}
			if strings.Contains(strings.ReplaceAll(out, "::add-mask::"+secret+"\n", ""), secret) {
				t.Errorf("the secret shows:\n%s", out)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the returned error holds the secret: %v", err)
			}
		})
	}
}

// console, as packer console: from a pipe, the last line's value, in the
// context of a directory template (variables, -var, locals, path.*, the
// functions); sensitive values masked; an expression that fails is an
// error on standard error, and the exit is non-zero.
func TestConsole(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "vars.pkr.hcl"), []byte(`variable "region" {
  type    = string
  default = "ewr"
}
variable "db_password" {
  type      = string
  sensitive = true
  default   = "console-s3cret-99"
}
locals {
  name = "app-${var.region}"
}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "main.pkr.hcl"), []byte("source \"null\" \"x\" {\n  communicator = \"none\"\n}\nbuild {\n  sources = [\"source.null.x\"]\n}\n"), 0o644)
	for _, tc := range []struct {
		name, input string
		args        []string
		want        string
		fails       bool
	}{
		{"a local", "local.name\n", nil, "app-ewr\n", false},
		{"the last line", "upper(var.region)\nlocal.name\n", []string{"-var", "region=fra"}, "app-fra\n", false},
		{"functions", "upper(var.region)\n", nil, "EWR\n", false},
		{"a list", "[1, 2]\n", nil, "[\n  1,\n  2\n]\n", false},
		{"path.root", "basename(path.root)\n", nil, filepath.Base(dir) + "\n", false},
		{"a sensitive value", "var.db_password\n", nil, "***\n", false},
		{"variables", "variables\n", nil, "var.db_password: \"***\"", false},
		{"exit", "local.name\nexit\nvar.region\n", nil, "app-ewr\n", false},
		{"an error", "nope(1)\n", nil, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			te := newEnv(append(append([]string{"console"}, tc.args...), dir), map[string]string{})
			te.Stdin = strings.NewReader(tc.input)
			err := Run(context.Background(), te.Env)
			if (err != nil) != tc.fails {
				t.Fatalf("err = %v\n%s", err, te.stderr.String())
			}
			if !strings.Contains(te.stdout.String(), tc.want) {
				t.Errorf("stdout %q, want %q", te.stdout.String(), tc.want)
			}
			if strings.Contains(te.stdout.String()+te.stderr.String(), "console-s3cret-99") {
				t.Error("the sensitive value shows")
			}
			if tc.fails && !strings.Contains(te.stderr.String(), "nope") {
				t.Errorf("stderr %q does not say what failed", te.stderr.String())
			}
		})
	}
}

// A secret a later line reads (vault()) is masked in the value printed at
// the end, even when that value came from an earlier line.
func TestConsoleMasksAtPrintTime(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/secret/data/app" && r.Header.Get("X-Vault-Token") == "tok" {
			w.Write([]byte(`{"data": {"data": {"db": "vault-s3cret-77"}}}`))
			return
		}
		http.Error(w, "forbidden", http.StatusForbidden)
	}))
	t.Cleanup(srv.Close)
	for input, want := range map[string]string{
		"vault(\"secret/data/app\", \"db\")\n":                             "***",
		"\"db=vault-s3cret-77\"\nvault(\"secret/data/app\", \"db\") * 2\n": "db=***",
	} {
		te := newEnv([]string{"console"}, map[string]string{"VAULT_ADDR": srv.URL, "VAULT_TOKEN": "tok"})
		te.Stdin = strings.NewReader(input)
		_ = Run(context.Background(), te.Env)
		if out := te.stdout.String() + te.stderr.String(); strings.Contains(out, "vault-s3cret-77") || !strings.Contains(te.stdout.String(), want) {
			t.Errorf("%q: output:\n%s", input, out)
		}
	}
}
