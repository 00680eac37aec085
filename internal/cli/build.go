package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vultr-image-action/vultr-image-action/internal/build"
	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
	"github.com/vultr-image-action/vultr-image-action/internal/remote"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/ui"
)

// job is one build run, from the command line or from action inputs.
type job struct {
	template        string
	vars, varFiles  []string
	only, except    []string
	parallel        int
	onError         string
	machineReadable bool
	color           bool
	debug           bool
	emulator        bool
	emulatorSSHD    string
	apiKey          string // the action's api-key input; wins over VULTR_API_KEY
	runID           string // names this run's resources; generated when empty
	keepSnapshots   int    // -1: as the template says
	keepPrefix      string // overrides keep_snapshots_prefix when set
	timestamps      bool   // -timestamp-ui
	timeout         time.Duration
	workDir         string
	verify          []string // the action's verify input: checks of every vultr build's snapshot

	action  *ghaction.Action
	tracker build.Tracker
}

func cmdBuild(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "build", "build [flags] TEMPLATE")
	var j job
	var vars, varFiles multiFlag
	var only, except listFlag
	fs.Var(&vars, "var", "set a template variable, `key=value` (repeatable; later wins)")
	fs.Var(&varFiles, "var-file", "JSON (or .pkrvars.hcl) `file` of variables (repeatable; later wins)")
	fs.Var(&only, "only", "build only the builds matching these comma-separated `names` (globs)")
	fs.Var(&except, "except", "skip the builds matching these comma-separated `names` (globs)")
	fs.IntVar(&j.parallel, "parallel-builds", 0, "run at most `N` builds at once; 0 means no limit")
	fs.StringVar(&j.onError, "on-error", "cleanup", "what to do with a failed build's instance: cleanup, abort (keep it for debugging), run-cleanup-provisioner (run the error-cleanup-provisioner, then keep it) or ask (in a terminal)")
	fs.BoolVar(&j.timestamps, "timestamp-ui", false, "prefix every line with the time")
	fs.BoolVar(new(bool), "force", false, "accepted for Packer compatibility: Vultr snapshots never block a build, so there is nothing to force")
	fs.BoolVar(new(bool), "warn-on-undeclared-var", false, "accepted for Packer compatibility: undeclared variables in var files are always reported as warnings")
	fs.BoolVar(&j.machineReadable, "machine-readable", false, "print Packer's machine-readable output")
	fs.BoolVar(&j.color, "color", true, "colour the output")
	fs.BoolVar(&j.debug, "debug", false, "show API calls and timings")
	fs.BoolVar(&j.emulator, "emulator", false, "build against the built-in Vultr API emulator (no account needed)")
	fs.StringVar(&j.emulatorSSHD, "emulator-sshd", "", "with -emulator: run this OpenSSH `sshd` inside each emulated machine instead of the built-in SSH server")
	fs.IntVar(&j.keepSnapshots, "keep-snapshots", -1, "keep the newest `N` snapshots with the build's description, deleting older ones; -1 uses the template's keep_snapshots")
	fs.StringVar(&j.keepPrefix, "keep-snapshots-prefix", "", "with -keep-snapshots: match snapshots whose description starts with this `prefix` (for descriptions with a timestamp)")
	fs.DurationVar(&j.timeout, "timeout", 0, "give up (and clean up) after this `duration`; 0 means no limit")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageErrorf("build takes exactly one template path, got %d arguments", fs.NArg())
	}
	switch j.onError {
	case "cleanup", "abort", "run-cleanup-provisioner":
	case "ask":
		if !isTerminal(env.Stdin) || !isTerminal(env.Stdout) {
			return usageErrorf("-on-error=ask needs a terminal to ask in; use cleanup, abort or run-cleanup-provisioner")
		}
	default:
		return usageErrorf("-on-error %q: valid values are cleanup, abort, run-cleanup-provisioner and ask", j.onError)
	}
	j.template = fs.Arg(0)
	j.vars, j.varFiles, j.only, j.except = vars, varFiles, only, except
	if ghaction.InActions(env.Getenv) {
		j.action = ghaction.New(env.Stdout, env.Getenv)
	}
	_, err := runJob(ctx, env, j)
	return err
}

