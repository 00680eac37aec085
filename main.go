// Command vultr-image-action builds Vultr snapshots from Packer templates,
// as a GitHub Docker action and as a command-line tool.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/vultr-image-action/vultr-image-action/internal/cli"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu/machine"
)

func main() {
	// The emulator's machines re-execute this binary as their sandbox init;
	// that process never runs the CLI.
	if code, ok := machine.SandboxMain(); ok {
		os.Exit(code)
	}
	// The first SIGINT/SIGTERM cancels ctx: builds stop and clean up. The
	// handler stays installed until stop, so a second signal cannot kill a
	// cleanup that is in flight.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil && !cli.Reported(err) {
		fmt.Fprintln(os.Stderr, "Error:", err)
	}
	os.Exit(cli.ExitCode(err))
}

func run(ctx context.Context) error {
	return cli.Run(ctx, cli.Env{
		Args:    os.Args,
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Getenv:  os.Getenv,
		Environ: os.Environ,
		Getwd:   os.Getwd,
	})
}
