package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/schema"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

var shellLocalKind = Kind{
	Block:       &schema.ShellLocal,
	Machineless: true,
	Decode:      func(f Fields) any { return DecodeShellLocal(f) },
	Run:         runAs(runShellLocal),
}

// DecodeShellLocal reads shell-local's keys (the post-processor holds
// them too).
func DecodeShellLocal(f Fields) *spec.ShellLocal {
	sl := &spec.ShellLocal{InlineShebang: "/bin/sh -e", ExecuteCommand: []string{"/bin/sh", "-c", "{{.Vars}} {{.Script}}"}, ValidExitCodes: []int{0}}
	if len(f.SetOf("inline", "command", "script", "scripts")) == 0 {
		f.Missing("inline", "shell-local has nothing to run", `set one of "inline", "command", "script" or "scripts"`)
	}
	sl.Inline, sl.Scripts, sl.InlineShebang, sl.EnvironmentVars, sl.Env = decodeScripts(f, sl.InlineShebang)
	sl.Command, _ = f.String("command")
	if list, ok := f.Commands("execute_command"); ok {
		sl.ExecuteCommand = list
	}
	if codes, ok := f.Ints("valid_exit_codes"); ok {
		sl.ValidExitCodes = codes
	}
	// use_linux_pathing changes paths for WSL on Windows; elsewhere it
	// does nothing, in Packer too: said, never silent.
	if on, ok := f.Bool("use_linux_pathing"); ok && on {
		f.Warn("use_linux_pathing", "use_linux_pathing has no effect: it converts paths for the Windows Subsystem for Linux, and this runs on Linux or macOS", "")
	}
	if v, ok := f.Raw("env_var_format"); ok {
		sl.EnvVarFormat = v
	}
	sl.TempfileExtension, _ = f.String("tempfile_extension")
	if list, ok := f.Strings("only_on"); ok {
		for i, osName := range list {
			switch osName {
			case "linux", "darwin", "windows", "freebsd", "openbsd", "netbsd", "solaris":
			default:
				f.BadItem("only_on", i, fmt.Sprintf("unknown operating system %q", osName), `use Go's names, as Packer does: "linux", "darwin", "windows"`)
			}
		}
		sl.OnlyOn = list
	}
	return sl
}

// runShellLocal runs commands on this machine (the action's container, or
// the CLI user's computer). Values travel in the environment, never on a
// command line that ps could show.
func runShellLocal(ctx context.Context, sl *spec.ShellLocal, env *Env) error {
	if len(sl.OnlyOn) > 0 && !slices.Contains(sl.OnlyOn, env.goos()) {
		env.Logf("Skipping shell-local: only_on %v, and this is %s", sl.OnlyOn, env.goos())
		return nil
	}
	var scripts []string
	cleanup := func() {}
	if len(sl.Inline) > 0 || sl.Command != "" {
		lines := sl.Inline
		if sl.Command != "" {
			lines = []string{sl.Command}
		}
		shebang := sl.InlineShebang
		if shebang == "" {
			shebang = "/bin/sh -e"
		}
		ext := sl.TempfileExtension
		if ext == "" {
			ext = ".sh"
		}
		f, err := os.CreateTemp("", "shell-local-*"+ext)
		if err != nil {
			return err
		}
		_, werr := f.WriteString("#!" + shebang + "\n" + strings.Join(lines, "\n") + "\n")
		cerr := f.Close()
		if err := errors.Join(werr, cerr, os.Chmod(f.Name(), 0o700)); err != nil {
			_ = os.Remove(f.Name())
			return err
		}
		scripts = append(scripts, f.Name())
		cleanup = func() { _ = os.Remove(f.Name()) }
	}
	defer cleanup()
	scripts = append(scripts, sl.Scripts...)
	if len(scripts) == 0 {
		return errNothing
	}
	environ := append([]string{}, env.LocalEnviron...)
	for _, kv := range sl.EnvironmentVars {
		environ = append(environ, kv)
	}
	for k, v := range sl.Env {
		environ = append(environ, k+"="+v)
	}
	environ = append(environ, "PACKER_BUILD_NAME="+env.BuildName, "PACKER_BUILDER_TYPE="+env.BuilderType)
	codes := sl.ValidExitCodes
	if len(codes) == 0 {
		codes = []int{0}
	}
	argvTmpl := sl.ExecuteCommand
	if len(argvTmpl) == 0 {
		argvTmpl = []string{"/bin/sh", "-c", "{{.Vars}} {{.Script}}"}
	}
	vars := localVars(sl, env.Secrets)
	for _, script := range scripts {
		abs, _ := filepath.Abs(script)
		_ = os.Chmod(abs, 0o700)
		argv := make([]string, len(argvTmpl))
		for i, a := range argvTmpl {
			s, err := render(a, map[string]string{"Vars": vars, "Script": quote(abs), "Command": quote(abs)})
			if err != nil {
				return err
			}
			argv[i] = s
		}
		env.Logf("Running local shell script: %s", script)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = environ
		cmd.Dir = env.WorkDir
		cmd.Stdout, cmd.Stderr = env.Stdout, env.Stderr
		killGroupOnCancel(cmd)
		cmd.WaitDelay = 5 * time.Second
		err := cmd.Run()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var exit *exec.ExitError
		status := 0
		switch {
		case err == nil:
		case errors.As(err, &exit):
			status = exit.ExitCode()
		default:
			return fmt.Errorf("run %s: %w", script, err)
		}
		if !slices.Contains(codes, status) {
			return fmt.Errorf("local script %s exited with status %d; valid exit codes: %v", script, status, codes)
		}
	}
	return nil
}

