package main

// The template corpus: templates of our own that reproduce the patterns real
// public templates use (see ../shared/docs/real-world-templates.md). Each
// directory under testdata/corpus holds a template (template.json, or
// .pkr.hcl files), an optional `args` file (command-line flags, one per
// line) and an `expect` file that says what each build must leave in its
// image, and what it must not:
//
//	[web]                 the build named web (its -machine-readable name)
//	/root/web.txt = hi    the file exists and holds exactly "hi" ("=" alone: empty)
//	/etc/motd ~ hello     the file contains "hello"
//	/etc/motd !~ bye      the file exists and does not contain "bye"
//	! /root/db.txt        the file does not exist
//	skipped               no artifact: the build was filtered out
//	fails TEXT            the build fails, its log saying TEXT; the command
//	                      exits 1, and nothing temporary is left
//	snapshots N           the account holds N snapshots at the end
//	secret s3cr3t         no file anywhere in the image holds s3cr3t
//
// A `needs` file names programs the build needs on this machine, one a
// line (ansible-playbook): without one, the template is skipped with a
// message that names it, except in CI (CI=true), whose .ci/run installs
// them.
//
// The test builds each template with the compiled binary against the
// emulator, and reads the files from the snapshots' disks.

import (
	"bufio"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/socks5test"
)

// expectation is what one build's image must hold.
type expectation struct {
	skipped bool
	fails   string
	snaps   int // -1: not checked
	equal   map[string]string
	contain map[string]string
	lacks   map[string]string
	absent  []string
	secrets []string // no file anywhere in the image holds these
	// See corpus_setup_test.go.
	artifact  string
	local     map[string]string
	localHas  map[string][]string // a file here holds each
	localLack map[string][]string // a file here holds none
	verifies  []string            // verify-attestation runs: "OK ARGS" or "FAIL:TEXT ARGS"
	noTempKey bool
	proxied   bool
	logs      []string // the build's log holds each
}

func readExpect(t *testing.T, path string) map[string]*expectation {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]*expectation{}
	var cur *expectation
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			cur = &expectation{snaps: -1, equal: map[string]string{}, contain: map[string]string{}, lacks: map[string]string{}, local: map[string]string{}}
			out[strings.Trim(line, "[]")] = cur
		case cur == nil:
			t.Fatalf("%s:%d: a line before the first [build]", path, n)
		case line == "skipped":
			cur.skipped = true
		case strings.HasPrefix(line, "fails "):
			cur.fails = strings.TrimPrefix(line, "fails ")
		case strings.HasPrefix(line, "snapshots "):
			k, err := strconv.Atoi(strings.TrimPrefix(line, "snapshots "))
			if err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
			cur.snaps = k
		case strings.HasPrefix(line, "artifact "):
			cur.artifact = strings.TrimPrefix(line, "artifact ")
		case line == "no-temporary-key":
			cur.noTempKey = true
		case line == "proxied":
			cur.proxied = true
		case strings.HasPrefix(line, "log "):
			cur.logs = append(cur.logs, strings.TrimPrefix(line, "log "))
		case strings.HasPrefix(line, "local ") && strings.Contains(line, " !~ "):
			k, v, _ := strings.Cut(strings.TrimPrefix(line, "local "), " !~ ")
			if cur.localLack == nil {
				cur.localLack = map[string][]string{}
			}
			cur.localLack[k] = append(cur.localLack[k], v)
		case strings.HasPrefix(line, "verify "):
			cur.verifies = append(cur.verifies, strings.TrimPrefix(line, "verify "))
		case strings.HasPrefix(line, "local ") && strings.Contains(line, " ~ "):
			k, v, _ := strings.Cut(strings.TrimPrefix(line, "local "), " ~ ")
			if cur.localHas == nil {
				cur.localHas = map[string][]string{}
			}
			cur.localHas[k] = append(cur.localHas[k], v)
		case strings.HasPrefix(line, "local ") && strings.Contains(line, " = "):
			k, v, _ := strings.Cut(strings.TrimPrefix(line, "local "), " = ")
			cur.local[k] = v
		case strings.HasPrefix(line, "secret "):
			cur.secrets = append(cur.secrets, strings.TrimPrefix(line, "secret "))
		case strings.HasPrefix(line, "!"):
			cur.absent = append(cur.absent, strings.TrimSpace(line[1:]))
		case strings.Contains(line, " = ") || strings.HasSuffix(line, " ="):
			k, v, _ := strings.Cut(line+" ", " = ")
			cur.equal[k] = strings.TrimSpace(v)
		case strings.Contains(line, " !~ "):
			k, v, _ := strings.Cut(line, " !~ ")
			cur.lacks[k] = v
		case strings.Contains(line, " ~ "):
			k, v, _ := strings.Cut(line, " ~ ")
			cur.contain[k] = v
		default:
			t.Fatalf("%s:%d: cannot read %q", path, n, line)
		}
	}
	return out
}

