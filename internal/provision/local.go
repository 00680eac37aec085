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
	"syscall"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

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
		f, err := os.CreateTemp("", "shell-local-*.sh")
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
	for _, script := range scripts {
		abs, _ := filepath.Abs(script)
		_ = os.Chmod(abs, 0o700)
		argv := make([]string, len(argvTmpl))
		for i, a := range argvTmpl {
			// Vars are passed in the environment, so {{.Vars}} renders empty.
			s, err := render(a, map[string]string{"Vars": "", "Script": quote(abs), "Command": quote(abs)})
			if err != nil {
				return err
			}
			argv[i] = s
		}
		env.Logf("Running local shell script: %s", script)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = environ
		cmd.Dir = env.TemplateDir
		cmd.Stdout, cmd.Stderr = env.Stdout, env.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
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
