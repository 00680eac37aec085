package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/build"
	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
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
		return &reportedError{err: err}
	}
	switch in.mode {
	case "validate":
		return runValidate(env, in.job.template, in.job, false, act)
	case "sweep":
		return runSweep(ctx, env, sweepOptions{olderThan: in.olderThan, yes: in.sweepYes, apiKey: in.apiKey}, act)
	case "verify-attestation":
		return runVerifyAttestation(ctx, env, in.verify, act)
	}
	j := in.job
	j.action = act
	tr := &stateTracker{act: act}
	j.tracker = tr
	if u := env.Getenv("VULTR_API_URL"); u != "" {
		_ = act.SaveState(stateAPIURL, u)
	}
	// The run ID is saved before anything exists: a kill between a create
	// and the record of its ID still leaves the post step a way to find it.
	j.runID = leftovers.NewRunID(env.Getenv)
	if err := act.SaveState(stateRunID, j.runID); err != nil {
		_ = act.Annotate(ghaction.LevelWarning, "cannot save state for the post step: "+err.Error(), ghaction.Location{})
	}
	_, err = runJob(ctx, env, j)
	return err
}

// actionInputs are the validated inputs of the action.
type actionInputs struct {
	mode      string
	apiKey    string
	job       job
	olderThan time.Duration
	sweepYes  bool
	verify    verifyRequest
}