// expectsFailure reports whether the expect file wants a build to fail,
// and the command failed as a failed build does (exit 1).
func expectsFailure(t *testing.T, r *corpusRun) bool {
	t.Helper()
	var exit *exec.ExitError
	if !errors.As(r.err, &exit) || exit.ExitCode() != 1 {
		return false
	}
	for _, exp := range readExpect(t, filepath.Join(r.abs, "expect")) {
		if exp.fails != "" {
			return true
		}
	}
	return false
}

// artifacts reads the snapshot IDs from -machine-readable output.
func artifacts(out string) map[string]string {
	ids := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, ",")
		if len(f) == 6 && f[2] == "artifact" && f[4] == "id" {
			ids[f[1]] = f[5]
		}
	}
	return ids
}

// corpusRun is one corpus template's build.
type corpusRun struct {
	name, abs string
	args      []string
	e         *emu
	cmd       *exec.Cmd
	done      chan struct{}
	out       []byte
	err       error
	missing   string // a program from `needs` that this machine lacks
	proxy     *socks5test.Server
	// accountKeys are the keys setup put in the account (its own).
	accountKeys []string
}

// corpusParallel bounds the builds that run at once: they wait on the
// emulator's delays and on SSH far more than they use the CPU, so more
// than the test runner's -parallel (GOMAXPROCS) fit.
const corpusParallel = 6

func TestCorpus(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob("testdata/corpus/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no corpus (%v)", err)
	}
	// Start every build (at most corpusParallel at once), then check each
	// in its own subtest.
	sem := make(chan struct{}, corpusParallel)
	var runs []*corpusRun
	for _, dir := range dirs {
		r := prepareCorpusRun(t, dir)
		runs = append(runs, r)
		if r.missing != "" {
			close(r.done)
			continue
		}
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			defer close(r.done)
			timer := time.AfterFunc(3*time.Minute, func() { _ = r.cmd.Process.Kill() })
			defer timer.Stop()
			r.out, r.err = r.cmd.CombinedOutput()
		}()
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			<-r.done
			if r.missing != "" {
				if os.Getenv("CI") == "true" {
					t.Fatalf("needs %s, which .ci/run installs", r.missing)
				}
				t.Skipf("needs %s, which this machine lacks (apt-get install ansible-core; .ci/run installs it)", r.missing)
			}
			if r.err != nil && !expectsFailure(t, r) {
				t.Fatalf("build %s: %v\n%s", strings.Join(r.args, " "), r.err, r.out)
			}
			checkCorpusRun(t, r)
		})
	}
}

// prepareCorpusRun copies a corpus directory (builds write manifests into
// their working directory), starts its emulator, and makes its command.
func prepareCorpusRun(t *testing.T, dir string) *corpusRun {
	t.Helper()
	r := &corpusRun{name: filepath.Base(dir), done: make(chan struct{})}
	if b, err := os.ReadFile(filepath.Join(dir, "needs")); err == nil {
		for _, prog := range strings.Fields(string(b)) {
			if _, err := exec.LookPath(prog); err != nil {
				r.missing = prog
				return r
			}
		}
	}
	r.e = startEmulator(t, "", fastDelays)
	r.abs = filepath.Join(t.TempDir(), r.name)
	if err := os.CopyFS(r.abs, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	// The template: named in a `template` file (a path from the corpus
	// directory, which is the working directory, as a repository root is),
	// else template.json, else the directory.
	tmpl := "."
	if _, err := os.Stat(filepath.Join(r.abs, "template.json")); err == nil {
		tmpl = "template.json"
	}
	if b, err := os.ReadFile(filepath.Join(r.abs, "template")); err == nil {
		tmpl = strings.TrimSpace(string(b))
	}
	r.args = []string{"build", "-machine-readable"}
	if b, err := os.ReadFile(filepath.Join(r.abs, "args")); err == nil {
		for _, a := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if a = strings.TrimSpace(a); a != "" {
				r.args = append(r.args, a)
			}
		}
	}
	r.args = append(r.args, tmpl)
	r.cmd = exec.Command(binary, r.args...)
	r.cmd.Dir = r.abs
	// Files under http/ are served for data "http" sources.
	web := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(r.abs, "http"))))
	t.Cleanup(web.Close)
	r.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "VULTR_API_KEY=" + r.e.key, "VULTR_API_URL=" + r.e.url, "CORPUS_HTTP=" + web.URL}
	r.cmd.Env = append(r.cmd.Env, corpusSetup(t, r)...)
	return r
}

