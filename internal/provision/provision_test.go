package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/remote"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// fakeComm records commands and writes uploads into a local "remote" root;
// "rm -rf" removes from that root, so tests can look at what a machine's
// disk still holds.
type fakeComm struct {
	mu      sync.Mutex
	root    string
	cmds    []string
	stdins  []string
	uploads map[string]fs.FileMode
	// results returns the error for a command; nil means success.
	results func(cmd string) error
	// removes makes "rm -rf" remove files from root.
	removes bool
}

func newFake(t *testing.T) *fakeComm {
	return &fakeComm{root: t.TempDir(), uploads: map[string]fs.FileMode{}}
}

func (f *fakeComm) local(p string) string { return filepath.Join(f.root, filepath.FromSlash(p)) }

func (f *fakeComm) Run(_ context.Context, cmd string, stdin io.Reader, stdout, _ io.Writer) error {
	in := ""
	if stdin != nil {
		b, _ := io.ReadAll(stdin)
		in = string(b)
	}
	f.mu.Lock()
	f.cmds = append(f.cmds, cmd)
	f.stdins = append(f.stdins, in)
	f.mu.Unlock()
	if f.results != nil {
		if err := f.results(cmd); err != nil {
			return err
		}
	}
	if rest, ok := strings.CutPrefix(cmd, "rm -rf "); ok && f.removes {
		for _, a := range strings.Fields(rest) {
			_ = os.RemoveAll(f.local(strings.Trim(a, "'")))
		}
	}
	return nil
}

func (f *fakeComm) Upload(_ context.Context, dst string, r io.Reader, mode fs.FileMode, _ int64) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.local(dst)), 0o755); err != nil {
		return err
	}
	f.mu.Lock()
	f.uploads[dst] = mode
	f.mu.Unlock()
	return os.WriteFile(f.local(dst), b, mode)
}

func (f *fakeComm) UploadFile(ctx context.Context, src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	fi, _ := os.Stat(src)
	return f.Upload(ctx, dst, bytes.NewReader(b), fi.Mode(), int64(len(b)))
}

func (f *fakeComm) UploadDir(ctx context.Context, src, dst string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		return f.UploadFile(ctx, p, filepath.ToSlash(filepath.Join(dst, rel)))
	})
}

func (f *fakeComm) Download(_ context.Context, src string, w io.Writer) error {
	b, err := os.ReadFile(f.local(src))
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func (f *fakeComm) DownloadFile(ctx context.Context, src, dst string) error {
	var b bytes.Buffer
	if err := f.Download(ctx, src, &b); err != nil {
		return err
	}
	return os.WriteFile(dst, b.Bytes(), 0o644)
}

func (f *fakeComm) DownloadDir(_ context.Context, src, dst string) error {
	return filepath.Walk(f.local(src), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(f.local(src), p)
		_ = os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755)
		b, _ := os.ReadFile(p)
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}

func env(c Communicator) *Env {
	return &Env{BuildName: "web", BuilderType: "vultr", Comm: c, Rand: func() int { return 42 }, Sleep: func(context.Context, time.Duration) error { return nil }}
}

func TestShellInlineCommandAndCleanup(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	p := spec.Provisioner{Index: 0, Type: "shell", Config: &spec.Shell{
		Inline:          []string{"echo one", "echo two"},
		EnvironmentVars: []string{"A=1", "QUOTED=it's here"},
		Env:             map[string]string{"A": "from-env"},
	}}
	if err := Run(context.Background(), p, env(f)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"chmod +x /tmp/script_42.sh; A='from-env' PACKER_BUILDER_TYPE='vultr' PACKER_BUILD_NAME='web' QUOTED='it'\"'\"'s here'  /tmp/script_42.sh",
		"rm -rf '/tmp/script_42.sh'",
	}
	if strings.Join(f.cmds, "\n") != strings.Join(want, "\n") {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(f.cmds, "\n"), strings.Join(want, "\n"))
	}
	body, _ := os.ReadFile(f.local("/tmp/script_42.sh"))
	if got, want := string(body), "#!/bin/sh -e\necho one\necho two\n"; got != want {
		t.Errorf("script = %q, want %q", got, want)
	}
	if f.uploads["/tmp/script_42.sh"] != 0o755 {
		t.Errorf("script mode %v", f.uploads["/tmp/script_42.sh"])
	}
}

