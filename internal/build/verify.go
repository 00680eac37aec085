package build

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
	"github.com/vultr-image-action/vultr-image-action/internal/provision"
	"github.com/vultr-image-action/vultr-image-action/internal/remote"
	"github.com/vultr-image-action/vultr-image-action/internal/schema"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

// ErrVerifyFailed is a snapshot whose check failed.
var ErrVerifyFailed = errors.New("the snapshot failed its check")

// verifyKind is this tool's vultr-verify post-processor: the keys of a
// shell provisioner, and its own.
var verifyKind = PostProcessorKind{
	Block:  &schema.VultrVerify,
	Decode: decodeVerify,
	Check:  checkVerify,
	run: ppAs(func(ctx context.Context, p ppRun, v *spec.Verify) error {
		if p.st == nil { // validate refuses it: a null build makes no snapshot
			return fmt.Errorf("build %s made no snapshot to check", p.b.Name)
		}
		return verifySnapshot(ctx, p.st, p.r, p.o, v)
	}),
}

// decodeVerify reads a vultr-verify block.
func decodeVerify(f provision.Fields) any {
	v := &spec.Verify{Shell: provision.DecodeShell(f), Timeout: 10 * time.Minute}
	if t, ok := f.Duration("timeout"); ok && t > 0 {
		v.Timeout = t
	}
	switch mode, _ := f.String("on_failure"); mode {
	case "", "delete":
	case "keep":
		v.Keep = true
	default:
		f.BadValue("on_failure", fmt.Sprintf("on_failure %q is not a choice", mode), `valid: "delete" (the default) and "keep"`)
	}
	v.Region, _ = f.String("region_id")
	v.Plan, _ = f.String("plan_id")
	return v
}

// checkVerify fails a vultr-verify post-processor that cannot check its
// build, or that comes too late (after the snapshot is recorded or
// attested): a build with no snapshot, or one that leaves no way to log
// in to the snapshot (Vultr restores a snapshot's disk as it was: the
// build's own credentials are what let the check in).
func checkVerify(b *spec.Build, earlier []spec.PostProcessor, _ any) (key, problem, fix string) {
	recorded := "" // a post-processor before this one that records or attests the snapshot
	for _, pp := range earlier {
		if pp.Type == "manifest" || pp.Type == "provenance" && pp.Config != nil {
			recorded = pp.Type
		}
	}
	switch {
	case recorded != "":
		return "", fmt.Sprintf("the vultr-verify post-processor comes after a %s post-processor in build %s: a snapshot that fails its check would already be recorded or attested", recorded, b.Name),
			"move vultr-verify before the manifest and provenance post-processors"
	case b.Type != "vultr":
		return "", fmt.Sprintf("the vultr-verify post-processor boots a snapshot, and build %s (%s) makes none", b.Name, b.Type), fmt.Sprintf("add except = [%q] to it", b.Name)
	case b.SSH.ClearAuthorizedKeys && b.SSH.PrivateKeyFile == "" && b.SSH.Password == "" && !b.SSH.AgentAuth:
		return "", fmt.Sprintf("the vultr-verify post-processor cannot log in to build %s's snapshot: ssh_clear_authorized_keys removes the temporary key it would use, and the build has no other credential", b.Name),
			"set ssh_private_key_file (with its public key in the image) or ssh_password, or drop ssh_clear_authorized_keys"
	}
	return "", "", ""
}

// verifySnapshot is the vultr-verify post-processor: an instance booted
// from the new snapshot, logged in to with the build's own credentials
// (Vultr restores a snapshot's disk as it was, so what let the build in
// lets the check in), the checks run on it as a shell provisioner runs,
// and the instance destroyed, whatever happens, with the build's cleanup
// rules. A failed check deletes the snapshot unless Keep is set.
func verifySnapshot(ctx context.Context, st *state, r *Result, o Options, v *spec.Verify) error {
	start := o.Now()
	failed, err := checkSnapshot(ctx, st, r, o, v)
	r.Checks = append(r.Checks, Check{Snapshot: r.SnapshotID, Took: o.Now().Sub(start), Err: errors.Join(failed, err)})
	switch {
	case failed == nil && err == nil:
		o.UI.Message(st.b.Name, fmt.Sprintf("Snapshot %s passed its check in %s", r.SnapshotID, o.Now().Sub(start).Round(time.Millisecond)))
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("check of snapshot %s: %w", r.SnapshotID, errors.Join(failed, err))
	case failed == nil:
		// The cloud, not the snapshot, failed (the create was refused, or
		// the check's instance could not be deleted): nothing says the
		// snapshot is broken, so it stays, unchecked.
		return fmt.Errorf("snapshot %s stays (the cloud failed, not the snapshot): %w", r.SnapshotID, err)
	case v.Keep:
		return fmt.Errorf("%w: snapshot %s is kept for debugging (on_failure = \"keep\"): %w", ErrVerifyFailed, r.SnapshotID, errors.Join(failed, err))
	}
	id := r.SnapshotID
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.CleanupTimeout)
	defer cancel()
	if derr := st.cloud.DeleteSnapshot(dctx, id); derr != nil && !errors.Is(derr, vultr.ErrNotFound) {
		return fmt.Errorf("%w: %w; and deleting snapshot %s failed, so it remains: %w", ErrVerifyFailed, failed, id, derr)
	}
	o.UI.Message(st.b.Name, "Deleted snapshot "+id+", which failed its check")
	r.SnapshotID, r.ArtifactID = "", ""
	return fmt.Errorf("%w and was deleted: %w", ErrVerifyFailed, errors.Join(failed, err))
}