// checkCorpusRun compares a finished build with its expect file.
func checkCorpusRun(t *testing.T, r *corpusRun) {
	t.Helper()
	ids := artifacts(string(r.out))
	want := readExpect(t, filepath.Join(r.abs, "expect"))
	for build, exp := range want {
		id, ok := ids[build]
		if exp.snaps >= 0 {
			if n := len(r.e.srv.Snapshots()); n != exp.snaps {
				t.Errorf("build %s: the account holds %d snapshots, want %d", build, n, exp.snaps)
			}
		}
		if exp.fails != "" {
			if !strings.Contains(string(r.out), exp.fails) {
				t.Errorf("build %s: the log does not say %q:\n%s", build, exp.fails, r.out)
			}
			if r.err == nil {
				t.Errorf("build %s succeeded; want it to fail", build)
			}
			checkExtras(t, r, build, id, exp)
			continue
		}
		if exp.skipped {
			if ok {
				t.Errorf("build %s ran (snapshot %s); want it skipped", build, id)
			}
			continue
		}
		if !ok {
			t.Errorf("build %s made no snapshot; artifacts %v\n%s", build, ids, r.out)
			continue
		}
		checkExtras(t, r, build, id, exp)
		if exp.artifact != "" {
			if id != exp.artifact {
				t.Errorf("build %s: artifact %q, want %q", build, id, exp.artifact)
			}
			continue
		}
		check(t, r.e, build, id, exp)
	}
	for build := range ids {
		if want[build] == nil {
			t.Errorf("build %s made a snapshot that expect does not describe", build)
		}
	}
	checkConsole(t, r)
	forgetAccountKeys(t, r)
	assertNothingLeft(t, r.e)
}

// check compares a build's image with its expectation.
func check(t *testing.T, e *emu, build, id string, exp *expectation) {
	t.Helper()
	read := func(p string) (string, bool) {
		dir, ok := e.ms.SnapshotDir(id)
		if !ok {
			return "", false
		}
		for _, layer := range []string{"upper", "fs"} {
			if b, err := os.ReadFile(filepath.Join(dir, layer, p)); err == nil {
				return string(b), true
			}
		}
		return "", false
	}
	for p, v := range exp.equal {
		got, ok := read(p)
		if !ok {
			t.Errorf("%s: %s is not in the image", build, p)
		} else if strings.TrimRight(got, "\n") != v {
			t.Errorf("%s: %s = %q, want %q", build, p, strings.TrimRight(got, "\n"), v)
		}
	}
	for p, v := range exp.contain {
		got, ok := read(p)
		if !ok || !strings.Contains(got, v) {
			t.Errorf("%s: %s (present %v) does not contain %q: %q", build, p, ok, v, got)
		}
	}
	for p, v := range exp.lacks {
		got, ok := read(p)
		if !ok || strings.Contains(got, v) {
			t.Errorf("%s: %s (present %v) contains %q; want it gone", build, p, ok, v)
		}
	}
	for _, sec := range exp.secrets {
		if dir, ok := e.ms.SnapshotDir(id); !ok || treeHolds(dir, sec) {
			t.Errorf("%s: the image holds the secret %q (or has no disk: %v)", build, sec, !ok)
		}
	}
	for _, p := range exp.absent {
		if _, ok := read(p); ok {
			t.Errorf("%s: %s is in the image; want it absent", build, p)
		}
	}
}