// runJob loads, validates and builds. It reports problems itself and
// returns an error whose kind decides the exit code.
func runJob(ctx context.Context, env Env, j job) ([]*build.Result, error) {
	if j.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, j.timeout)
		defer cancel()
	}

	// Secrets are masked before the first line is written.
	sess := newSession(env, j.action, env.Getenv("VULTR_API_URL"), j.apiKey)
	red := sess.red

	console := ui.New(ui.Options{
		Out:             env.Stdout,
		Redactor:        red,
		Action:          j.action,
		Groups:          j.action != nil,
		MachineReadable: j.machineReadable,
		Color:           j.color && j.action == nil && !j.machineReadable && isTerminal(env.Stdout),
		Debug:           j.debug || (j.action != nil && j.action.DebugEnabled()),
		Workspace:       env.Getenv("GITHUB_WORKSPACE"),
		Timestamps:      j.timestamps,
		Log:             packerLog(env),
	})

	sess.debug = console.Debug
	if j.action == nil && env.Stop != nil {
		defer context.AfterFunc(ctx, func() {
			if errors.Is(ctx.Err(), context.Canceled) {
				console.Say("", "Interrupted: cleaning up. Press Ctrl-C again to stop waiting; whatever is left will be listed with the command that deletes it.")
			}
		})()
	}
	var dial func(ctx context.Context, network, addr string) (net.Conn, error)
	ipv6Reachable := env.IPv6Reachable
	if ipv6Reachable == nil {
		ipv6Reachable = remote.IPv6Reachable
	}
	if j.emulator {
		emu, err := startEmulator(ctx, emulatorOptions{sshd: j.emulatorSSHD, logf: console.Debug})
		if err != nil {
			return nil, fmt.Errorf("start the built-in emulator: %w", err)
		}
		defer emu.Close()
		red.Add(emu.APIKey)
		sess.baseURL, dial = emu.URL, emu.Dial
		ipv6Reachable = func() bool { return true } // the emulator routes its addresses
		console.Say("emulator", "Using the built-in Vultr API emulator at "+emu.URL+" (no real resources are created)")
		j.apiKey = emu.APIKey
	}
	getenv := jobGetenv(env, j)
	runUUID := newUUID()
	term := newTerminal(env, j)
	runStart := time.Now()
	if j.workDir == "" {
		j.workDir, _ = env.Getwd()
	}
	topts := jobTemplateOptions(j, getenv, runUUID)
	topts.secret = red.Add
	s, err := loadJobTemplate(j, topts, red)
	if err == nil {
		markVaryingDescriptions(j.template, topts, s)
	}
	if s != nil {
		for _, w := range s.Warnings {
			console.Warn("", w.Error(), w.Pos)
		}
	}
	if err != nil {
		reportTemplateError(console, err)
		return nil, &reportedError{err: &UsageError{Err: red.Error(err)}}
	}
	warnLocalPrograms(console, s, exec.LookPath)
	warnRetention(console, s)

	runID := j.runID
	if runID == "" {
		runID = leftovers.NewRunID(getenv)
	}
	workDir := j.workDir
	results, err := build.Run(ctx, s, build.Options{
		Cloud:          func(key string) (build.Cloud, error) { return sess.cloud(key) },
		UI:             console,
		Secrets:        red,
		Tracker:        j.tracker,
		Dial:           dial,
		IPv6Reachable:  ipv6Reachable,
		RunID:          runID,
		RunUUID:        runUUID,
		WorkDir:        workDir,
		Getenv:         getenv,
		Environ:        env.Environ(),
		ParallelBuilds: j.parallel,
		OnError:        j.onError,
		CancelBudget:   cancelBudget(j),
		Stop:           env.Stop,
		Ask:            term.askOnError(red),
		Pause:          term.pause(red),
		Interactive:    term.interactive(ctx, red),
		Version:        Version,
	})
	if len(results) == 0 && err != nil {
		// Nothing started: pre-flight problems (with template positions)
		// or an interrupt before the first build.
		var ds spec.Diagnostics
		if errors.As(err, &ds) {
			for _, d := range ds {
				console.Error("", d.Error(), d.Pos, "Pre-flight failed")
			}
		} else {
			console.Error("", err.Error(), spec.Pos{}, "Build did not start")
		}
	}
	reportResults(console, results, err)
	reportLeft(console, results, j.action != nil)
	if j.action != nil {
		ws := env.Getenv("GITHUB_WORKSPACE")
		if n, cerr := giveToWorkspaceOwner(ws, runStart); cerr != nil {
			console.Warn("", fmt.Sprintf("could not give files in the workspace to its owner: %v", cerr), spec.Pos{})
		} else if n > 0 {
			console.Debug(fmt.Sprintf("gave %d files written in the workspace to its owner", n))
		}
		if oerr := writeActionResults(j.action, s, results, red, workDir, ws); oerr != nil {
			console.Warn("", "could not write action outputs: "+oerr.Error(), spec.Pos{})
		}
	}
	if err != nil {
		var ds spec.Diagnostics
		if errors.As(err, &ds) {
			// Pre-flight problems: nothing was created.
			return results, &reportedError{err: &UsageError{Err: red.Error(err)}}
		}
		return results, &reportedError{err: red.Error(err)}
	}
	return results, nil
}

