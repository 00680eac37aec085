package app

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

// BuildRequest is one build run, from the command line or from the
// action's inputs.
type BuildRequest struct {
	Template        string
	Vars, VarFiles  []string
	Only, Except    []string
	Parallel        int
	OnError         string // cleanup, abort, run-cleanup-provisioner or ask
	MachineReadable bool
	Color           bool
	Debug           bool
	Emulator        bool   // build against the built-in emulator
	EmulatorSSHD    string // with Emulator: an OpenSSH sshd for its machines
	APIKey          string // the action's api-key input; wins over VULTR_API_KEY
	RunID           string // names this run's resources; generated when empty
	KeepSnapshots   int    // -1: as the template says
	KeepPrefix      string // overrides keep_snapshots_prefix when set
	Timestamps      bool   // -timestamp-ui
	Timeout         time.Duration
	WorkDir         string
	Verify          []string // the action's verify input: checks of every vultr build's snapshot

	// Action, when set, is the Actions runner the run reports to: groups,
	// masks, annotations, outputs and the step summary.
	Action *ghaction.Action
	// Tracker is told each temporary resource the moment it exists.
	Tracker build.Tracker
}

// BuildReport is what a build run made.
type BuildReport struct {
	Spec    *spec.Spec
	Results []*build.Result
}

// Build loads, validates and builds. It shows every problem itself and
// returns an error whose kind says what happened: a *UsageError when
// nothing was created.
func Build(ctx context.Context, w World, j BuildRequest) (BuildReport, error) {
	if j.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, j.Timeout)
		defer cancel()
	}
	// Secrets are masked before the first line is written.
	sess := NewSession(w, j.Action, w.Getenv("VULTR_API_URL"), j.APIKey)
	console := buildConsole(w, j, sess)
	if j.Action == nil && w.Stop != nil {
		defer context.AfterFunc(ctx, func() {
			if errors.Is(ctx.Err(), context.Canceled) {
				console.Say("", "Interrupted: cleaning up. Press Ctrl-C again to stop waiting; whatever is left will be listed with the command that deletes it.")
			}
		})()
	}
	reach, err := reachCloud(ctx, w, &j, sess, console)
	if err != nil {
		return BuildReport{}, err
	}
	defer reach.close()
	if j.WorkDir == "" {
		j.WorkDir, _ = w.Getwd()
	}
	runUUID, runStart := newUUID(), time.Now()
	s, err := loadForBuild(w, j, runUUID, sess.Red, console)
	if err != nil {
		return BuildReport{Spec: s}, err
	}
	results, err := build.Run(ctx, s, buildOptions(ctx, w, j, sess, console, reach, runUUID))
	reportBuild(console, results, err, j.Action != nil)
	if j.Action != nil {
		reportToAction(w, j, s, results, sess, console, runStart)
	}
	return BuildReport{Spec: s, Results: results}, buildError(err, sess)
}

// buildConsole is the run's log, as the request and the environment ask.
func buildConsole(w World, j BuildRequest, sess *Session) *ui.Console {
	console := ui.New(ui.Options{
		Out:             w.Stdout,
		Redactor:        sess.Red,
		Action:          j.Action,
		Groups:          j.Action != nil,
		MachineReadable: j.MachineReadable,
		Color:           j.Color && j.Action == nil && !j.MachineReadable && IsTerminal(w.Stdout),
		Debug:           j.Debug || (j.Action != nil && j.Action.DebugEnabled()),
		Workspace:       w.Getenv("GITHUB_WORKSPACE"),
		Timestamps:      j.Timestamps,
		Log:             packerLog(w),
	})
	sess.debug = console.Debug
	return console
}

// reach is how the run reaches the cloud and its machines: the real ones,
// or the built-in emulator's.
type reach struct {
	dial          func(ctx context.Context, network, addr string) (net.Conn, error)
	ipv6Reachable func() bool
	close         func()
}

