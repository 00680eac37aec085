package hcl2template

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
)

// The library has exactly the functions Packer 1.16 registers: a function
// Packer has and we lack fails here, and so does one we invent.
func TestFunctionLibrary(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/packer-1.16-functions.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			want = append(want, line)
		}
	}
	l := &loader{opts: decode.Options{Getenv: func(string) string { return "" }}}
	var got []string
	for name := range l.functions(false) {
		if name != "env" { // Packer's too, but only in variable defaults
			got = append(got, name)
		}
	}
	sort.Strings(got)
	if g, w := strings.Join(got, " "), strings.Join(want, " "); g != w {
		missing, extra := diff(want, got), diff(got, want)
		t.Errorf("function library differs from Packer 1.16's:\nmissing: %v\nnot in Packer: %v", missing, extra)
	}
}

func diff(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

func eval(t *testing.T, l *loader, src string) (string, error) {
	t.Helper()
	expr, diags := hclsyntax.ParseExpression([]byte(src), "test.hcl", hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		t.Fatalf("%s: %v", src, diags)
	}
	v, diags := expr.Value(&hcl.EvalContext{Functions: l.functions(false), Variables: map[string]cty.Value{"path": l.pathObject()}})
	if diags.HasErrors() {
		return "", diags
	}
	if v.Type() == cty.String {
		return v.AsString(), nil
	}
	b, err := ctyjson.Marshal(v, v.Type())
	return string(b), err
}

func TestFunctions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "greeting.tpl"), []byte("hello ${name}, ${upper(name)}"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.sh"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.sh"), []byte("y"), 0o644)
	cwd := t.TempDir()
	os.WriteFile(filepath.Join(cwd, "blob.bin"), []byte("cwd file"), 0o644)
	now := time.Date(2026, 11, 30, 5, 23, 49, 0, time.UTC)
	l := &loader{dir: dir, opts: decode.Options{Now: now, Cwd: cwd, Getenv: func(string) string { return "" }}}
	tests := []struct{ expr, want string }{
		{`flatten([["a", "b"], ["c"], []])`, `["a","b","c"]`},
		{`try(local.missing, "fallback")`, `fallback`},
		{`can(regex("^[a-z]+$", "abc"))`, `true`},
		{`regex("v([0-9]+)", "v42")`, `["42"]`},
		{`regexall("[0-9]", "a1b2")`, `["1","2"]`},
		{`sha256("abc")`, `ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad`},
		{`md5("abc")`, `900150983cd24fb0d6963f7d28e17f72`},
		{`yamldecode("a: 1")`, `{"a":1}`},
		{`yamlencode({a = "b"})`, "\"a\": \"b\"\n"},
		{`base64decode("aGVsbG8=")`, `hello`},
		{`element(["a", "b", "c"], 4)`, `b`},
		{`keys({b = 1, a = 2})`, `["a","b"]`},
		{`values({b = 1, a = 2})`, `[2,1]`},
		{`startswith("vultr-web", "vultr-")`, `true`},
		{`endswith("web.pkr.hcl", ".hcl")`, `true`},
		{`strcontains("abc", "d")`, `false`},
		{`alltrue([true, true])`, `true`},
		{`anytrue([false, true])`, `true`},
		{`sum([1, 2, 3.5])`, `6.5`},
		{`index(["a", "b"], "b")`, `1`},
		{`length("héllo")`, `5`},
		{`length([1, 2])`, `2`},
		{`legacy_isotime("2006-01-02")`, `2026-11-30`},
		{`legacy_strftime("%Y%m%d-%H%M")`, `20261130-0523`},
		{`formatdate("YYYY-MM-DD", timestamp())`, `2026-11-30`},
		{`rfc3339_parse("2026-11-30T05:23:49Z").year_day`, `334`},
		{`unix_timestamp_parse(0).year`, `1970`},
		{`uuidv5("dns", "example.com")`, `cfbff0d1-9375-5685-968c-48ce8b15ae17`},
		{`textencodebase64("hi", "UTF-16LE")`, `aABpAA==`},
		{`textdecodebase64("aABpAA==", "UTF-16LE")`, `hi`},
		{`templatefile("greeting.tpl", {name = "ann"})`, `hello ann, ANN`},
		{`fileset(path.root, "*.sh")`, `["a.sh","b.sh"]`},
		{`file("a.sh")`, `x`},
		{`fileexists("b.sh")`, `true`},
		{`filebase64("blob.bin")`, `Y3dkIGZpbGU=`},
		{`cidrsubnet("10.0.0.0/16", 8, 2)`, `10.0.2.0/24`},
		{`convert("1", number)`, `1`},
	}
	for _, tt := range tests {
		got, err := eval(t, l, tt.expr)
		if err != nil {
			t.Errorf("%s: %v", tt.expr, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s = %q, want %q", tt.expr, got, tt.want)
		}
	}
	if got, _ := eval(t, l, `path.cwd`); got != filepath.ToSlash(cwd) {
		t.Errorf("path.cwd = %q, want %q", got, cwd)
	}
}

func TestServiceFunctions(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/secret/data/app" && r.Header.Get("X-Vault-Token") == "tok":
			w.Write([]byte(`{"data": {"data": {"db": "vault-secret-1"}}}`))
		case r.URL.Path == "/v1/kv/app/region" && r.URL.RawQuery == "raw":
			w.Write([]byte("ewr"))
		default:
			http.Error(w, "forbidden", http.StatusForbidden)
		}
	}))
	defer srv.Close()
	env := map[string]string{"VAULT_ADDR": srv.URL, "VAULT_TOKEN": "tok", "CONSUL_HTTP_ADDR": srv.URL}
	l := &loader{opts: decode.Options{Getenv: func(k string) string { return env[k] }}}
	if got, err := eval(t, l, `vault("secret/data/app", "db")`); err != nil || got != "vault-secret-1" {
		t.Errorf("vault = %q, %v", got, err)
	}
	if got, err := eval(t, l, `consul_key("app/region")`); err != nil || got != "ewr" {
		t.Errorf("consul_key = %q, %v", got, err)
	}
	if s := l.secrets.all(); len(s) != 2 || s[0] != "vault-secret-1" {
		t.Errorf("values read from services are not registered as secrets: %v", s)
	}
	bare := &loader{opts: decode.Options{Getenv: func(string) string { return "" }}}
	for expr, want := range map[string]string{
		`vault("secret/data/app", "db")`:  "VAULT_ADDR and VAULT_TOKEN",
		`consul_key("app/region")`:        "CONSUL_HTTP_ADDR",
		`aws_secretsmanager("app", "db")`: "not supported by vultr-image-action",
	} {
		if _, err := eval(t, bare, expr); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s without its environment: err = %v, want one that says %q", expr, err, want)
		}
	}
}

// A template rendered twice in one command (the retention probe) asks its
// data sources and services once.
func TestFetchesAreRememberedAcrossRenderings(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"version": "1.2.3"}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "t.pkr.hcl")
	os.WriteFile(tmpl, []byte(`data "http" "v" {
  url = "`+srv.URL+`/v.json"
}
source "vultr" "x" {
  api_key              = "k-123456"
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "app ${jsondecode(data.http.v.body).version}"
}
build {
  sources = ["source.vultr.x"]
}
`), 0o644)
	o := options()
	o.Fetches = &decode.Fetches{}
	for i := 0; i < 2; i++ {
		s, err := Load(tmpl, o)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Builds[0].Vultr.SnapshotDescription; got != "app 1.2.3" {
			t.Fatalf("description %q", got)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the data source was asked %d times, want once", n)
	}
}
