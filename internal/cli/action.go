package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/app"
	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
)

// State keys shared by the main step and the post step. No secret is ever
// saved: the post step derives the API keys as the main step did.
const (
	stateInstances     = "instances"
	stateSSHKeys       = "ssh_keys"
	stateKeptInstances = "kept_instances"
	stateKeptSSHKeys   = "kept_ssh_keys"
	stateKeptWhy       = "kept_why" // JSON: ID -> why it was kept
	stateAPIURL        = "api_url"
	stateRunID         = "run_id"
)

// runAction is the action's main step: it reads the inputs and runs the
// mode they ask for.
func runAction(ctx context.Context, env Env) error {
	act := ghaction.New(env.Stdout, env.Getenv)
	in, err := readInputs(act, env)
	// The key is masked before anything else is written, error or not.
	if in.apiKey != "" {
		_ = act.Mask(in.apiKey)
	}
	if err != nil {
		_ = act.Annotate(ghaction.LevelError, err.Error(), ghaction.Location{Title: "Invalid input"})
		return &app.ShownError{Err: err}
	}
	switch in.mode {
	case "validate":
		j := in.job
		_, err := app.Validate(env, app.ValidateRequest{Template: j.Template, Vars: j.Vars, VarFiles: j.VarFiles, Only: j.Only, Except: j.Except, APIKey: j.APIKey, WorkDir: j.WorkDir, Action: act})
		if err == nil {
			fmt.Fprintln(env.Stdout, "The configuration is valid.")
		}
		return err
	case "sweep":
		return runSweep(ctx, env, app.SweepRequest{OlderThan: in.olderThan, Yes: in.sweepYes, APIKey: in.apiKey, Action: act})
	case "verify-attestation":
		return runVerifyAttestation(ctx, env, in.verify, act)
	}
	j := in.job
	j.Action = act
	tr := &stateTracker{act: act}
	j.Tracker = tr
	if u := env.Getenv("VULTR_API_URL"); u != "" {
		_ = act.SaveState(stateAPIURL, u)
	}
	// The run ID is saved before anything exists: a kill between a create
	// and the record of its ID still leaves the post step a way to find it.
	j.RunID = leftovers.NewRunID(env.Getenv)
	if err := act.SaveState(stateRunID, j.RunID); err != nil {
		_ = act.Annotate(ghaction.LevelWarning, "cannot save state for the post step: "+err.Error(), ghaction.Location{})
	}
	_, err = app.Build(ctx, env, j)
	return err
}

// actionInputs are the validated inputs of the action.
type actionInputs struct {
	mode      string
	apiKey    string
	job       app.BuildRequest
	olderThan time.Duration
	sweepYes  bool
	verify    app.VerifyRequest
}

// readInputs validates every input: the runner does not enforce required.
func readInputs(act *ghaction.Action, env Env) (actionInputs, error) {
	r := &inputReader{act: act}
	in := actionInputs{apiKey: r.str("api-key"), mode: r.str("mode")}
	if in.mode == "" {
		in.mode = "build"
	}
	switch in.mode {
	case "build", "validate", "sweep", "verify-attestation":
	default:
		r.fail("mode", fmt.Sprintf("%q is not a mode; valid modes are build, validate, sweep and verify-attestation", in.mode))
	}
	workspace := env.Getenv("GITHUB_WORKSPACE")
	base := workspace
	if wd := r.str("working-directory"); wd != "" {
		base = app.ResolvePath(workspace, wd)
		if workspace != "" && !app.Within(workspace, base) {
			r.fail("working-directory", fmt.Sprintf("%q is outside the workspace %s", wd, workspace))
		}
	}
	in.job = r.buildRequest(base)
	in.job.APIKey = in.apiKey
	in.olderThan = 6 * time.Hour
	if v := r.str("older-than"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			r.fail("older-than", fmt.Sprintf("%q is not a positive duration such as 6h", v))
		}
		in.olderThan = d
	}
	in.sweepYes = r.boolean("yes", false)
	if in.mode == "verify-attestation" {
		in.verify = verifyInputs(r.str, base, in.apiKey, &r.errs)
		return in, r.err()
	}
	if in.mode != "sweep" {
		in.job.Template = r.template(workspace, base, in.job.Template)
	}
	if in.mode != "validate" && in.apiKey == "" {
		r.fail("api-key", "is required: pass a Vultr API key from a secret, e.g. api-key: ${{ secrets.VULTR_API_KEY }}")
	}
	return in, r.err()
}

// buildRequest reads the inputs of a build (and of validate), relative
// to base.
func (r *inputReader) buildRequest(base string) app.BuildRequest {
	j := app.BuildRequest{KeepSnapshots: -1, WorkDir: base, Color: false}
	j.Template = r.str("template")
	j.Vars = r.list("variables", false)
	j.VarFiles = r.list("var-files", false)
	for i, f := range j.VarFiles {
		j.VarFiles[i] = app.ResolvePath(base, f)
	}
	j.Verify = r.list("verify", false)
	j.Only = r.list("only", true)
	j.Except = r.list("except", true)
	j.Parallel = r.integer("parallel-builds", 0)
	if v := r.str("keep-snapshots"); v != "" {
		j.KeepSnapshots = r.integer("keep-snapshots", 0)
	}
	j.KeepPrefix = r.str("keep-snapshots-prefix")
	if v := r.str("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			r.fail("timeout", fmt.Sprintf("%q is not a duration such as 45m or 1h30m", v))
		}
		j.Timeout = d
	}
	switch j.OnError = r.str("on-error"); j.OnError {
	case "":
		j.OnError = "cleanup"
	case "cleanup", "abort":
	default:
		r.fail("on-error", fmt.Sprintf("%q: valid values are cleanup and abort", j.OnError))
	}
	return j
}

