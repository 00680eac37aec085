package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/remote"
	"github.com/vultr-image-action/vultr-image-action/internal/schema"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

var shellKind = Kind{
	Block:  &schema.Shell,
	Decode: func(f Fields) any { return DecodeShell(f) },
	Run:    runAs(runShell),
}

// DefaultShell is a shell provisioner with Packer's defaults and nothing
// to run.
func DefaultShell() *spec.Shell {
	return &spec.Shell{InlineShebang: "/bin/sh -e", EnvVarFormat: "%s='%s' ", ExecuteCommand: "chmod +x {{.Path}}; {{.Vars}} {{.Path}}",
		RemoteFolder: "/tmp", ValidExitCodes: []int{0}, StartRetryTimeout: 5 * time.Minute}
}

// DecodeShell reads a shell provisioner's keys (the vultr-verify
// post-processor holds them too).
func DecodeShell(f Fields) *spec.Shell {
	sh := DefaultShell()
	if len(f.SetOf("inline", "script", "scripts")) == 0 {
		f.Missing("inline", "the shell provisioner has nothing to run", `set one of "inline", "script" or "scripts"`)
	}
	sh.Inline, sh.Scripts, sh.InlineShebang, sh.EnvironmentVars, sh.Env = decodeScripts(f, sh.InlineShebang)
	if v, ok := f.Raw("env_var_format"); ok {
		sh.EnvVarFormat = v
	}
	sh.UseEnvVarFile, _ = f.Bool("use_env_var_file")
	if v, ok := f.Command("execute_command"); ok {
		sh.ExecuteCommand = v
	}
	if v, ok := f.String("remote_folder"); ok {
		sh.RemoteFolder = v
	}
	sh.RemoteFile, _ = f.String("remote_file")
	sh.RemotePath, _ = f.String("remote_path")
	sh.SkipClean, _ = f.Bool("skip_clean")
	sh.ExpectDisconnect, _ = f.Bool("expect_disconnect")
	if codes, ok := f.Ints("valid_exit_codes"); ok {
		sh.ValidExitCodes = codes
	}
	if t, ok := f.Duration("start_retry_timeout"); ok {
		sh.StartRetryTimeout = t
	}
	sh.PauseAfter, _ = f.Duration("pause_after")
	sh.Binary, _ = f.Bool("binary")
	return sh
}

// decodeScripts reads the keys shell and shell-local share (the SDK's
// shell.Provisioner): what to run, its shebang and its variables.
func decodeScripts(f Fields, shebang string) (inline, scripts []string, _ string, envVars []string, env map[string]string) {
	inline, _ = f.Strings("inline")
	if sc, ok := f.String("script"); ok {
		scripts = []string{f.Local("script", -1, sc, true)}
	}
	if list, ok := f.Strings("scripts"); ok {
		for i, sc := range list {
			scripts = append(scripts, f.Local("scripts", i, sc, true))
		}
	}
	if v, ok := f.String("inline_shebang"); ok {
		shebang = v
	}
	env, _ = f.StringMap("env")
	return inline, scripts, shebang, decodeEnvVars(f), env
}

// decodeEnvVars reads environment_vars, which must be NAME=value.
func decodeEnvVars(f Fields) []string {
	list, _ := f.Strings("environment_vars")
	for i, kv := range list {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t'\"$") {
			f.BadItem("environment_vars", i, fmt.Sprintf("%q is not NAME=value", kv), "")
		}
	}
	return list
}

// envVars renders environment_vars and env (env wins), plus
// PACKER_BUILD_NAME and PACKER_BUILDER_TYPE, in env_var_format with each
// value single-quoted so any value is safe in a shell.
func envVars(format string, list []string, m map[string]string, env *Env) string {
	vals := map[string]string{}
	for _, kv := range list {
		k, v, _ := strings.Cut(kv, "=")
		vals[k] = v
	}
	for k, v := range m {
		vals[k] = v
	}
	vals["PACKER_BUILD_NAME"] = env.BuildName
	vals["PACKER_BUILDER_TYPE"] = env.BuilderType
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if format == "" {
		format = "%s='%s' "
	}
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, format, k, strings.ReplaceAll(vals[k], "'", `'"'"'`))
	}
	return b.String()
}

func render(tmpl string, data map[string]string) (string, error) {
	t, err := template.New("execute_command").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return "", fmt.Errorf("execute_command: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("execute_command: %w", err)
	}
	return b.String(), nil
}