// reportTemplateError shows every template problem, with its position.
func reportTemplateError(console *ui.Console, err error) {
	var ds spec.Diagnostics
	if errors.As(err, &ds) {
		for _, d := range ds {
			console.Diagnostic(d, "Template error")
		}
		return
	}
	console.Error("", err.Error(), spec.Pos{}, "Template error")
}

// reportResults prints Packer's closing lines and, with -machine-readable,
// its artifact lines.
func reportResults(console *ui.Console, results []*build.Result, err error) {
	for _, r := range results {
		if r.Err != nil {
			console.Error(r.Name, fmt.Sprintf("Build '%s' errored after %s: %v", r.Name, r.Duration().Round(time.Millisecond), r.Err), spec.Pos{}, "Build failed: "+r.Name)
		}
	}
	var ok []*build.Result
	for _, r := range results {
		if r.ArtifactID != "" && r.Status == build.Succeeded {
			ok = append(ok, r)
		}
	}
	if console.Machine("", "ui", "say", "==> Builds finished. The artifacts of successful builds are:") {
		for _, r := range ok {
			console.Machine(r.Name, "artifact-count", "1")
			console.Machine(r.Name, "artifact", "0", "builder-id", r.BuilderID)
			console.Machine(r.Name, "artifact", "0", "id", r.ArtifactID)
			console.Machine(r.Name, "artifact", "0", "string", build.ArtifactString(r))
			console.Machine(r.Name, "artifact", "0", "files-count", "0")
			console.Machine(r.Name, "artifact", "0", "end")
		}
		if err != nil {
			n := 0
			for _, r := range results {
				if r.Err != nil {
					n++
				}
			}
			console.Machine("", "error-count", fmt.Sprint(n))
		}
		return
	}
	if len(ok) == 0 {
		if err == nil {
			console.Raw("==> Builds finished but no artifacts were created.\n")
		}
		return
	}
	console.Raw("==> Builds finished. The artifacts of successful builds are:\n")
	for _, r := range ok {
		console.Raw(fmt.Sprintf("--> %s: %s\n", r.Name, build.ArtifactString(r)))
	}
	// Snapshots made by builds that later failed are still reported.
	for _, r := range results {
		if r.SnapshotID != "" && r.Status != build.Succeeded {
			console.Raw(fmt.Sprintf("--> %s: snapshot %s was created before the build failed\n", r.Name, r.SnapshotID))
		}
	}
}

// newUUID is a random (version 4) UUID.
func newUUID() string { return uuid.NewString() }

// resolveTemplatePath makes a relative template path relative to base.
func resolveTemplatePath(base, p string) string {
	if filepath.IsAbs(p) || base == "" {
		return p
	}
	return filepath.Join(base, p)
}

// within reports whether path is inside dir (after cleaning and resolving
// symlinks where possible).
func within(dir, path string) bool {
	clean := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return filepath.Clean(p)
	}
	d, p := clean(dir), clean(path)
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(os.PathSeparator))
}