// TestVarsSurviveARealShell renders the Vars of hostile values and lets
// /bin/sh read them back.
func TestVarsSurviveARealShell(t *testing.T) {
	t.Parallel()
	values := map[string]string{"Q": `it's "quoted"`, "D": "$HOME `id` $(id)", "S": "a b  c", "N": "line1\nline2"}
	vars := envVars("", nil, values, &Env{BuildName: "b", BuilderType: "vultr"})
	out, err := exec.Command("/bin/sh", "-c", vars+" env").Output()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range values {
		if !strings.Contains(string(out), k+"="+v+"\n") {
			t.Errorf("%s: %q not found in\n%s", k, v, out)
		}
	}
}

func TestShellExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		result  error
		valid   []int
		expect  bool
		wantErr string
	}{
		{"ok", nil, nil, false, ""},
		{"status 3 invalid", &remote.ExitError{Status: 3}, nil, false, "script exited with status 3; valid exit codes: [0]"},
		{"status 3 valid", &remote.ExitError{Status: 3}, []int{0, 3}, false, ""},
		{"disconnect unexpected", fmt.Errorf("x: %w", remote.ErrDisconnected), nil, false, "script disconnected unexpectedly"},
		{"disconnect expected", fmt.Errorf("x: %w", remote.ErrDisconnected), nil, true, ""},
	}
	for _, tt := range tests {
		f := newFake(t)
		f.results = func(cmd string) error {
			if strings.HasPrefix(cmd, "chmod") {
				return tt.result
			}
			return nil
		}
		e := env(f)
		reconnected := false
		e.Reconnect = func(context.Context) (Communicator, error) { reconnected = true; return f, nil }
		p := spec.Provisioner{Index: 2, Type: "shell", Pos: spec.Pos{File: "t.json", Line: 9, Col: 5}, Config: &spec.Shell{Inline: []string{"x"}, ValidExitCodes: tt.valid, ExpectDisconnect: tt.expect}}
		err := Run(context.Background(), p, e)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "":
			var pe *Error
			if !errors.As(err, &pe) || pe.Index != 2 || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "provisioner 2 (shell) at t.json:9:5") {
				t.Errorf("%s: err = %v, want %q with the provisioner's place", tt.name, err, tt.wantErr)
			}
		}
		if tt.expect && !reconnected {
			t.Errorf("%s: did not reconnect", tt.name)
		}
	}
}

func TestRetriesAndTimeout(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	calls := 0
	f.results = func(cmd string) error {
		if strings.HasPrefix(cmd, "chmod") {
			calls++
			if calls < 3 {
				return &remote.ExitError{Status: 1}
			}
		}
		return nil
	}
	p := spec.Provisioner{Type: "shell", MaxRetries: 2, Config: &spec.Shell{Inline: []string{"x"}}}
	if err := Run(context.Background(), p, env(f)); err != nil {
		t.Fatalf("third attempt should pass: %v", err)
	}
	if calls != 3 {
		t.Errorf("attempts = %d, want 3", calls)
	}
	// pause_before goes through the injected sleep.
	var slept []time.Duration
	e := env(newFake(t))
	e.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	_ = Run(context.Background(), spec.Provisioner{Type: "shell", PauseBefore: 3 * time.Second, Config: &spec.Shell{Inline: []string{"x"}, PauseAfter: time.Second}}, e)
	if fmt.Sprint(slept) != "[3s 1s]" {
		t.Errorf("slept %v, want [3s 1s]", slept)
	}
}

