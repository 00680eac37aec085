package vultremu

import (
	"context"
	"net"
)

// Machines boots the emulator's virtual machines: real SSH servers that a
// build reaches at an instance's main_ip. The API emulator drives them
// through this interface; package vultremu/machine implements it with
// sandboxed machines, and NoMachines serves API-only tests.
//
// A Machines implementation must never run a command on the host outside
// its sandbox: a shutdown, poweroff, reboot or kill issued on a machine
// only ever changes that machine's power state.
type Machines interface {
	// Boot starts a machine for an instance and returns once its SSH server
	// accepts connections. From is the snapshot ID to restore files from,
	// or "". OnPowerOff is called (once, from any goroutine) when software
	// on the machine powers it off, e.g. `shutdown -P now`.
	Boot(ctx context.Context, spec MachineSpec) (Machine, error)

	// Snapshot copies the current disk of the machine of instanceID into
	// snapshotID, to be restored by a later Boot with From=snapshotID.
	Snapshot(ctx context.Context, m Machine, snapshotID string) error

	// DeleteSnapshot forgets a snapshot's disk. Unknown IDs are not an error.
	DeleteSnapshot(snapshotID string) error
}

// MachineSpec is what a machine is booted with.
type MachineSpec struct {
	InstanceID string
	// IPv4 and IPv6 are the addresses the API reports as main_ip and
	// v6_main_ip; the SSH server listens on IPv4 (a loopback address).
	IPv4 string
	IPv6 string
	// AuthorizedKeys are OpenSSH authorized_keys lines for root.
	AuthorizedKeys []string
	// RootPassword is the instance's default_password.
	RootPassword string
	// From is a snapshot ID whose disk the machine starts with, or "".
	From string
	// OnPowerOff is called when the machine powers itself off.
	OnPowerOff func()
	// TrustedUserCAKeys are CA public keys (authorized_keys form) whose
	// user certificates the machine's OpenSSH sshd accepts; SSHDOptions
	// are further sshd_config lines (Ciphers, KexAlgorithms...). Tests set
	// them; the built-in server ignores both.
	TrustedUserCAKeys []string
	SSHDOptions       []string
}

// Machine is one running machine.
type Machine interface {
	// Addr is the address its SSH server listens on, "ip:port".
	Addr() string
	// Halt powers the machine off hard (the halt API). Idempotent.
	Halt() error
	// Destroy halts the machine and removes its disk. Idempotent.
	Destroy() error
}

// Dialer rewrites a dial to an instance's main_ip:22 to the machine's
// actual listener. The machine listens on main_ip:22 when it may bind
// port 22, and on an ephemeral port of main_ip otherwise; clients of the
// embedded emulator dial through this so both cases work.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}