// reachCloud starts the emulator when the request asks for it (its API
// key then replaces the request's).
func reachCloud(ctx context.Context, w World, j *BuildRequest, sess *Session, console *ui.Console) (reach, error) {
	r := reach{ipv6Reachable: w.IPv6Reachable, close: func() {}}
	if r.ipv6Reachable == nil {
		r.ipv6Reachable = remote.IPv6Reachable
	}
	if !j.Emulator {
		return r, nil
	}
	emu, err := StartEmulator(ctx, EmulatorOptions{SSHD: j.EmulatorSSHD, Logf: console.Debug})
	if err != nil {
		return r, fmt.Errorf("start the built-in emulator: %w", err)
	}
	sess.Red.Add(emu.APIKey)
	sess.baseURL, r.dial, r.close = emu.URL, emu.Dial, emu.Close
	r.ipv6Reachable = func() bool { return true } // the emulator routes its addresses
	console.Say("emulator", "Using the built-in Vultr API emulator at "+emu.URL+" (no real resources are created)")
	j.APIKey = emu.APIKey
	return r, nil
}

// loadForBuild loads the request's template and shows its warnings, or
// every problem it has (then the error is a shown *UsageError).
func loadForBuild(w World, j BuildRequest, runUUID string, red *redact.Redactor, console *ui.Console) (*spec.Spec, error) {
	topts := jobTemplateOptions(j, jobGetenv(w, j), runUUID)
	topts.secret = red.Add
	s, err := loadJobTemplate(j, topts, red)
	if err == nil {
		markVaryingDescriptions(j.Template, topts, s)
	}
	if s != nil {
		for _, d := range s.Warnings {
			console.Warn("", d.Error(), d.Pos)
		}
	}
	if err != nil {
		reportTemplateError(console, err)
		return s, &ShownError{Err: &UsageError{Err: red.Error(err)}}
	}
	warnLocalPrograms(console, s, exec.LookPath)
	warnRetention(console, s)
	return s, nil
}

// buildOptions wire the outside world into package build.
func buildOptions(ctx context.Context, w World, j BuildRequest, sess *Session, console *ui.Console, r reach, runUUID string) build.Options {
	getenv := jobGetenv(w, j)
	runID := j.RunID
	if runID == "" {
		runID = leftovers.NewRunID(getenv)
	}
	term, red := newTerminal(w, j), sess.Red
	return build.Options{
		Cloud:          func(key string) (build.Cloud, error) { return sess.Cloud(key) },
		UI:             console,
		Secrets:        red,
		Tracker:        j.Tracker,
		Dial:           r.dial,
		IPv6Reachable:  r.ipv6Reachable,
		RunID:          runID,
		RunUUID:        runUUID,
		WorkDir:        j.WorkDir,
		Getenv:         getenv,
		Environ:        w.Environ(),
		ParallelBuilds: j.Parallel,
		OnError:        j.OnError,
		CancelBudget:   cancelBudget(j),
		Stop:           w.Stop,
		Ask:            term.askOnError(red),
		Pause:          term.pause(red),
		Interactive:    term.interactive(ctx, red),
		Version:        w.Version,
	}
}