func TestFileDirectorySemantics(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "conf"), 0o755))
	must(os.WriteFile(filepath.Join(src, "conf", "a.txt"), []byte("a"), 0o644))
	must(os.WriteFile(filepath.Join(src, "single.txt"), []byte("s"), 0o600))
	tests := []struct {
		name   string
		source string
		dest   string
		want   string
	}{
		{"dir without slash copies the dir", filepath.Join(src, "conf"), "/etc/app", "/etc/app/conf/a.txt"},
		{"dir with slash copies contents", filepath.Join(src, "conf") + "/", "/etc/app", "/etc/app/a.txt"},
		{"file to dir slash keeps name", filepath.Join(src, "single.txt"), "/opt/", "/opt/single.txt"},
		{"file to path renames", filepath.Join(src, "single.txt"), "/opt/renamed", "/opt/renamed"},
	}
	for _, tt := range tests {
		f := newFake(t)
		p := spec.Provisioner{Type: "file", Config: &File{Sources: []string{tt.source}, Destination: tt.dest, Direction: "upload"}}
		if err := Run(context.Background(), p, env(f)); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if _, ok := f.uploads[tt.want]; !ok {
			t.Errorf("%s: uploads %v, want %s", tt.name, f.uploads, tt.want)
		}
	}
	// content, and download.
	f := newFake(t)
	if err := Run(context.Background(), spec.Provisioner{Type: "file", Config: &File{Content: "x=1\n", HasContent: true, Destination: "/etc/x.conf"}}, env(f)); err != nil {
		t.Fatal(err)
	}
	local := t.TempDir() + "/"
	if err := Run(context.Background(), spec.Provisioner{Type: "file", Config: &File{Sources: []string{"/etc/x.conf"}, Destination: local, Direction: "download"}}, env(f)); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(local, "x.conf")); err != nil || string(b) != "x=1\n" {
		t.Errorf("downloaded %q %v", b, err)
	}
}

func TestShellLocal(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	e := env(nil)
	e.Stdout = &out
	e.LocalEnviron = []string{"PATH=" + os.Getenv("PATH")}
	p := spec.Provisioner{Type: "shell-local", Config: &spec.ShellLocal{
		Inline:          []string{`echo "$GREETING from $PACKER_BUILD_NAME"`, "exit 4"},
		EnvironmentVars: []string{"GREETING=hello there"},
		ValidExitCodes:  []int{4},
	}}
	if err := Run(context.Background(), p, e); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "hello there from web\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	p.Config.(*spec.ShellLocal).ValidExitCodes = nil
	if err := Run(context.Background(), p, e); err == nil || !strings.Contains(err.Error(), "exited with status 4") {
		t.Errorf("err = %v, want status 4", err)
	}
	// Cancellation ends the process.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Run(ctx, spec.Provisioner{Type: "shell-local", Config: &spec.ShellLocal{Inline: []string{"sleep 30"}}}, e)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Errorf("cancelled shell-local: %v after %s", err, time.Since(start))
	}
}

