package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu/machine"
)

type emulatorOptions struct {
	listen string
	apiKey string
	sshd   string
	delays vultremu.Delays
	// timeScale multiplies the delays (0: 1).
	timeScale float64
	logf      func(string)
}

// emulator is a running built-in Vultr API emulator.
type emulator struct {
	URL    string
	APIKey string
	Dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	srv    *vultremu.Server
	http   *http.Server
	done   chan struct{}
}

// demoDelays make the emulator feel like a (much faster) real cloud.
var demoDelays = vultremu.Delays{
	InstancePending: 1 * time.Second,
	InstanceBooting: 1 * time.Second,
	SnapshotPending: 2 * time.Second,
}

func startEmulator(ctx context.Context, o emulatorOptions) (*emulator, error) {
	if o.listen == "" {
		o.listen = "127.0.0.1:0"
	}
	if o.apiKey == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		o.apiKey = "EMU" + hex.EncodeToString(b[:])
	}
	if o.delays == (vultremu.Delays{}) {
		o.delays = demoDelays
	}
	logf := func(format string, args ...any) {
		if o.logf != nil {
			o.logf("emulator: " + fmt.Sprintf(format, args...))
		}
	}
	ms, err := machine.New(machine.Options{SSHD: o.sshd, Logf: logf})
	if err != nil {
		return nil, fmt.Errorf("emulated machines: %w", err)
	}
	srv := vultremu.New(vultremu.Options{APIKey: o.apiKey, Machines: ms, Delays: o.delays, TimeScale: o.timeScale, Logf: logf})
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	e := &emulator{
		URL:    "http://" + ln.Addr().String(),
		APIKey: o.apiKey,
		Dial:   srv.Dialer().DialContext,
		srv:    srv,
		http:   &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second},
		done:   make(chan struct{}),
	}
	go func() {
		defer close(e.done)
		if err := e.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logf("serve: %v", err)
		}
	}()
	return e, nil
}

// Close stops the server and destroys every emulated machine.
func (e *emulator) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.http.Shutdown(ctx)
	<-e.done
	e.srv.Close()
}

func cmdEmulator(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "emulator", "emulator [-listen ADDR] [-api-key KEY] [-sshd PATH]")
	var o emulatorOptions
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "serve the API on this loopback `address`")
	fs.StringVar(&o.apiKey, "api-key", "", "the API key clients must send (default: random, printed)")
	fs.StringVar(&o.sshd, "sshd", "", "run this OpenSSH `sshd` inside each machine instead of the built-in SSH server")
	fs.DurationVar(&o.delays.InstancePending, "pending-delay", demoDelays.InstancePending, "time an instance stays pending: installing, server_status none then locked, DELETE refused")
	fs.DurationVar(&o.delays.InstanceBooting, "boot-delay", demoDelays.InstanceBooting, "time an active instance stays installingbooting")
	fs.DurationVar(&o.delays.SnapshotPending, "snapshot-delay", demoDelays.SnapshotPending, "time a snapshot stays pending")
	real := fs.Bool("real-timeline", false, "Vultr's observed timeline: install 90s, boot 60s, snapshot 10m (overrides the delays)")
	fs.Float64Var(&o.timeScale, "time-scale", 0, "multiply every delay by this `factor` (0.01 runs -real-timeline in seconds)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *real {
		o.delays = vultremu.RealTimeline
	}
	host, _, err := net.SplitHostPort(o.listen)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		return usageErrorf("-listen %q: the emulator serves only on loopback addresses, such as 127.0.0.1:8080", o.listen)
	}
	e, err := startEmulator(ctx, o)
	if err != nil {
		return err
	}
	defer e.Close()
	fmt.Fprintf(env.Stdout, "Vultr API emulator listening.\n\n  export VULTR_API_URL=%s\n  export VULTR_API_KEY=%s\n\nPress Ctrl-C to stop; every emulated machine is destroyed on exit.\n", e.URL, e.APIKey)
	<-ctx.Done()
	return nil
}