func runShell(ctx context.Context, sh *spec.Shell, env *Env) error {
	type script struct {
		name string
		body []byte
	}
	var scripts []script
	if len(sh.Inline) > 0 {
		shebang := sh.InlineShebang
		if shebang == "" {
			shebang = "/bin/sh -e"
		}
		var b strings.Builder
		b.WriteString("#!" + shebang + "\n")
		for _, line := range sh.Inline {
			b.WriteString(line + "\n")
		}
		scripts = append(scripts, script{"inline script", []byte(b.String())})
	}
	for _, p := range sh.Scripts {
		body, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read script: %w", err)
		}
		scripts = append(scripts, script{p, body})
	}
	vars := envVars(sh.EnvVarFormat, sh.EnvironmentVars, sh.Env, env)
	// A secret in a variable would show in ps on the machine: with the
	// default execute_command the variables go through the session's
	// standard input, and never touch the machine's disk. Packer's
	// use_env_var_file writes a file, which is removed on every path.
	secret := isDefaultExec(sh) && holdsSecret(vars, env.Secrets)
	useFile := sh.UseEnvVarFile || secret && env.PTY
	useStdin := !useFile && secret
	if !isDefaultExec(sh) && !sh.UseEnvVarFile && strings.Contains(sh.ExecuteCommand, ".Vars") && holdsSecret(vars, env.Secrets) {
		env.Logf("Warning: this execute_command puts environment_vars that hold a secret on the machine's command line ({{.Vars}}), as Packer does; use_env_var_file with {{.EnvVarFile}} keeps them off it")
	}
	codes := sh.ValidExitCodes
	if len(codes) == 0 {
		codes = []int{0}
	}
	folder := sh.RemoteFolder
	if folder == "" {
		folder = "/tmp"
	}
	for _, s := range scripts {
		body := s.body
		if !sh.Binary {
			body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
		}
		file := sh.RemoteFile
		if file == "" {
			file = fmt.Sprintf("script_%d.sh", env.Rand())
		}
		remotePath := sh.RemotePath
		if remotePath == "" {
			remotePath = path.Join(folder, file)
		}
		env.Logf("Provisioning with shell script: %s", s.name)
		data := map[string]string{"Path": remotePath, "Vars": vars, "EnvVarFile": ""}
		exports := envVars("export %s='%s'\n", sh.EnvironmentVars, sh.Env, env)
		var stdin io.Reader
		switch {
		case useFile:
			envFile := path.Join(folder, fmt.Sprintf("varfile_%d.sh", env.Rand()))
			// Registered before the upload: a failed upload may still leave it.
			env.removeLater(envFile)
			if err := upload(ctx, env, sh, envFile, []byte(exports), 0o600); err != nil {
				return err
			}
			data["EnvVarFile"], data["Vars"] = envFile, ""
		case useStdin:
			stdin, data["Vars"] = strings.NewReader(exports), ""
		}
		cmd, err := render(executeCommand(sh, useFile, useStdin), data)
		if err != nil {
			return err
		}
		if !sh.SkipClean {
			env.removeLater(remotePath)
		}
		if err := upload(ctx, env, sh, remotePath, body, 0o755); err != nil {
			return err
		}
		err = env.Comm.Run(ctx, cmd, stdin, env.Stdout, env.Stderr)
		switch status, ok := exitStatus(err); {
		case errors.Is(err, remote.ErrDisconnected) && sh.ExpectDisconnect:
			env.Logf("Machine disconnected, as expected; reconnecting")
			if env.Reconnect == nil {
				return errors.New("expect_disconnect: cannot reconnect")
			}
			comm, rerr := env.Reconnect(ctx)
			if rerr != nil {
				return fmt.Errorf("reconnect after the expected disconnect: %w", rerr)
			}
			env.Comm = comm
		case errors.Is(err, remote.ErrDisconnected):
			return fmt.Errorf("script disconnected unexpectedly (set \"expect_disconnect\": true if it reboots the machine): %w", err)
		case ok && slices.Contains(codes, status):
		case ok:
			return fmt.Errorf("script exited with status %d; valid exit codes: %v", status, codes)
		default:
			return fmt.Errorf("run script: %w", err)
		}
		if err := env.RemovePending(ctx); err != nil {
			// A script that reboots may finish before the connection drops:
			// with expect_disconnect, remove once the machine is back.
			if !sh.ExpectDisconnect || !errors.Is(err, remote.ErrDisconnected) || env.Reconnect == nil {
				return err
			}
			env.Logf("Machine disconnected after the script, as expected; reconnecting to clean up")
			comm, rerr := env.Reconnect(ctx)
			if rerr != nil {
				return fmt.Errorf("reconnect after the expected disconnect: %w", rerr)
			}
			env.Comm = comm
			if err := env.RemovePending(ctx); err != nil {
				return err
			}
		}
	}
	if sh.PauseAfter > 0 {
		env.Logf("Pausing %s after this provisioner...", sh.PauseAfter)
		return env.Sleep(ctx, sh.PauseAfter)
	}
	return nil
}

const defaultExec = "chmod +x {{.Path}}; {{.Vars}} {{.Path}}"

func isDefaultExec(sh *spec.Shell) bool {
	return sh.ExecuteCommand == "" || sh.ExecuteCommand == defaultExec
}

// stdinExec reads the variables' export lines from standard input, so no
// value is on the command line or on the disk.
const stdinExec = `chmod +x {{.Path}}; eval "$(cat)" && {{.Path}}`

func executeCommand(sh *spec.Shell, useFile, useStdin bool) string {
	switch {
	case useStdin:
		return stdinExec
	case useFile && isDefaultExec(sh):
		return "chmod +x {{.Path}}; . {{.EnvVarFile}} && rm -f {{.EnvVarFile}} && {{.Path}}"
	case sh.ExecuteCommand != "":
		return sh.ExecuteCommand
	default:
		return defaultExec
	}
}

// upload retries while the machine is not yet reachable, up to
// start_retry_timeout, as Packer retries starting a script.
func upload(ctx context.Context, env *Env, sh *spec.Shell, dst string, body []byte, mode os.FileMode) error {
	limit := sh.StartRetryTimeout
	if limit <= 0 {
		limit = 5 * time.Minute
	}
	deadline := env.Now().Add(limit)
	for {
		err := env.Comm.Upload(ctx, dst, bytes.NewReader(body), mode, int64(len(body)))
		if err == nil || ctx.Err() != nil || env.Now().After(deadline) || !errors.Is(err, remote.ErrDisconnected) {
			if err != nil {
				return fmt.Errorf("upload script to %s: %w", dst, err)
			}
			return nil
		}
		if serr := env.Sleep(ctx, 2*time.Second); serr != nil {
			return serr
		}
	}
}

// holdsSecret reports whether rendered variables contain a secret value.
func holdsSecret(vars string, secrets []string) bool {
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(vars, strings.ReplaceAll(s, "'", `'"'"'`)) {
			return true
		}
	}
	return false
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'" }