func TestSecretVariablesStayOffTheCommandLine(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	e := env(f)
	e.Secrets = []string{"db-secret-value"}
	p := spec.Provisioner{Type: "shell", Config: &spec.Shell{Inline: []string{"x"}, EnvironmentVars: []string{"DB=db-secret-value", "PLAIN=1"}}}
	if err := Run(context.Background(), p, e); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.cmds {
		if strings.Contains(c, "db-secret-value") {
			t.Errorf("secret on a command line: %q", c)
		}
	}
	want := []string{`chmod +x /tmp/script_42.sh; eval "$(cat)" && /tmp/script_42.sh`, "rm -rf '/tmp/script_42.sh'"}
	if strings.Join(f.cmds, "\n") != strings.Join(want, "\n") {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(f.cmds, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(f.stdins[0], "export DB='db-secret-value'\n") {
		t.Errorf("standard input of the script's command: %q, want the exports", f.stdins[0])
	}
	for path := range f.uploads {
		if strings.Contains(path, "varfile") {
			t.Errorf("a variables file was written to the machine: %s", path)
		}
	}
	// The export lines, run by a real shell, give the script its variables.
	sh := exec.Command("/bin/sh", "-c", `eval "$(cat)" && printf '%s|%s' "$DB" "$PLAIN"`)
	sh.Stdin = strings.NewReader(f.stdins[0])
	out, err := sh.Output()
	if err != nil || string(out) != "db-secret-value|1" {
		t.Errorf("a shell reading the exports got %q (%v)", out, err)
	}
}

// No file that holds a secret stays on the machine's disk, whatever the
// provisioner's outcome: success, failure, a retry, a time-out or a lost
// connection; with variables on standard input or in Packer's
// use_env_var_file.
func TestNoSecretLeftOnTheMachine(t *testing.T) {
	t.Parallel()
	const secret = "db-secret-value"
	disconnect := fmt.Errorf("reset: %w", remote.ErrDisconnected)
	tests := []struct {
		name    string
		retries int
		timeout time.Duration
		// fail returns the error of the n-th script run (from 0).
		fail    func(n int) error
		slow    bool
		wantErr bool
	}{
		{name: "success"},
		{name: "failure", fail: func(int) error { return &remote.ExitError{Status: 1} }, wantErr: true},
		{name: "retried", retries: 2, fail: func(n int) error {
			if n == 0 {
				return &remote.ExitError{Status: 1}
			}
			return nil
		}},
		{name: "disconnect", fail: func(int) error { return disconnect }, wantErr: true},
		{name: "timeout", timeout: 50 * time.Millisecond, slow: true, wantErr: true},
	}
	for _, tt := range tests {
		for _, file := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/use_env_var_file=%v", tt.name, file), func(t *testing.T) {
				t.Parallel()
				f := newFake(t)
				f.removes = true
				runs := 0
				f.results = func(cmd string) error {
					if strings.HasPrefix(cmd, "rm ") || tt.fail == nil {
						return nil
					}
					runs++
					return tt.fail(runs - 1)
				}
				var c Communicator = f
				if tt.slow {
					c = &slowComm{fakeComm: f}
				}
				e := env(c)
				n := 0
				e.Rand = func() int { n++; return n } // a new name per attempt
				e.Secrets = []string{secret}
				p := spec.Provisioner{Type: "shell", MaxRetries: tt.retries, Timeout: tt.timeout, Config: &spec.Shell{
					Inline: []string{"echo " + secret}, EnvironmentVars: []string{"DB=" + secret}, UseEnvVarFile: file,
				}}
				err := Run(context.Background(), p, e)
				if (err != nil) != tt.wantErr {
					t.Fatalf("err = %v, want error %v", err, tt.wantErr)
				}
				if errors.Is(err, remote.ErrDisconnected) {
					// Over a lost connection nothing can be removed: the files
					// stay listed, and go at the next chance (a reconnect, or
					// before the build would shut the machine down).
					if len(e.pending) == 0 {
						t.Fatal("after a disconnect the files are no longer listed for removal")
					}
					if err := e.RemovePending(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				_ = filepath.Walk(f.root, func(path string, fi os.FileInfo, err error) error {
					if err == nil && !fi.IsDir() {
						b, _ := os.ReadFile(path)
						if strings.Contains(string(b), secret) {
							rel, _ := filepath.Rel(f.root, path)
							t.Errorf("/%s is still on the machine and holds the secret", rel)
						}
					}
					return nil
				})
			})
		}
	}
}

// A file that could not be removed (the connection is gone) stays on the
// list, fails the provisioner, and goes at the next chance.
func TestPendingRemovalsSurviveALostConnection(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.removes = true
	down := true
	f.results = func(cmd string) error {
		if down {
			return fmt.Errorf("reset: %w", remote.ErrDisconnected)
		}
		return nil
	}
	e := env(f)
	e.Secrets = []string{"db-secret-value"}
	p := spec.Provisioner{Type: "shell", Config: &spec.Shell{Inline: []string{"echo db-secret-value"}}}
	if err := Run(context.Background(), p, e); err == nil {
		t.Fatal("a provisioner whose connection dropped succeeded")
	}
	if _, err := os.Stat(f.local("/tmp/script_42.sh")); err != nil {
		t.Fatalf("test setup: the script should still be there: %v", err)
	}
	down = false
	if err := e.RemovePending(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.local("/tmp/script_42.sh")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the script is still on the machine after the connection came back (%v)", err)
	}
}

func TestSkipCleanAndTimeout(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	if err := Run(context.Background(), spec.Provisioner{Type: "shell", Config: &spec.Shell{Inline: []string{"x"}, SkipClean: true}}, env(f)); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.cmds {
		if strings.HasPrefix(c, "rm ") {
			t.Errorf("skip_clean still removed the script: %q", c)
		}
	}
	// timeout bounds the provisioner.
	blocking := newFake(t)
	blocking.results = func(string) error { return nil }
	slow := &slowComm{fakeComm: blocking}
	start := time.Now()
	err := Run(context.Background(), spec.Provisioner{Type: "shell", Timeout: 100 * time.Millisecond, Config: &spec.Shell{Inline: []string{"x"}}}, env(slow))
	if err == nil || !strings.Contains(err.Error(), "timed out after 100ms") || time.Since(start) > 5*time.Second {
		t.Errorf("timeout: %v after %s", err, time.Since(start))
	}
}

// slowComm runs commands until the context ends.
type slowComm struct{ *fakeComm }

func (s *slowComm) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	if strings.HasPrefix(cmd, "rm -rf ") {
		return s.fakeComm.Run(ctx, cmd, stdin, stdout, stderr) // the connection works; the script hangs
	}
	<-ctx.Done()
	return ctx.Err()
}

