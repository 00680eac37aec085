package cli

import (
	"context"
	"fmt"
	"net"

	"github.com/vultr-image-action/vultr-image-action/internal/app"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
)

func cmdEmulator(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "emulator", "emulator [-listen ADDR] [-api-key KEY] [-sshd PATH]")
	var o app.EmulatorOptions
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "serve the API on this loopback `address`")
	fs.StringVar(&o.APIKey, "api-key", "", "the API key clients must send (default: random, printed)")
	fs.StringVar(&o.SSHD, "sshd", "", "run this OpenSSH `sshd` inside each machine instead of the built-in SSH server")
	fs.DurationVar(&o.Delays.InstancePending, "pending-delay", app.DemoDelays.InstancePending, "time an instance stays pending: installing, server_status none then locked, DELETE refused")
	fs.DurationVar(&o.Delays.InstanceBooting, "boot-delay", app.DemoDelays.InstanceBooting, "time an active instance stays installingbooting")
	fs.DurationVar(&o.Delays.SnapshotPending, "snapshot-delay", app.DemoDelays.SnapshotPending, "time a snapshot stays pending")
	real := fs.Bool("real-timeline", false, "Vultr's observed timeline: install 90s, boot 60s, snapshot 10m (overrides the delays)")
	fs.Float64Var(&o.TimeScale, "time-scale", 0, "multiply every delay by this `factor` (0.01 runs -real-timeline in seconds)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *real {
		o.Delays = vultremu.RealTimeline
	}
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		return app.UsageErrorf("-listen %q: the emulator serves only on loopback addresses, such as 127.0.0.1:8080", o.Listen)
	}
	e, err := app.StartEmulator(ctx, o)
	if err != nil {
		return err
	}
	defer e.Close()
	fmt.Fprintf(env.Stdout, "Vultr API emulator listening.\n\n  export VULTR_API_URL=%s\n  export VULTR_API_KEY=%s\n\nPress Ctrl-C to stop; every emulated machine is destroyed on exit.\n", e.URL, e.APIKey)
	<-ctx.Done()
	return nil
}
