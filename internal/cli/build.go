package cli

import (
	"context"

	"github.com/vultr-image-action/vultr-image-action/internal/app"
	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
)

func cmdBuild(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "build", "build [flags] TEMPLATE")
	var j app.BuildRequest
	var vars, varFiles multiFlag
	var only, except listFlag
	fs.Var(&vars, "var", "set a template variable, `key=value` (repeatable; later wins)")
	fs.Var(&varFiles, "var-file", "JSON (or .pkrvars.hcl) `file` of variables (repeatable; later wins)")
	fs.Var(&only, "only", "build only the builds matching these comma-separated `names` (globs)")
	fs.Var(&except, "except", "skip the builds matching these comma-separated `names` (globs)")
	fs.IntVar(&j.Parallel, "parallel-builds", 0, "run at most `N` builds at once; 0 means no limit")
	fs.StringVar(&j.OnError, "on-error", "cleanup", "what to do with a failed build's instance: cleanup, abort (keep it for debugging), run-cleanup-provisioner (run the error-cleanup-provisioner, then keep it) or ask (in a terminal)")
	fs.BoolVar(&j.Timestamps, "timestamp-ui", false, "prefix every line with the time")
	fs.BoolVar(new(bool), "force", false, "accepted for Packer compatibility: Vultr snapshots never block a build, so there is nothing to force")
	fs.BoolVar(new(bool), "warn-on-undeclared-var", false, "accepted for Packer compatibility: undeclared variables in var files are always reported as warnings")
	fs.BoolVar(&j.MachineReadable, "machine-readable", false, "print Packer's machine-readable output")
	fs.BoolVar(&j.Color, "color", true, "colour the output")
	fs.BoolVar(&j.Debug, "debug", false, "show API calls and timings")
	fs.BoolVar(&j.Emulator, "emulator", false, "build against the built-in Vultr API emulator (no account needed)")
	fs.StringVar(&j.EmulatorSSHD, "emulator-sshd", "", "with -emulator: run this OpenSSH `sshd` inside each emulated machine instead of the built-in SSH server")
	fs.IntVar(&j.KeepSnapshots, "keep-snapshots", -1, "keep the newest `N` snapshots with the build's description, deleting older ones; -1 uses the template's keep_snapshots")
	fs.StringVar(&j.KeepPrefix, "keep-snapshots-prefix", "", "with -keep-snapshots: match snapshots whose description starts with this `prefix` (for descriptions with a timestamp)")
	fs.DurationVar(&j.Timeout, "timeout", 0, "give up (and clean up) after this `duration`; 0 means no limit")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return app.UsageErrorf("build takes exactly one template path, got %d arguments", fs.NArg())
	}
	switch j.OnError {
	case "cleanup", "abort", "run-cleanup-provisioner":
	case "ask":
		if !app.IsTerminal(env.Stdin) || !app.IsTerminal(env.Stdout) {
			return app.UsageErrorf("-on-error=ask needs a terminal to ask in; use cleanup, abort or run-cleanup-provisioner")
		}
	default:
		return app.UsageErrorf("-on-error %q: valid values are cleanup, abort, run-cleanup-provisioner and ask", j.OnError)
	}
	j.Template = fs.Arg(0)
	j.Vars, j.VarFiles, j.Only, j.Except = vars, varFiles, only, except
	if ghaction.InActions(env.Getenv) {
		j.Action = ghaction.New(env.Stdout, env.Getenv)
	}
	_, err := app.Build(ctx, env, j)
	return err
}