// isTerminal reports whether w is a terminal, where colour helps; logs and
// pipes get plain text.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// jobGetenv is the environment a job's template sees: the action's api-key
// input, when given, is VULTR_API_KEY. The post step derives the same keys
// through it.
func jobGetenv(env Env, j job) func(string) string {
	if j.apiKey == "" {
		return env.Getenv
	}
	key := j.apiKey
	return func(k string) string {
		if k == "VULTR_API_KEY" {
			return key
		}
		return env.Getenv(k)
	}
}

// jobTemplateOptions are how a job's template is loaded.
func jobTemplateOptions(j job, getenv func(string) string, runUUID string) templateOptions {
	return templateOptions{
		vars: j.vars, varFiles: j.varFiles, only: j.only, except: j.except,
		getenv: getenv, now: time.Now(), runUUID: runUUID, cwd: j.workDir, fetches: &decode.Fetches{},
	}
}

// loadJobTemplate loads a job's template, registers its secrets, and
// applies the job's overrides of retention.
func loadJobTemplate(j job, o templateOptions, red *redact.Redactor) (*spec.Spec, error) {
	s, err := loadTemplate(j.template, o)
	if s != nil {
		red.Add(s.Secrets...)
		for _, b := range s.Builds {
			red.Add(b.Vultr.APIKey, b.SSH.Password)
			if b.SSH.Bastion != nil {
				red.Add(b.SSH.Bastion.Password)
			}
		}
	}
	if err != nil {
		return s, err
	}
	if len(j.verify) > 0 {
		if err := decode.AddVerify(s, j.verify, spec.Pos{File: "action input verify"}); err != nil {
			return s, &UsageError{Err: err}
		}
	}
	for i := range s.Builds {
		v := &s.Builds[i].Vultr
		if j.keepSnapshots >= 0 {
			v.KeepSnapshots = j.keepSnapshots
		}
		if j.keepPrefix != "" {
			if !strings.HasPrefix(v.SnapshotDescription, j.keepPrefix) {
				return s, &UsageError{Err: fmt.Errorf("keep-snapshots-prefix %q is not how build %s's snapshot_description %q starts: retention would judge other images' snapshots", j.keepPrefix, s.Builds[i].Name, v.SnapshotDescription)}
			}
			v.KeepSnapshotsPrefix = j.keepPrefix
		}
	}
	return s, nil
}

// cancelBudget is how long each delete may take after a cancel. The runner
// kills a cancelled action about 10 s after its first signal (the post step
// then finishes the job); on the command line a second Ctrl-C stops the
// wait, so it can outlast Vultr's install lock.
func cancelBudget(j job) time.Duration {
	if j.action != nil {
		return 6 * time.Second
	}
	return 3 * time.Minute
}

// reportLeft names what cleanup could not delete, and how to delete it and
// nothing else: what a build kept on purpose (and said so) is excepted.
func reportLeft(console *ui.Console, results []*build.Result, inAction bool) {
	var left, kept []leftovers.Resource
	for _, r := range results {
		left = append(left, r.Left...)
		kept = append(kept, r.Kept...)
	}
	left = slices.DeleteFunc(left, func(l leftovers.Resource) bool {
		return slices.ContainsFunc(kept, func(k leftovers.Resource) bool { return k.Kind == l.Kind && k.ID == l.ID })
	})
	if len(left) == 0 {
		return
	}
	names := make([]string, len(left))
	for i, r := range left {
		names[i] = r.String()
	}
	msg := fmt.Sprintf("Cleanup did not finish; still billed: %s. Delete them with: %s", strings.Join(names, ", "), leftovers.CleanupCommand(left, kept...))
	if inAction {
		msg += " (the action's post step tries again)"
	}
	console.Error("", msg, spec.Pos{}, "Resources left behind")
}

// packerLog is where PACKER_LOG sends debug lines: PACKER_LOG_PATH, else
// standard error. Nil when PACKER_LOG is unset or "0".
func packerLog(env Env) io.Writer {
	if v := env.Getenv("PACKER_LOG"); v == "" || v == "0" {
		return nil
	}
	if p := env.Getenv("PACKER_LOG_PATH"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err == nil {
			return f // closed when the process ends
		}
		fmt.Fprintf(env.Stderr, "PACKER_LOG_PATH %s: %v; logging to standard error\n", p, err)
	}
	return env.Stderr
}