// reportBuild shows why nothing started (pre-flight problems, with their
// template positions, or an interrupt), Packer's closing lines, and what
// cleanup left.
func reportBuild(console *ui.Console, results []*build.Result, err error, inAction bool) {
	if len(results) == 0 && err != nil {
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
	reportLeft(console, results, inAction)
}

// reportToAction gives the files the run wrote in the workspace to its
// owner, and writes the step's outputs and summary.
func reportToAction(w World, j BuildRequest, s *spec.Spec, results []*build.Result, sess *Session, console *ui.Console, runStart time.Time) {
	ws := w.Getenv("GITHUB_WORKSPACE")
	if n, err := giveToWorkspaceOwner(ws, runStart); err != nil {
		console.Warn("", fmt.Sprintf("could not give files in the workspace to its owner: %v", err), spec.Pos{})
	} else if n > 0 {
		console.Debug(fmt.Sprintf("gave %d files written in the workspace to its owner", n))
	}
	if err := writeActionResults(j.Action, s, results, sess.Red, j.WorkDir, ws); err != nil {
		console.Warn("", "could not write action outputs: "+err.Error(), spec.Pos{})
	}
}

// buildError is the run's error, masked and marked shown: pre-flight
// problems are a *UsageError (nothing was created).
func buildError(err error, sess *Session) error {
	if err == nil {
		return nil
	}
	var ds spec.Diagnostics
	if errors.As(err, &ds) {
		return &ShownError{Err: &UsageError{Err: sess.Red.Error(err)}}
	}
	return &ShownError{Err: sess.Red.Error(err)}
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

// ResolvePath makes a relative template path relative to base.
func ResolvePath(base, p string) string {
	if filepath.IsAbs(p) || base == "" {
		return p
	}
	return filepath.Join(base, p)
}

// Within reports whether path is inside dir (after cleaning and resolving
// symlinks where possible).
func Within(dir, path string) bool {
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

// IsTerminal reports whether w is a terminal, where colour helps; logs and
// pipes get plain text.
func IsTerminal(w any) bool {
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
func jobGetenv(w World, j BuildRequest) func(string) string {
	if j.APIKey == "" {
		return w.Getenv
	}
	key := j.APIKey
	return func(k string) string {
		if k == "VULTR_API_KEY" {
			return key
		}
		return w.Getenv(k)
	}
}

// jobTemplateOptions are how a job's template is loaded.
func jobTemplateOptions(j BuildRequest, getenv func(string) string, runUUID string) templateOptions {
	return templateOptions{
		vars: j.Vars, varFiles: j.VarFiles, only: j.Only, except: j.Except,
		getenv: getenv, now: time.Now(), runUUID: runUUID, cwd: j.WorkDir, fetches: &decode.Fetches{},
	}
}

// loadJobTemplate loads a job's template, registers its secrets, and
// applies the job's overrides of retention.
func loadJobTemplate(j BuildRequest, o templateOptions, red *redact.Redactor) (*spec.Spec, error) {
	s, err := loadTemplate(j.Template, o)
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
	if len(j.Verify) > 0 {
		if err := decode.AddVerify(s, j.Verify, spec.Pos{File: "action input verify"}); err != nil {
			return s, &UsageError{Err: err}
		}
	}
	for i := range s.Builds {
		v := &s.Builds[i].Vultr
		if j.KeepSnapshots >= 0 {
			v.KeepSnapshots = j.KeepSnapshots
		}
		if j.KeepPrefix != "" {
			if !strings.HasPrefix(v.SnapshotDescription, j.KeepPrefix) {
				return s, &UsageError{Err: fmt.Errorf("keep-snapshots-prefix %q is not how build %s's snapshot_description %q starts: retention would judge other images' snapshots", j.KeepPrefix, s.Builds[i].Name, v.SnapshotDescription)}
			}
			v.KeepSnapshotsPrefix = j.KeepPrefix
		}
	}
	return s, nil
}

// cancelBudget is how long each delete may take after a cancel. The runner
// kills a cancelled action about 10 s after its first signal (the post step
// then finishes the job); on the command line a second Ctrl-C stops the
// wait, so it can outlast Vultr's install lock.
func cancelBudget(j BuildRequest) time.Duration {
	if j.Action != nil {
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
func packerLog(w World) io.Writer {
	if v := w.Getenv("PACKER_LOG"); v == "" || v == "0" {
		return nil
	}
	if p := w.Getenv("PACKER_LOG_PATH"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err == nil {
			return f // closed when the process ends
		}
		fmt.Fprintf(w.Stderr, "PACKER_LOG_PATH %s: %v; logging to standard error\n", p, err)
	}
	return w.Stderr
}