// readInputs validates every input: the runner does not enforce required.
func readInputs(act *ghaction.Action, env Env) (actionInputs, error) {
	var in actionInputs
	var errs []error
	str := func(name string) string {
		v, err := act.CheckedInput(name)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	list := func(name string, commas bool) []string {
		v, err := act.ListInput(name, commas)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	boolean := func(name string, def bool) bool {
		v, err := act.BoolInput(name, def)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	integer := func(name string, def int) int {
		v, err := act.IntInput(name, def)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	in.apiKey = str("api-key")
	in.mode = str("mode")
	if in.mode == "" {
		in.mode = "build"
	}
	switch in.mode {
	case "build", "validate", "sweep", "verify-attestation":
	default:
		errs = append(errs, &ghaction.InputError{Input: "mode", Msg: fmt.Sprintf("%q is not a mode; valid modes are build, validate, sweep and verify-attestation", in.mode)})
	}
	workspace := env.Getenv("GITHUB_WORKSPACE")
	wd := str("working-directory")
	base := workspace
	if wd != "" {
		base = resolveTemplatePath(workspace, wd)
		if workspace != "" && !within(workspace, base) {
			errs = append(errs, &ghaction.InputError{Input: "working-directory", Msg: fmt.Sprintf("%q is outside the workspace %s", wd, workspace)})
		}
	}
	j := job{keepSnapshots: -1, workDir: base, color: false}
	j.template = str("template")
	j.vars = list("variables", false)
	j.varFiles = list("var-files", false)
	for i, f := range j.varFiles {
		j.varFiles[i] = resolveTemplatePath(base, f)
	}
	j.verify = list("verify", false)
	j.only = list("only", true)
	j.except = list("except", true)
	j.parallel = integer("parallel-builds", 0)
	if v := str("keep-snapshots"); v != "" {
		j.keepSnapshots = integer("keep-snapshots", 0)
	}
	j.keepPrefix = str("keep-snapshots-prefix")
	if v := str("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, &ghaction.InputError{Input: "timeout", Msg: fmt.Sprintf("%q is not a duration such as 45m or 1h30m", v)})
		}
		j.timeout = d
	}
	j.onError = str("on-error")
	switch j.onError {
	case "":
		j.onError = "cleanup"
	case "cleanup", "abort":
	default:
		errs = append(errs, &ghaction.InputError{Input: "on-error", Msg: fmt.Sprintf("%q: valid values are cleanup and abort", j.onError)})
	}
	j.apiKey = in.apiKey
	if v := str("older-than"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, &ghaction.InputError{Input: "older-than", Msg: fmt.Sprintf("%q is not a positive duration such as 6h", v)})
		}
		in.olderThan = d
	} else {
		in.olderThan = 6 * time.Hour
	}
	in.sweepYes = boolean("yes", false)

	if in.mode == "verify-attestation" {
		in.verify = verifyInputs(str, base, in.apiKey, &errs)
		in.job = j
		if len(errs) > 0 {
			return in, &UsageError{Err: errors.Join(errs...)}
		}
		return in, nil
	}
	if in.mode != "sweep" {
		if j.template == "" {
			errs = append(errs, &ghaction.InputError{Input: "template", Msg: "is required: the path of a Packer template (JSON or HCL2) in the repository"})
		} else {
			j.template = resolveTemplatePath(base, j.template)
			if workspace != "" && !within(workspace, j.template) {
				errs = append(errs, &ghaction.InputError{Input: "template", Msg: fmt.Sprintf("%q resolves outside the workspace %s", str("template"), workspace)})
			} else if _, err := os.Stat(j.template); err != nil {
				errs = append(errs, &ghaction.InputError{Input: "template", Msg: fmt.Sprintf("cannot read %s: %v", j.template, errors.Unwrap(err))})
			}
		}
	}
	if in.mode != "validate" && in.apiKey == "" {
		errs = append(errs, &ghaction.InputError{Input: "api-key", Msg: "is required: pass a Vultr API key from a secret, e.g. api-key: ${{ secrets.VULTR_API_KEY }}"})
	}
	in.job = j
	if len(errs) > 0 {
		return in, &UsageError{Err: errors.Join(errs...)}
	}
	return in, nil
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

// writeActionResults sets the step outputs and the job summary.
func writeActionResults(act *ghaction.Action, s *spec.Spec, results []*build.Result, red *redact.Redactor, workDir, workspace string) error {
	var errs []error
	set := func(k, v string) { errs = append(errs, act.SetOutput(k, red.String(v))) }
	ids := map[string]string{}
	first := ""
	for _, r := range results {
		if r.SnapshotID != "" && r.Status == build.Succeeded {
			ids[r.Name] = r.SnapshotID
			if first == "" {
				first = r.SnapshotID
			}
		}
	}
	set("snapshot-id", first)
	idsJSON, _ := json.Marshal(ids)
	set("snapshot-ids", string(idsJSON))
	if len(results) > 0 {
		r := results[0]
		set("snapshot-description", r.Description)
		set("region", r.Region)
		var total time.Duration
		for _, r := range results {
			if d := r.Duration(); d > total {
				total = d
			}
		}
		set("build-time", fmt.Sprintf("%.0f", total.Seconds()))
	}
	if m := manifestPath(s, workDir); m != "" {
		// Relative to the workspace: the path inside the container
		// (/github/workspace/...) means nothing to a later step.
		set("manifest", workspaceRelative(workspace, m))
	}
	sbomPath, provPath := firstProof(results)
	set("sbom", workspaceRelative(workspace, sbomPath))
	set("provenance", workspaceRelative(workspace, provPath))
	set("verified", verifiedOutput(results))
	artifacts, _ := json.Marshal(artifactsJSON(results, red, workspace))
	set("artifacts", string(artifacts))
	errs = append(errs, act.AddStepSummary(red.String(summaryMarkdown(results, red.String))))
	return errors.Join(errs...)
}

// manifestPath is the first manifest post-processor's output, if any.
func manifestPath(s *spec.Spec, workDir string) string {
	if s == nil {
		return ""
	}
	for _, b := range s.Builds {
		for _, seq := range b.PostProcessors {
			for _, pp := range seq {
				if pp.Manifest != nil {
					p := pp.Manifest.Output
					if p == "" {
						p = "packer-manifest.json"
					}
					if !filepath.IsAbs(p) && workDir != "" {
						p = filepath.Join(workDir, p)
					}
					return p
				}
			}
		}
	}
	return ""
}

type artifactJSON struct {
	Name        string  `json:"name"`
	Status      string  `json:"status"`
	SnapshotID  string  `json:"snapshot_id,omitempty"`
	BuilderType string  `json:"builder_type"`
	ArtifactID  string  `json:"artifact_id,omitempty"`
	Description string  `json:"description"`
	Region      string  `json:"region"`
	Plan        string  `json:"plan"`
	Image       string  `json:"image"`
	Seconds     float64 `json:"build_seconds"`
	Error       string  `json:"error,omitempty"`
	// The build's SBOM and attestations, workspace-relative.
	SBOM            string `json:"sbom,omitempty"`
	SBOMPackages    int    `json:"sbom_packages,omitempty"`
	Provenance      string `json:"provenance,omitempty"`
	SBOMAttestation string `json:"sbom_attestation,omitempty"`
	Signing         string `json:"signing,omitempty"`
	// Verified is "true" or "false" when the snapshot was checked.
	Verified string `json:"verified,omitempty"`
}

// verifiedOutput is "true" when every checked build's snapshot passed,
// "false" when one failed, "" when none was checked.
func verifiedOutput(results []*build.Result) string {
	out := ""
	for _, r := range results {
		switch r.Verified() {
		case "false":
			return "false"
		case "true":
			out = "true"
		}
	}
	return out
}

// firstProof is the first build's SBOM and provenance statement, for the
// sbom and provenance outputs (the artifacts output has every build's).
func firstProof(results []*build.Result) (sbomPath, provenance string) {
	for _, r := range results {
		if sbomPath == "" && r.SBOM != nil {
			sbomPath = r.SBOM.Path
		}
		for _, a := range r.Attestations {
			if provenance == "" && a.Kind == "provenance" {
				provenance = a.Path
			}
		}
	}
	return sbomPath, provenance
}

func artifactsJSON(results []*build.Result, red *redact.Redactor, workspace string) []artifactJSON {
	out := make([]artifactJSON, 0, len(results))
	for _, r := range results {
		a := artifactJSON{Name: r.Name, Status: string(r.Status), SnapshotID: r.SnapshotID, BuilderType: r.Type, ArtifactID: r.ArtifactID, Description: r.Description,
			Region: r.Region, Plan: r.Plan, Image: r.Image, Seconds: r.Duration().Round(time.Millisecond).Seconds()}
		if r.Err != nil {
			a.Error = red.String(r.Err.Error())
		}
		a.Verified = r.Verified()
		if r.SBOM != nil {
			a.SBOM, a.SBOMPackages = workspaceRelative(workspace, r.SBOM.Path), r.SBOM.Packages
		}
		for _, at := range r.Attestations {
			a.Signing = at.Signing
			switch at.Kind {
			case "provenance":
				a.Provenance = workspaceRelative(workspace, at.Path)
			case "sbom":
				a.SBOMAttestation = workspaceRelative(workspace, at.Path)
			}
		}
		out = append(out, a)
	}
	return out
}

// workspaceRelative is p relative to the workspace, when it is inside it.
func workspaceRelative(workspace, p string) string {
	if workspace == "" || !within(workspace, p) {
		return p
	}
	rel, err := filepath.Rel(workspace, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(rel)
}

// verifyInputs are the inputs of mode verify-attestation.
func verifyInputs(str func(string) string, base, apiKey string, errs *[]error) verifyRequest {
	path := func(name string) string {
		if v := str(name); v != "" {
			return resolveTemplatePath(base, v)
		}
		return ""
	}
	r := verifyRequest{attestation: path("attestation"), bundle: path("bundle"), key: path("verify-key"), trustedRoot: path("trusted-root"),
		snapshot: str("snapshot-id"), identity: str("keyless-identity"), issuer: str("keyless-oidc-issuer"), apiKey: apiKey}
	if r.attestation == "" {
		*errs = append(*errs, &ghaction.InputError{Input: "attestation", Msg: "is required by mode verify-attestation: the path of a provenance statement"})
	}
	if r.snapshot == "" {
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
func runVerifyAttestation(ctx context.Context, env Env, r verifyRequest, act *ghaction.Action) error {
	r.apiURL = env.Getenv("VULTR_API_URL")
	if err := verifyAttestation(ctx, env, r); err != nil {
		_ = act.Annotate(ghaction.LevelError, err.Error(), ghaction.Location{Title: "Attestation not verified"})
		return &reportedError{err: err}
	}
	fmt.Fprintf(env.Stdout, "Attestation verified: %s is about snapshot %s, which still exists.\n", r.attestation, r.snapshot)
	return nil
}