// checkSnapshot boots, checks and destroys the check's instance. failed
// is the snapshot's failure: it did not boot, SSH never answered, or a
// check failed. err is the cloud's: the create was refused, or cleanup
// left the check's instance.
func checkSnapshot(ctx context.Context, st *state, r *Result, o Options, v *spec.Verify) (failed, err error) {
	b := *st.b
	b.SSH.Host = "" // the check's instance, not a fixed host
	b.Vultr.BootTimeout = v.Timeout
	vs := &state{b: &b, run: st.run, cloud: st.cloud, resolved: st.resolved, runTag: leftovers.VerifyTag(o.RunID, st.b.Name),
		key: st.key, password: st.password, pin: &remote.Pin{}, bastionPin: st.bastionPin}
	tctx, cancel := context.WithTimeout(ctx, v.Timeout)
	defer cancel()
	var undo cleanups
	defer func() {
		budget := o.CleanupTimeout
		if ctx.Err() != nil {
			budget = o.CancelBudget
		}
		res := undo.run(ctx, o.Stop, budget)
		r.Left = append(r.Left, res.left...)
		err = errors.Join(err, res.err)
	}()
	if err := phase(tctx, o, st.b.Name, "create instance", func(ctx context.Context) error {
		return createCheckInstance(ctx, vs, &undo, o, r.SnapshotID, v)
	}); err != nil {
		return nil, fmt.Errorf("create instance: %w", err)
	}
	steps := []struct {
		name string
		run  func(context.Context, *state, *cleanups, Options) error
	}{
		{"wait for instance", stepWaitInstance},
		{"connect over SSH", stepConnect},
		{"run the checks", func(ctx context.Context, vs *state, _ *cleanups, o Options) error { return runChecks(ctx, vs, o, v) }},
	}
	for _, s := range steps {
		if err := phase(tctx, o, st.b.Name, s.name, func(ctx context.Context) error { return s.run(ctx, vs, &undo, o) }); err != nil {
			if tctx.Err() != nil && ctx.Err() == nil {
				return fmt.Errorf("%s: not done within the check's timeout of %s: %w", s.name, v.Timeout, err), nil
			}
			return fmt.Errorf("%s: %w", s.name, err), nil
		}
	}
	return nil, nil
}

// phase runs one step of the check, shown as a phase of the build.
func phase(ctx context.Context, o Options, build, name string, fn func(context.Context) error) error {
	end := o.UI.Phase(build, "verify: "+name)
	defer end()
	return fn(ctx)
}

// createCheckInstance creates the instance from the snapshot, tagged with
// the run, and registers its delete the moment it has an ID.
func createCheckInstance(ctx context.Context, vs *state, undo *cleanups, o Options, snapshot string, v *spec.Verify) error {
	region, plan := vs.resolved.Region, vs.resolved.Plan
	if v.Region != "" {
		region = v.Region
	}
	if v.Plan != "" {
		plan = v.Plan
	}
	label := "verify " + vs.b.Name
	req := vultr.CreateInstanceRequest{Region: region, Plan: plan, SnapshotID: snapshot, Label: label,
		Tags: []string{leftovers.ToolTag}, ListTag: leftovers.ToolTag, RunTag: vs.runTag,
		EnableIPv6: vs.resolved.IPv6Only || vs.b.SSH.Interface == "public_v6"}
	inst, err := createInstance(ctx, vs, undo, o, req, "Destroyed check instance ", nil)
	if err != nil {
		return fmt.Errorf("create an instance of snapshot %s in %s: %w", snapshot, region, err)
	}
	o.UI.Message(vs.b.Name, fmt.Sprintf("Created check instance %s of snapshot %s in %s", inst.ID, snapshot, region))
	return nil
}

// runChecks runs the checks on the instance as a shell provisioner.
func runChecks(ctx context.Context, vs *state, o Options, v *spec.Verify) error {
	out := o.UI.Output(vs.b.Name)
	defer out.Close()
	env := &provision.Env{BuildName: vs.b.Name, BuilderType: vs.b.Type, Comm: vs.comm, Stdout: out, Stderr: out,
		Logf:    func(format string, args ...any) { o.UI.Message(vs.b.Name, fmt.Sprintf(format, args...)) },
		Secrets: o.SecretValues(), PTY: vs.b.SSH.PTY, WorkDir: o.WorkDir, LocalEnviron: o.Environ}
	return provision.Run(ctx, spec.Provisioner{Type: "shell", Config: v.Shell}, env)
}
