package app

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

// EmulatorOptions configure the built-in emulator.
type EmulatorOptions struct {
	Listen string // a loopback address (default an ephemeral port)
	APIKey string // default random
	SSHD   string // an OpenSSH sshd run in each machine instead of the built-in server
	Delays vultremu.Delays
	// TimeScale multiplies the delays (0: 1).
	TimeScale float64
	Logf      func(string)
}

// Emulator is a running built-in Vultr API emulator.
type Emulator struct {
	URL    string
	APIKey string
	Dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	srv    *vultremu.Server
	http   *http.Server
	done   chan struct{}
}

// DemoDelays make the emulator feel like a (much faster) real cloud.
var DemoDelays = vultremu.Delays{
	InstancePending: 1 * time.Second,
	InstanceBooting: 1 * time.Second,
	SnapshotPending: 2 * time.Second,
}

// StartEmulator starts the built-in Vultr API emulator, on loopback.
func StartEmulator(ctx context.Context, o EmulatorOptions) (*Emulator, error) {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.APIKey == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		o.APIKey = "EMU" + hex.EncodeToString(b[:])
	}
	if o.Delays == (vultremu.Delays{}) {
		o.Delays = DemoDelays
	}
	logf := func(format string, args ...any) {
		if o.Logf != nil {
			o.Logf("emulator: " + fmt.Sprintf(format, args...))
		}
	}
	ms, err := machine.New(machine.Options{SSHD: o.SSHD, Logf: logf})
	if err != nil {
		return nil, fmt.Errorf("emulated machines: %w", err)
	}
	srv := vultremu.New(vultremu.Options{APIKey: o.APIKey, Machines: ms, Delays: o.Delays, TimeScale: o.TimeScale, Logf: logf})
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("listen on %s: %w", o.Listen, err)
	}
	e := &Emulator{
		URL:    "http://" + ln.Addr().String(),
		APIKey: o.APIKey,
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
func (e *Emulator) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.http.Shutdown(ctx)
	<-e.done
	e.srv.Close()
}