// template resolves the template input against base: it is required,
// inside the workspace, and readable.
func (r *inputReader) template(workspace, base, given string) string {
	if given == "" {
		r.fail("template", "is required: the path of a Packer template (JSON or HCL2) in the repository")
		return ""
	}
	p := app.ResolvePath(base, given)
	if workspace != "" && !app.Within(workspace, p) {
		r.fail("template", fmt.Sprintf("%q resolves outside the workspace %s", given, workspace))
	} else if _, err := os.Stat(p); err != nil {
		r.fail("template", fmt.Sprintf("cannot read %s: %v", p, errors.Unwrap(err)))
	}
	return p
}

// inputReader reads the action's inputs, collecting every problem.
type inputReader struct {
	act  *ghaction.Action
	errs []error
}

func (r *inputReader) note(err error) {
	if err != nil {
		r.errs = append(r.errs, err)
	}
}

func (r *inputReader) fail(input, msg string) {
	r.errs = append(r.errs, &ghaction.InputError{Input: input, Msg: msg})
}

func (r *inputReader) str(name string) string {
	v, err := r.act.CheckedInput(name)
	r.note(err)
	return v
}

func (r *inputReader) list(name string, commas bool) []string {
	v, err := r.act.ListInput(name, commas)
	r.note(err)
	return v
}

func (r *inputReader) boolean(name string, def bool) bool {
	v, err := r.act.BoolInput(name, def)
	r.note(err)
	return v
}

func (r *inputReader) integer(name string, def int) int {
	v, err := r.act.IntInput(name, def)
	r.note(err)
	return v
}

// err is every problem, as one *app.UsageError; nil when there is none.
func (r *inputReader) err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return &app.UsageError{Err: errors.Join(r.errs...)}
}

// stateTracker saves the IDs of live temporary resources to GITHUB_STATE
// the moment they exist, so the post step can delete them after a kill,
// and the IDs on-error=abort keeps, so the post step leaves them alone.
type stateTracker struct {
	act *ghaction.Action
	mu  sync.Mutex
	ids map[string]map[string]bool // state name -> IDs
	why map[string]string          // kept ID -> why
}

func (t *stateTracker) Track(kind leftovers.Kind, id string) {
	t.update(liveState(kind), id, true)
}

func (t *stateTracker) Untrack(kind leftovers.Kind, id string) {
	t.update(liveState(kind), id, false)
}

func (t *stateTracker) Keep(kind leftovers.Kind, id, why string) {
	t.update(liveState(kind), id, false)
	name := stateKeptInstances
	if kind == leftovers.SSHKey {
		name = stateKeptSSHKeys
	}
	t.update(name, id, true)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.why == nil {
		t.why = map[string]string{}
	}
	t.why[id] = why
	b, _ := json.Marshal(t.why)
	_ = t.act.SaveState(stateKeptWhy, string(b))
}

func liveState(kind leftovers.Kind) string {
	if kind == leftovers.SSHKey {
		return stateSSHKeys
	}
	return stateInstances
}

func (t *stateTracker) update(name, id string, present bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ids == nil {
		t.ids = map[string]map[string]bool{}
	}
	if t.ids[name] == nil {
		t.ids[name] = map[string]bool{}
	}
	if present {
		t.ids[name][id] = true
	} else {
		delete(t.ids[name], id)
	}
	list := make([]string, 0, len(t.ids[name]))
	for k := range t.ids[name] {
		list = append(list, k)
	}
	sort.Strings(list)
	// The last value saved under a name wins, so the whole list is saved.
	_ = t.act.SaveState(name, strings.Join(list, ","))
}

func splitIDs(s string) []string {
	var out []string
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// verifyInputs are the inputs of mode verify-attestation.
func verifyInputs(str func(string) string, base, apiKey string, errs *[]error) app.VerifyRequest {
	path := func(name string) string {
		if v := str(name); v != "" {
			return app.ResolvePath(base, v)
		}
		return ""
	}
	r := app.VerifyRequest{Attestation: path("attestation"), Bundle: path("bundle"), Key: path("verify-key"), TrustedRoot: path("trusted-root"),
		Snapshot: str("snapshot-id"), Identity: str("keyless-identity"), Issuer: str("keyless-oidc-issuer"), APIKey: apiKey}
	if r.Attestation == "" {
		*errs = append(*errs, &ghaction.InputError{Input: "attestation", Msg: "is required by mode verify-attestation: the path of a provenance statement"})
	}
	if r.Snapshot == "" {
		*errs = append(*errs, &ghaction.InputError{Input: "snapshot-id", Msg: "is required by mode verify-attestation: the snapshot the statement must be about"})
	}
	if apiKey == "" {
		*errs = append(*errs, &ghaction.InputError{Input: "api-key", Msg: "is required by mode verify-attestation: it checks that the snapshot still exists"})
	}
	return r
}

// runVerifyAttestation is mode verify-attestation: it fails the step
// unless the statement is signed as expected, is about the snapshot, and
// the snapshot still exists as attested.
func runVerifyAttestation(ctx context.Context, env Env, r app.VerifyRequest, act *ghaction.Action) error {
	r.APIURL = env.Getenv("VULTR_API_URL")
	if err := app.VerifyAttestation(ctx, env, r); err != nil {
		_ = act.Annotate(ghaction.LevelError, err.Error(), ghaction.Location{Title: "Attestation not verified"})
		return &app.ShownError{Err: err}
	}
	fmt.Fprintf(env.Stdout, "Attestation verified: %s is about snapshot %s, which still exists.\n", r.Attestation, r.Snapshot)
	return nil
}
