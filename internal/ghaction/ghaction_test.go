package ghaction

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

type env map[string]string

func (e env) get(k string) string { return e[k] }

func newTest(t *testing.T, vars env) (*Action, *bytes.Buffer, string) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{"GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"} {
		if _, ok := vars[k]; !ok {
			vars[k] = filepath.Join(dir, k)
		}
	}
	var out bytes.Buffer
	return New(&out, vars.get), &out, dir
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInputKeepsHyphens(t *testing.T) {
	t.Parallel()
	a, _, _ := newTest(t, env{"INPUT_API-KEY": "  k3y  ", "INPUT_API_KEY": "wrong", "INPUT_TEMPLATE": "packer/server.json"})
	if got, want := a.Input("api-key"), "k3y"; got != want {
		t.Errorf("Input(api-key) = %q, want %q", got, want)
	}
	if got, want := a.Input("template"), "packer/server.json"; got != want {
		t.Errorf("Input(template) = %q, want %q", got, want)
	}
	if got := a.Input("missing"); got != "" {
		t.Errorf("Input(missing) = %q, want empty", got)
	}
}

func TestBoolInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value   string
		def     bool
		want    bool
		wantErr bool
	}{
		{"", true, true, false},
		{"", false, false, false},
		{"true", false, true, false},
		{"True", false, true, false},
		{"TRUE", false, true, false},
		{"false", true, false, false},
		{"False", true, false, false},
		{"FALSE", true, false, false},
		{"yes", false, false, true},
		{"1", false, false, true},
		{"tRue", false, false, true},
	}
	for _, tt := range tests {
		a, _, _ := newTest(t, env{"INPUT_FLAG": tt.value})
		got, err := a.BoolInput("flag", tt.def)
		if (err != nil) != tt.wantErr {
			t.Errorf("BoolInput(%q) err = %v, wantErr %v", tt.value, err, tt.wantErr)
			continue
		}
		var ie *InputError
		if err != nil && !errors.As(err, &ie) {
			t.Errorf("BoolInput(%q) err %T is not *InputError", tt.value, err)
		}
		if got != tt.want {
			t.Errorf("BoolInput(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestListInput(t *testing.T) {
	t.Parallel()
	a, _, _ := newTest(t, env{"INPUT_VARIABLES": "region=ewr\n\n  # comment\n plan=vc2 \r\n", "INPUT_ONLY": "a, b\nc"})
	got, err := a.ListInput("variables", false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"region=ewr", "plan=vc2"}; !equal(got, want) {
		t.Errorf("ListInput(variables) = %q, want %q", got, want)
	}
	got, err = a.ListInput("only", true)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c"}; !equal(got, want) {
		t.Errorf("ListInput(only) = %q, want %q", got, want)
	}
}

func TestOversizedInput(t *testing.T) {
	t.Parallel()
	a, _, _ := newTest(t, env{"INPUT_VARIABLES": string(bytes.Repeat([]byte("x"), MaxInputBytes+1))})
	_, err := a.ListInput("variables", false)
	var ie *InputError
	if !errors.As(err, &ie) || ie.Input != "variables" {
		t.Fatalf("err = %v, want *InputError for variables", err)
	}
}

func TestFileCommands(t *testing.T) {
	t.Parallel()
	a, _, dir := newTest(t, env{})
	if err := a.SetOutput("snapshot-id", "0b5a3c1e-1111-2222-3333-444455556666"); err != nil {
		t.Fatal(err)
	}
	if err := a.SaveState("instance_ids", "abc,def"); err != nil {
		t.Fatal(err)
	}
	if err := a.AddStepSummary("| a | b |"); err != nil {
		t.Fatal(err)
	}
	const d = "_GitHubActionsFileCommandDelimeter_"
	if got, want := read(t, filepath.Join(dir, "GITHUB_OUTPUT")), "snapshot-id<<"+d+"\n0b5a3c1e-1111-2222-3333-444455556666\n"+d+"\n"; got != want {
		t.Errorf("GITHUB_OUTPUT = %q, want %q", got, want)
	}
	if got, want := read(t, filepath.Join(dir, "GITHUB_STATE")), "instance_ids<<"+d+"\nabc,def\n"+d+"\n"; got != want {
		t.Errorf("GITHUB_STATE = %q, want %q", got, want)
	}
	if got, want := read(t, filepath.Join(dir, "GITHUB_STEP_SUMMARY")), "| a | b |\n"; got != want {
		t.Errorf("GITHUB_STEP_SUMMARY = %q, want %q", got, want)
	}
}

func TestFileCommandErrorsInsteadOfPanic(t *testing.T) {
	t.Parallel()
	a, _, dir := newTest(t, env{"GITHUB_OUTPUT": ""})
	if err := a.SetOutput("x", "y"); !errors.Is(err, ErrNoFileCommand) {
		t.Errorf("unset GITHUB_OUTPUT: err = %v, want ErrNoFileCommand", err)
	}
	b, _, _ := newTest(t, env{"GITHUB_STATE": filepath.Join(dir, "no", "such", "dir", "state")})
	if err := b.SaveState("x", "y"); err == nil {
		t.Errorf("unwritable GITHUB_STATE: err = nil, want an error")
	}
	c, _, _ := newTest(t, env{})
	if err := c.SetOutput("x", "a\n_GitHubActionsFileCommandDelimeter_\ny"); err == nil {
		t.Errorf("value with the delimiter: err = nil, want an error")
	}
}

func TestStateReadsSTATEVars(t *testing.T) {
	t.Parallel()
	a, _, _ := newTest(t, env{"STATE_instance_ids": "i-1,i-2"})
	if got, want := a.State("instance_ids"), "i-1,i-2"; got != want {
		t.Errorf("State = %q, want %q", got, want)
	}
}

func TestStdoutCommands(t *testing.T) {
	t.Parallel()
	a, out, _ := newTest(t, env{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.Mask("line1\nline2"))
	must(a.Group("ewr: create instance"))
	must(a.EndGroup())
	must(a.Annotate(LevelError, "builders[0].plan_idd: unknown key\nsecond line 100%", Location{File: "packer/server.json", Line: 9, Col: 5, Title: "Template error"}))
	must(a.Annotate(LevelWarning, "region_code is deprecated", Location{File: "a,b:c.json", Line: 3}))
	must(a.Debug("GET /v2/instances/x 200"))
	want := "::add-mask::line1\n" +
		"::add-mask::line2\n" +
		"::group::ewr: create instance\n" +
		"::endgroup::\n" +
		"::error col=5,file=packer/server.json,line=9,title=Template error::builders[0].plan_idd: unknown key%0Asecond line 100%25\n" +
		"::warning file=a%2Cb%3Ac.json,line=3::region_code is deprecated\n" +
		"::debug::GET /v2/instances/x 200\n"
	if got := out.String(); got != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteFailureIsAnError(t *testing.T) {
	t.Parallel()
	a := New(failWriter{}, env{}.get)
	if err := a.Group("x"); err == nil {
		t.Errorf("Group on a failing writer: err = nil, want an error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
