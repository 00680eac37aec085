// Command vultr-image-action builds Vultr snapshots from Packer templates,
// as a GitHub Docker action and as a command-line tool.
package main

import (
	"context"
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
	// handlers stay installed until the end, so a later signal cannot kill
	// a cleanup in flight; the second one ends insist, and cleanup stops
	// waiting and says what is left.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	insist, stopInsist := secondSignal()
	err := run(ctx, insist) // every error is shown by cli.Run
	stopInsist()
	stop()
	os.Exit(cli.ExitCode(err))
}

// secondSignal returns a context that ends at the second SIGINT/SIGTERM.
func secondSignal() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		n := 0
		for range sigs {
			if n++; n == 2 {
				cancel()
			}
		}
	}()
	return ctx, func() { signal.Stop(sigs); cancel() }
}

func run(ctx, insist context.Context) error {
	return cli.Run(ctx, cli.Env{
		Stop:    insist,
		Args:    os.Args,
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Getenv:  os.Getenv,
		Environ: os.Environ,
		Getwd:   os.Getwd,
	})
}