// flakyComm fails uploads with a disconnect a few times.
type flakyComm struct {
	*fakeComm
	failures int
}

func (f *flakyComm) Upload(ctx context.Context, dst string, r io.Reader, mode fs.FileMode, size int64) error {
	if f.failures > 0 {
		f.failures--
		return fmt.Errorf("not up yet: %w", remote.ErrDisconnected)
	}
	return f.fakeComm.Upload(ctx, dst, r, mode, size)
}

func TestStartRetryTimeout(t *testing.T) {
	t.Parallel()
	fc := &flakyComm{fakeComm: newFake(t), failures: 2}
	e := env(fc)
	var slept int
	e.Sleep = func(context.Context, time.Duration) error { slept++; return nil }
	if err := Run(context.Background(), spec.Provisioner{Type: "shell", Config: &spec.Shell{Inline: []string{"x"}, StartRetryTimeout: time.Minute}}, e); err != nil {
		t.Fatalf("retried start: %v", err)
	}
	if slept != 2 {
		t.Errorf("waited %d times, want 2", slept)
	}
	never := &flakyComm{fakeComm: newFake(t), failures: 1 << 30}
	e = env(never)
	err := Run(context.Background(), spec.Provisioner{Type: "shell", Config: &spec.Shell{Inline: []string{"x"}, StartRetryTimeout: time.Nanosecond}}, e)
	if !errors.Is(err, remote.ErrDisconnected) {
		t.Errorf("start retry timeout: %v, want the disconnect", err)
	}
}

func TestGeneratedSourceIsCheckedAtRunTime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "made-later.txt")
	p := spec.Provisioner{Type: "file", Config: &File{Sources: []string{src}, Destination: "/tmp/x", Generated: true, Direction: "upload"}}
	if err := Run(context.Background(), p, env(newFake(t))); err == nil || !strings.Contains(err.Error(), "made-later.txt") {
		t.Errorf("missing generated file: %v", err)
	}
	os.WriteFile(src, []byte("now it exists"), 0o644)
	f := newFake(t)
	if err := Run(context.Background(), p, env(f)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f.local("/tmp/x")); string(b) != "now it exists" {
		t.Errorf("uploaded %q", b)
	}
}

func TestShellOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1, s2 := filepath.Join(dir, "one.sh"), filepath.Join(dir, "two.sh")
	os.WriteFile(s1, []byte("echo one\r\necho crlf\r\n"), 0o644)
	os.WriteFile(s2, []byte("echo two\n"), 0o644)
	tests := []struct {
		name     string
		sh       spec.Shell
		wantCmds []string
		wantFile map[string]string
	}{
		{
			name:     "custom execute_command and remote_path",
			sh:       spec.Shell{Inline: []string{"id"}, InlineShebang: "/bin/bash -eux", ExecuteCommand: "sudo -E sh -c '{{.Vars}} {{.Path}}'", RemotePath: "/root/run.sh"},
			wantCmds: []string{"sudo -E sh -c 'PACKER_BUILDER_TYPE='vultr' PACKER_BUILD_NAME='web'  /root/run.sh'", "rm -rf '/root/run.sh'"},
			wantFile: map[string]string{"/root/run.sh": "#!/bin/bash -eux\nid\n"},
		},
		{
			name:     "scripts in order, remote_folder and remote_file, CRLF made LF",
			sh:       spec.Shell{Scripts: []string{s1, s2}, RemoteFolder: "/var/tmp", RemoteFile: "prov.sh"},
			wantCmds: []string{"chmod +x /var/tmp/prov.sh; PACKER_BUILDER_TYPE='vultr' PACKER_BUILD_NAME='web'  /var/tmp/prov.sh", "rm -rf '/var/tmp/prov.sh'", "chmod +x /var/tmp/prov.sh; PACKER_BUILDER_TYPE='vultr' PACKER_BUILD_NAME='web'  /var/tmp/prov.sh", "rm -rf '/var/tmp/prov.sh'"},
			wantFile: map[string]string{"/var/tmp/prov.sh": "echo two\n"},
		},
		{
			name:     "binary keeps CRLF",
			sh:       spec.Shell{Scripts: []string{s1}, Binary: true, RemotePath: "/tmp/b.sh", SkipClean: true},
			wantCmds: []string{"chmod +x /tmp/b.sh; PACKER_BUILDER_TYPE='vultr' PACKER_BUILD_NAME='web'  /tmp/b.sh"},
			wantFile: map[string]string{"/tmp/b.sh": "echo one\r\necho crlf\r\n"},
		},
		{
			name:     "env_var_format",
			sh:       spec.Shell{Inline: []string{"x"}, EnvVarFormat: "export %s=\"%s\"; ", Env: map[string]string{"A": "1"}, RemotePath: "/tmp/e.sh", SkipClean: true},
			wantCmds: []string{`chmod +x /tmp/e.sh; export A="1"; export PACKER_BUILDER_TYPE="vultr"; export PACKER_BUILD_NAME="web";  /tmp/e.sh`},
		},
	}
	for _, tt := range tests {
		f := newFake(t)
		sh := tt.sh
		if err := Run(context.Background(), spec.Provisioner{Type: "shell", Config: &sh}, env(f)); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := strings.Join(f.cmds, "\n"); got != strings.Join(tt.wantCmds, "\n") {
			t.Errorf("%s: commands\n%s\nwant\n%s", tt.name, got, strings.Join(tt.wantCmds, "\n"))
		}
		for p, want := range tt.wantFile {
			if b, _ := os.ReadFile(f.local(p)); string(b) != want {
				t.Errorf("%s: %s = %q, want %q", tt.name, p, b, want)
			}
		}
	}
}

func TestBreakpoint(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	e := env(f)
	var logs []string
	e.Logf = func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }
	// Disabled: nothing. No terminal (CI): skipped with a message, no hang.
	for _, bp := range []*Breakpoint{{Disable: true}, {Note: "look at nginx"}} {
		if err := Run(context.Background(), spec.Provisioner{Type: "breakpoint", Config: bp}, e); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(logs, "\n"); !strings.Contains(got, "Breakpoint disabled") || !strings.Contains(got, `Breakpoint skipped: no terminal to pause in (note: "look at nginx")`) {
		t.Errorf("logs:\n%s", got)
	}
	// In a terminal: how to reach the machine, with a key file that exists
	// only while it waits.
	var keyFile string
	e.Machine = MachineAccess{Host: "192.0.2.9", User: "root", Port: 22, KeyPEM: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n"}
	e.Pause = func(_ context.Context, msg string) error {
		if !strings.Contains(msg, "root@192.0.2.9") || !strings.Contains(msg, `note: "look at nginx"`) {
			t.Errorf("pause message %q", msg)
		}
		fields := strings.Fields(msg[strings.Index(msg, "ssh -i "):])
		keyFile = fields[2]
		if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("key file %s: %v", keyFile, err)
		}
		return nil
	}
	if err := Run(context.Background(), spec.Provisioner{Type: "breakpoint", Config: &Breakpoint{Note: "look at nginx"}}, e); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the key file %s outlived the pause (%v)", keyFile, err)
	}
}