// LocalPrograms lists the programs a shell-local step needs on the machine
// that runs the build: its execute_command's program, its inline shebang's
// interpreter, and each script's. The action's image or the runner must
// have them.
func LocalPrograms(sl *spec.ShellLocal) []string {
	var out []string
	add := func(p string) {
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(sl.ExecuteCommand) > 0 {
		add(strings.Fields(sl.ExecuteCommand[0] + " ")[0])
	} else {
		add("/bin/sh")
	}
	if len(sl.Inline) > 0 || sl.Command != "" {
		shebang := sl.InlineShebang
		if shebang == "" {
			shebang = "/bin/sh -e"
		}
		add(interpreter(shebang))
	}
	for _, s := range sl.Scripts {
		if b, err := os.ReadFile(s); err == nil && strings.HasPrefix(string(b), "#!") {
			line, _, _ := strings.Cut(string(b[2:]), "\n")
			add(interpreter(line))
		}
	}
	return out
}

// interpreter is a shebang's program; for "/usr/bin/env python3", python3.
func interpreter(shebang string) string {
	f := strings.Fields(shebang)
	if len(f) == 0 {
		return ""
	}
	if filepath.Base(f[0]) == "env" && len(f) > 1 {
		return f[1]
	}
	return f[0]
}

// MissingPrograms are the LocalPrograms that look (exec.LookPath) cannot
// find.
func MissingPrograms(sl *spec.ShellLocal, look func(string) (string, error)) []string {
	var out []string
	for _, p := range LocalPrograms(sl) {
		if _, err := look(p); err != nil {
			out = append(out, p)
		}
	}
	return out
}

// localVars is shell-local's {{.Vars}}. The variables are in the
// command's environment; with env_var_format they are also written here,
// in that format, as Packer does, except those that hold a secret, which
// never reach a command line.
func localVars(sl *spec.ShellLocal, secrets []string) string {
	if sl.EnvVarFormat == "" {
		return ""
	}
	var pairs [][2]string
	for _, kv := range sl.EnvironmentVars {
		k, v, _ := strings.Cut(kv, "=")
		pairs = append(pairs, [2]string{k, v})
	}
	keys := make([]string, 0, len(sl.Env))
	for k := range sl.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		pairs = append(pairs, [2]string{k, sl.Env[k]})
	}
	var b strings.Builder
	for _, p := range pairs {
		if slices.ContainsFunc(secrets, func(s string) bool { return len(s) >= 4 && strings.Contains(p[1], s) }) {
			continue
		}
		// Single quotes escaped as Packer's shell provisioners do.
		fmt.Fprintf(&b, sl.EnvVarFormat, p[0], strings.ReplaceAll(p[1], "'", `'"'"'`))
	}
	return b.String()
}
