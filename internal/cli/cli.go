// Package cli is the command line and the GitHub Action entry point. It
// reads the process environment (only through Env), parses flags and
// inputs, wires the outside systems together and hands a *spec.Spec to
// package build.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/vultr-image-action/vultr-image-action/internal/app"
	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// Version is set at link time: -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = "dev"

// Env is the process's outside world (app.World), injected so tests can
// run the whole CLI in parallel without touching the real environment.
// Run sets its Version.
type Env = app.World

// Exit codes, documented in the README.
const (
	ExitOK        = 0
	ExitFailure   = 1   // a build failed, or cleanup did not finish
	ExitUsage     = 2   // bad flags, inputs or template: nothing was created
	ExitCancelled = 130 // interrupted by SIGINT/SIGTERM (after cleanup)
)

// exitError is a command's own exit code (fmt -check exits 3, as Packer).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// ExitCode maps a Run error to the process exit code.
func ExitCode(err error) int {
	var ue *app.UsageError
	var ds spec.Diagnostics
	var ee *exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitCancelled
	case errors.As(err, &ue), errors.As(err, &ds):
		return ExitUsage
	default:
		return ExitFailure
	}
}

// commands are the command line's commands, in the order the help lists
// them: the dispatch and the help both come from here.
var commands = []struct {
	name, summary string
	run           func(ctx context.Context, env Env, args []string) error
}{
	{"build", "Build snapshots from a template", cmdBuild},
	{"validate", "Check a template without creating anything", cmdValidate},
	{"inspect", "Show a template's variables, builders and provisioners", cmdInspect},
	{"console", "Evaluate HCL2 expressions in a template's context", cmdConsole},
	{"hcl2_upgrade", "Convert a JSON template to HCL2", cmdHCL2Upgrade},
	{"fmt", "Format HCL2 files (-check, -diff, -write, -recursive)", cmdFmt},
	{"init", "Report that no plugin needs installing (the vultr builder is built in)", cmdInit},
	{"verify-attestation", "Check a signed attestation, and that its snapshot exists", cmdVerifyAttestation},
	{"cleanup", "Delete instances and SSH keys left by a killed build", cmdCleanup},
	{"sweep", "Find and delete this tool's leftovers older than a threshold", cmdSweep},
	{"emulator", "Run the built-in Vultr API emulator", cmdEmulator},
	{"version", "Print the version", cmdVersion},
}

// usage is the help, from commands.
func usage() string {
	var b strings.Builder
	b.WriteString("Usage: vultr-image-action <command> [flags] [args]\n\n" +
		"Builds Vultr snapshots from Packer templates (JSON or HCL2), as Packer's\n" +
		"vultr builder does, without Packer.\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-13s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'vultr-image-action <command> -help' for a command's flags.\n" +
		"With no command inside GitHub Actions, it runs as the action.\n")
	return b.String()
}

func cmdVersion(_ context.Context, env Env, _ []string) error {
	fmt.Fprintf(env.Stdout, "vultr-image-action %s\n", Version)
	return nil
}

// Run runs the command line in env.Args. It returns nil on success; the
// error's kind decides the exit code (see ExitCode). Every error has been
// shown by then.
//
// In GitHub Actions, standard output and error become one stream through
// a ghaction.Guard: text from outside (a machine's output, a remote
// error, a template's names) can then issue no workflow command, and the
// tool's own commands stay in order with it.
func Run(ctx context.Context, env Env) error {
	env.Version = Version
	if ghaction.InActions(env.Getenv) {
		g := ghaction.NewGuard(env.Stdout)
		env.Stdout, env.Stderr = g.Text(), g.Text()
		defer func() { _ = g.Close() }()
	}
	err := dispatch(ctx, env)
	if err != nil && !app.Shown(err) && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(env.Stderr, "Error:", err)
		err = &app.ShownError{Err: err}
	}
	return err
}

// dispatch runs the command env.Args names.
func dispatch(ctx context.Context, env Env) error {
	args := env.Args
	if len(args) == 0 {
		args = []string{"vultr-image-action"}
	}
	prog := filepath.Base(args[0])
	if strings.HasSuffix(prog, "-post") {
		// The action's post-entrypoint: delete what the main step left.
		return runActionPost(ctx, env)
	}
	if len(args) == 1 {
		if ghaction.InActions(env.Getenv) {
			return runAction(ctx, env)
		}
		fmt.Fprint(env.Stderr, usage())
		return &app.UsageError{Err: errors.New("no command given")}
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "-version", "--version":
		cmd = "version"
	case "help", "-help", "--help", "-h":
		fmt.Fprint(env.Stdout, usage())
		return nil
	}
	for _, c := range commands {
		if c.name == cmd {
			return c.run(ctx, env, rest)
		}
	}
	fmt.Fprint(env.Stderr, usage())
	return app.UsageErrorf("unknown command %q", cmd)
}

// multiFlag is a repeatable string flag (-var, -var-file).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// listFlag is a comma-separated list flag (-only, -except).
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func newFlagSet(env Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: vultr-image-action %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags the way Packer does: flags first, then arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &app.UsageError{Err: err}
	}
	return nil
}