// The ansible provisioner leaves nothing on the build host: the key, the
// known_hosts and the inventory are gone when it returns, and Ansible got a
// 0600 key and the pinned host key.
func TestAnsibleLeavesNothingOnTheHost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	fake := filepath.Join(dir, "ansible-playbook")
	os.WriteFile(fake, []byte(`#!/bin/sh
key=""; inv=""
while [ $# -gt 0 ]; do
  case "$1" in --private-key) key=$2; shift;; -i) inv=$2; shift;; esac; shift
done
kh=$(echo "$ANSIBLE_SSH_ARGS" | sed 's/.*UserKnownHostsFile=\([^ ]*\).*/\1/')
{ echo "$key"; echo "$inv"; echo "$kh"; stat -c %a "$key"; cat "$inv"; cat "$kh"; } > "$RECORD"
`), 0o755)
	playbook := filepath.Join(dir, "site.yml")
	os.WriteFile(playbook, []byte("- hosts: all\n"), 0o644)
	e := env(newFake(t))
	e.LocalEnviron = []string{"RECORD=" + record, "PATH=" + os.Getenv("PATH")}
	e.Machine = MachineAccess{Host: "192.0.2.4", User: "root", Port: 2222, KeyPEM: "PRIVATE-KEY-SECRET", HostKey: "ssh-ed25519 AAAAHOSTKEY"}
	p := spec.Provisioner{Type: "ansible", Config: &Ansible{PlaybookFile: playbook, Command: fake, HostAlias: "default", Groups: []string{"web"}}}
	if err := Run(context.Background(), p, e); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for _, f := range lines[:3] {
		if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still on the build host (%v)", f, err)
		}
	}
	got := string(b)
	for _, want := range []string{"\n600\n", "[web]\ndefault ansible_host=192.0.2.4 ansible_user=root ansible_port=2222", "[192.0.2.4]:2222 ssh-ed25519 AAAAHOSTKEY"} {
		if !strings.Contains(got, want) {
			t.Errorf("ansible-playbook saw:\n%s\nwant it to contain %q", got, want)
		}
	}
	// Without ansible-playbook, the error names what is missing.
	p.Config.(*Ansible).Command = filepath.Join(dir, "no-such-ansible-playbook")
	if err := Run(context.Background(), p, e); !errors.Is(err, ErrNoAnsible) {
		t.Errorf("err = %v, want ErrNoAnsible", err)
	}
}

// ansible-local's staging directory is created for the SSH user alone, and
// one that cannot be removed fails the provisioner, as a script does: no
// image is made of a machine that still holds it.
func TestAnsibleLocalStagingDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	playbook := filepath.Join(dir, "site.yml")
	os.WriteFile(playbook, []byte("- hosts: all\n"), 0o644)
	f := newFake(t)
	f.results = func(cmd string) error {
		if strings.HasPrefix(cmd, "rm -rf ") {
			return &remote.ExitError{Status: 1}
		}
		return nil
	}
	p := spec.Provisioner{Type: "ansible-local", Config: &AnsibleLocal{PlaybookFiles: []string{playbook}, Command: "ansible-playbook", CleanStagingDirectory: true}}
	err := Run(context.Background(), p, env(f))
	if err == nil || !strings.Contains(err.Error(), "/tmp/packer-provisioner-ansible-local/") {
		t.Fatalf("err = %v, want a failure naming the staging directory", err)
	}
	if !strings.Contains(f.cmds[0], "umask 077") || !strings.Contains(f.cmds[0], "chmod 0700") {
		t.Errorf("staging directory made with %q, want mode 0700", f.cmds[0])
	}
}

