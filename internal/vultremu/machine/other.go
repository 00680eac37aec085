//go:build !linux

package machine

import (
	"context"
	"errors"

	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
)

// ErrNoSandbox: the emulator's machines are Linux namespaces; elsewhere the
// emulator cannot run machines (everything else works).
var ErrNoSandbox = errors.New("the emulator's machines need Linux (user, mount and PID namespaces); -emulator works only on Linux")

// Options configures Machines.
type Options struct {
	BaseDir, SSHD, Executable string
	Logf                      func(format string, args ...any)
}

// Machines is unavailable on this operating system.
type Machines struct{}

var _ vultremu.Machines = (*Machines)(nil)

// New fails with ErrNoSandbox.
func New(Options) (*Machines, error) { return nil, ErrNoSandbox }

// SandboxMain is never the sandbox here.
func SandboxMain() (int, bool) { return 0, false }

// Close does nothing.
func (*Machines) Close() {}

// Boot fails with ErrNoSandbox.
func (*Machines) Boot(context.Context, vultremu.MachineSpec) (vultremu.Machine, error) {
	return nil, ErrNoSandbox
}

// Snapshot fails with ErrNoSandbox.
func (*Machines) Snapshot(context.Context, vultremu.Machine, string) error { return ErrNoSandbox }

// DeleteSnapshot does nothing.
func (*Machines) DeleteSnapshot(string) error { return nil }

// SnapshotDir knows no snapshot.
func (*Machines) SnapshotDir(string) (string, bool) { return "", false }
