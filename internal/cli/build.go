package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/build"
	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/ui"
	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
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
	timeout         time.Duration
	workDir         string

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
	fs.StringVar(&j.onError, "on-error", "cleanup", "what to do with a failed build's instance: cleanup or abort (keep it for debugging)")
	fs.BoolVar(&j.machineReadable, "machine-readable", false, "print Packer's machine-readable output")
	fs.BoolVar(&j.color, "color", true, "colour the output")
	fs.BoolVar(&j.debug, "debug", false, "show API calls and timings")
	fs.BoolVar(&j.emulator, "emulator", false, "build against the built-in Vultr API emulator (no account needed)")
	fs.StringVar(&j.emulatorSSHD, "emulator-sshd", "", "with -emulator: run this OpenSSH `sshd` inside each emulated machine instead of the built-in SSH server")
	fs.IntVar(&j.keepSnapshots, "keep-snapshots", -1, "keep the newest `N` snapshots with the build's description, deleting older ones; -1 uses the template's keep_snapshots")
	fs.DurationVar(&j.timeout, "timeout", 0, "give up (and clean up) after this `duration`; 0 means no limit")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageErrorf("build takes exactly one template path, got %d arguments", fs.NArg())
	}
	if j.onError != "cleanup" && j.onError != "abort" {
		return usageErrorf("-on-error %q: valid values are cleanup and abort", j.onError)
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
	red := redact.New()
	if j.action != nil {
		act := j.action
		red.OnAdd(func(s string) { _ = act.Mask(s) })
	}
	red.Add(j.apiKey, env.Getenv("VULTR_API_KEY"))

	console := ui.New(ui.Options{
		Out:             env.Stdout,
		Redactor:        red,
		Action:          j.action,
		Groups:          j.action != nil,
		MachineReadable: j.machineReadable,
		Color:           j.color && j.action == nil && !j.machineReadable && isTerminal(env.Stdout),
		Debug:           j.debug || (j.action != nil && j.action.DebugEnabled()),
		Workspace:       env.Getenv("GITHUB_WORKSPACE"),
	})

	getenv := env.Getenv
	apiURL := getenv("VULTR_API_URL")
	var dial func(ctx context.Context, network, addr string) (net.Conn, error)
	if j.emulator {
		emu, err := startEmulator(ctx, emulatorOptions{sshd: j.emulatorSSHD, logf: console.Debug})
		if err != nil {
			return nil, fmt.Errorf("start the built-in emulator: %w", err)
		}
		defer emu.Close()
		red.Add(emu.APIKey)
		apiURL, dial = emu.URL, emu.Dial
		console.Say("emulator", "Using the built-in Vultr API emulator at "+emu.URL+" (no real resources are created)")
		j.apiKey = emu.APIKey
	}
	if j.apiKey != "" {
		key := j.apiKey
		base := getenv
		getenv = func(k string) string {
			if k == "VULTR_API_KEY" {
				return key
			}
			return base(k)
		}
	}

	now := time.Now()
	runUUID := newUUID()
	s, err := loadTemplate(j.template, templateOptions{
		vars: j.vars, varFiles: j.varFiles, only: j.only, except: j.except,
		getenv: getenv, now: now, runUUID: runUUID,
	})
	if s != nil {
		red.Add(s.Secrets...)
		for _, b := range s.Builds {
			red.Add(b.Vultr.APIKey, b.SSH.Password)
			if b.SSH.Bastion != nil {
				red.Add(b.SSH.Bastion.Password)
			}
		}
		for _, w := range s.Warnings {
			console.Warn("", w.Error(), w.Pos)
		}
	}
	if err != nil {
		reportTemplateError(console, err)
		return nil, &reportedError{err: &UsageError{Err: err}}
	}
	if j.keepSnapshots >= 0 {
		for i := range s.Builds {
			s.Builds[i].Vultr.KeepSnapshots = j.keepSnapshots
		}
	}

	runID := j.runID
	if runID == "" {
		runID = newRunID(getenv)
	}
	clouds := &cloudCache{baseURL: apiURL, debug: console.Debug, red: red}
	workDir := j.workDir
	if workDir == "" {
		workDir, _ = env.Getwd()
	}
	results, err := build.Run(ctx, s, build.Options{
		Cloud:          clouds.get,
		UI:             console,
		Secrets:        red,
		Tracker:        j.tracker,
		Dial:           dial,
		RunID:          runID,
		RunUUID:        runUUID,
		WorkDir:        workDir,
		Getenv:         getenv,
		Environ:        env.Environ(),
		ParallelBuilds: j.parallel,
		OnError:        j.onError,
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
	if j.action != nil {
		if oerr := writeActionResults(j.action, s, results, red, workDir); oerr != nil {
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
		if r.SnapshotID != "" && r.Status == build.Succeeded {
			ok = append(ok, r)
		}
	}
	if console.Machine("", "ui", "say", "==> Builds finished. The artifacts of successful builds are:") {
		for _, r := range ok {
			console.Machine(r.Name, "artifact-count", "1")
			console.Machine(r.Name, "artifact", "0", "builder-id", "packer.vultr")
			console.Machine(r.Name, "artifact", "0", "id", r.SnapshotID)
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

// cloudCache hands out one API client per API key.
type cloudCache struct {
	baseURL string
	debug   func(string)
	red     *redact.Redactor
	mu      sync.Mutex
	clients map[string]*vultr.Client
}

func (c *cloudCache) get(apiKey string) (build.Cloud, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[apiKey]; ok {
		return cl, nil
	}
	c.red.Add(apiKey)
	cl, err := vultr.New(vultr.Config{
		APIKey:    apiKey,
		BaseURL:   c.baseURL,
		UserAgent: "vultr-image-action/" + Version,
		Logf:      func(format string, args ...any) { c.debug(fmt.Sprintf(format, args...)) },
	})
	if err != nil {
		return nil, fmt.Errorf("vultr client: %w", err)
	}
	if c.clients == nil {
		c.clients = map[string]*vultr.Client{}
	}
	c.clients[apiKey] = cl
	return cl, nil
}

// newRunID names this run in tags and key names: the GitHub run when there
// is one (so a sweep can tell runs apart), plus randomness.
func newRunID(getenv func(string) string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	r := hex.EncodeToString(b[:])
	if id := getenv("GITHUB_RUN_ID"); id != "" {
		attempt := getenv("GITHUB_RUN_ATTEMPT")
		if attempt == "" {
			attempt = "1"
		}
		return "gh" + id + "-" + attempt + "-" + r
	}
	return r
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

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
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