// ansible-local's extra_arguments join the shell command as written, as in
// Packer: a quoted --extra-vars value reaches ansible-playbook as one
// argument.
func TestAnsibleLocalExtraArgumentsGoThroughTheShell(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	fake := filepath.Join(dir, "fake-ansible-playbook")
	os.WriteFile(fake, []byte("#!/bin/sh\nfor a in \"$@\"; do echo \"[$a]\"; done > "+record+"\n"), 0o755)
	playbook := filepath.Join(dir, "site.yml")
	os.WriteFile(playbook, []byte("- hosts: all\n"), 0o644)
	f := newFake(t)
	f.results = func(cmd string) error {
		if strings.Contains(cmd, fake) {
			if out, err := exec.Command("sh", "-c", cmd).CombinedOutput(); err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
		}
		return nil
	}
	p := spec.Provisioner{Type: "ansible-local", Config: &AnsibleLocal{PlaybookFiles: []string{playbook}, Command: fake, StagingDirectory: t.TempDir(),
		ExtraArguments: []string{`--extra-vars "Region=x Stage=y"`, "-v"}}}
	if err := Run(context.Background(), p, env(f)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(record)
	if got := string(b); !strings.Contains(got, "[--extra-vars]\n[Region=x Stage=y]\n[-v]\n") {
		t.Errorf("ansible-playbook got:\n%s", got)
	}
}

// The ansible provisioner reaches the machine through the build's bastion,
// as the build does: a ProxyCommand with the bastion's key, and both host
// keys the build pinned in known_hosts, checked strictly.
func TestAnsibleGoesThroughTheBastion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	fake := filepath.Join(dir, "ansible-playbook")
	os.WriteFile(fake, []byte(`#!/bin/sh
kh=$(echo "$ANSIBLE_SSH_ARGS" | sed 's/^-o UserKnownHostsFile=\([^ ]*\) .*/\1/')
{ echo "$ANSIBLE_SSH_ARGS"; cat "$kh"; } > "$RECORD"
`), 0o755)
	playbook := filepath.Join(dir, "site.yml")
	os.WriteFile(playbook, []byte("- hosts: all\n"), 0o644)
	e := env(newFake(t))
	e.LocalEnviron = []string{"RECORD=" + record, "PATH=" + os.Getenv("PATH")}
	bastion := &BastionAccess{Host: "198.51.100.7", Port: 2200, User: "jump", KeyFile: "/keys/bastion", HostKey: "ssh-ed25519 AAAABASTION"}
	e.Machine = MachineAccess{Host: "10.0.0.5", User: "root", Port: 22, KeyPEM: "K", HostKey: "ssh-ed25519 AAAAMACHINE", Bastion: bastion}
	p := spec.Provisioner{Type: "ansible", Config: &Ansible{PlaybookFile: playbook, Command: fake, HostAlias: "default"}}
	if err := Run(context.Background(), p, e); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(record)
	got := string(b)
	for _, want := range []string{"-o 'ProxyCommand=ssh ", "StrictHostKeyChecking=yes -o BatchMode=yes -p 2200 -W [%h]:%p -o IdentitiesOnly=yes -i \"/keys/bastion\" jump@198.51.100.7'",
		"10.0.0.5 ssh-ed25519 AAAAMACHINE\n", "[198.51.100.7]:2200 ssh-ed25519 AAAABASTION\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("ansible saw:\n%s\nwant it to contain %q", got, want)
		}
	}
	// The agent logs in to the bastion too.
	bastion.KeyFile, bastion.AgentAuth = "", true
	if err := Run(context.Background(), p, e); err != nil {
		t.Errorf("a bastion with ssh_bastion_agent_auth: %v", err)
	}
	// A bastion OpenSSH cannot log in to is refused by name, before Ansible runs.
	bastion.AgentAuth, bastion.HasPassword = false, true
	if err := Run(context.Background(), p, e); err == nil || !strings.Contains(err.Error(), "ssh_bastion_password") {
		t.Errorf("err = %v, want it to name ssh_bastion_password", err)
	}
	// A name that would be shell syntax in the ProxyCommand is refused.
	bastion.HasPassword, bastion.KeyFile, bastion.Host = false, "/keys/bastion", "b.example.com;touch /tmp/pwned"
	if err := Run(context.Background(), p, e); err == nil || !strings.Contains(err.Error(), "ssh_bastion_host") {
		t.Errorf("err = %v, want it to refuse the host", err)
	}
}

// shell-local's {{.Vars}} with env_var_format: values quoted as Packer's
// shell provisioners quote them, and a value holding a secret left out.
func TestLocalVars(t *testing.T) {
	t.Parallel()
	sl := &spec.ShellLocal{EnvVarFormat: "%s='%s' ", EnvironmentVars: []string{"A=it's", "PW=ab'cdef-secret", "B=plain"}}
	got := localVars(sl, []string{"ab'cdef-secret"})
	if want := `A='it'"'"'s' B='plain' `; got != want {
		t.Errorf("localVars = %q, want %q", got, want)
	}
}
