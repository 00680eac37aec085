//go:build linux

// Package machine implements the emulator's machines: real SSH servers on
// an instance's main_ip whose commands run in a sandbox (see
// sandbox_linux.go) that can never shut down, reboot or kill anything on
// the host. Power commands inside a machine drive only that machine's
// power state, which the API then reports as power_status "stopped".
package machine

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vultr-image-action/vultr-image-action/internal/ctxtime"
	"github.com/vultr-image-action/vultr-image-action/internal/sshserver"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
)

// Options configures Machines.
type Options struct {
	// BaseDir holds machine disks and snapshots; default a new temp dir,
	// removed by Close.
	BaseDir string
	// SSHD, when set, is an OpenSSH sshd binary to run inside each machine
	// instead of the built-in SSH server. It needs the emulator to run as
	// root (sshd's privilege separation needs a range of sandbox ids).
	SSHD string
	// Executable is the binary re-executed as the sandbox; default
	// os.Executable().
	Executable string
	Logf       func(format string, args ...any)
	// PollInterval is how often a machine checks for a power command.
	PollInterval time.Duration
}

// Machines boots sandboxed machines. It implements vultremu.Machines.
type Machines struct {
	o       Options
	base    string
	ownBase bool
	ids     idMap
	mu      sync.Mutex
	snaps   map[string]string
	// snapPass is each snapshot's root password: the one its machine
	// had. A machine restored from it keeps it, whatever the API says
	// (Vultr cannot set a snapshot deploy's password).
	snapPass map[string]string
	live     map[*machine]struct{}
}

var _ vultremu.Machines = (*Machines)(nil)

// New returns Machines. It checks that the sandbox can be created, so an
// emulator on a host without user namespaces fails at start, clearly.
func New(o Options) (*Machines, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 25 * time.Millisecond
	}
	if o.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find own executable for the sandbox: %w", err)
		}
		o.Executable = exe
	}
	ms := &Machines{o: o, ids: currentIDMap(), snaps: map[string]string{}, live: map[*machine]struct{}{}}
	if o.SSHD != "" && ms.ids.size == 1 {
		return nil, fmt.Errorf("running %s inside emulated machines needs the emulator to run as root (sshd's privilege separation needs several sandbox ids)", o.SSHD)
	}
	if o.BaseDir == "" {
		dir, err := os.MkdirTemp("", "vultr-emu-")
		if err != nil {
			return nil, err
		}
		o.BaseDir, ms.ownBase = dir, true
		ms.o.BaseDir = dir
	}
	ms.base = o.BaseDir
	if err := os.Chmod(ms.base, 0o755); err != nil {
		return nil, err
	}
	if err := reachable(ms.base); err != nil {
		ms.Close()
		return nil, err
	}
	// The sandbox's root is an unprivileged host user, so it runs a copy of
	// this binary that it can read, not one under a private build dir.
	exe := filepath.Join(ms.base, "sandbox-init")
	if err := copyFile(o.Executable, exe, 0o755); err != nil {
		ms.Close()
		return nil, fmt.Errorf("copy the sandbox binary: %w", err)
	}
	ms.o.Executable = exe
	if err := ms.probe(); err != nil {
		ms.Close()
		return nil, err
	}
	return ms, nil
}

// reachable checks that every directory above dir lets other users
// through, as the sandbox's unprivileged root must reach the disks.
func reachable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("machine directory %s is under %s, which other users cannot enter (mode %v); the sandbox runs as an unprivileged user: choose another BaseDir", abs, p, fi.Mode().Perm())
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// probe runs `true` in a throwaway sandbox.
func (ms *Machines) probe() error {
	m, err := ms.newDisk("probe")
	if err != nil {
		return err
	}
	defer os.RemoveAll(m)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for attempt := 0; ; attempt++ {
		cmd, err := sandboxCmd(ctx, ms.o.Executable, ms.ids, sandboxConfig{Mode: "exec", Disk: filepath.Join(m, "disk"), Ctl: filepath.Join(m, "ctl"), Command: "true"})
		if err != nil {
			return err
		}
		out, err := cmd.CombinedOutput()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.ETXTBSY) && attempt < 50:
			// The binary was just written: a fork elsewhere in this process
			// may briefly hold it open for writing (golang/go#22315).
			if err := ctxtime.Sleep(ctx, 20*time.Millisecond); err != nil {
				return err
			}
			continue
		}
		return fmt.Errorf("%w: %v: %s", ErrNoSandbox, err, strings.TrimSpace(string(out)))
	}
}

// Close destroys every machine and removes the base directory if it made it.
func (ms *Machines) Close() {
	ms.mu.Lock()
	live := make([]*machine, 0, len(ms.live))
	for m := range ms.live {
		live = append(live, m)
	}
	ms.mu.Unlock()
	for _, m := range live {
		_ = m.Destroy()
	}
	if ms.ownBase {
		_ = os.RemoveAll(ms.base)
	}
}

// newDisk lays out an instance directory: disk/{upper,work,fs} and ctl/.
func (ms *Machines) newDisk(name string) (string, error) {
	dir := filepath.Join(ms.base, "machines", name)
	for _, d := range overlayDirs {
		for _, layer := range []string{"upper", "work"} {
			if err := os.MkdirAll(filepath.Join(dir, "disk", layer, d), 0o755); err != nil {
				return "", err
			}
		}
	}
	for _, d := range diskDirs {
		mode := os.FileMode(0o755)
		switch d {
		case "tmp", "var/tmp":
			mode = 0o1777
		case "root":
			mode = 0o700
		}
		p := filepath.Join(dir, "disk", "fs", d)
		if err := os.MkdirAll(p, mode); err != nil {
			return "", err
		}
		_ = os.Chmod(p, mode)
	}
	if err := os.MkdirAll(filepath.Join(dir, "ctl", "power"), 0o755); err != nil {
		return "", err
	}
	if err := writeShadow(filepath.Join(dir, "disk", "upper", "etc")); err != nil {
		return "", err
	}
	if err := ms.chownTree(filepath.Join(dir, "disk")); err != nil {
		return "", err
	}
	if err := ms.chownTree(filepath.Join(dir, "ctl")); err != nil {
		return "", err
	}
	return dir, nil
}

// writeShadow gives the machine its own /etc/shadow: the host's belongs to
// the host's root, which the sandbox cannot read (sshd would then call every
// account locked), and its hashes are none of the machine's business. Every
// account gets "*": no password, not locked.
func writeShadow(etc string) error {
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return nil // no users to mirror
	}
	var b strings.Builder
	for _, line := range strings.Split(string(passwd), "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && name != "" {
			fmt.Fprintf(&b, "%s:*:20000:0:99999:7:::\n", name)
		}
	}
	return os.WriteFile(filepath.Join(etc, "shadow"), []byte(b.String()), 0o640)
}

// chownTree gives a tree to the sandbox's root, when the emulator is root.
func (ms *Machines) chownTree(dir string) error {
	if ms.ids.size == 1 {
		return nil
	}
	return filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		uid, gid := ms.ids.uid, ms.ids.gid
		if ok && int(st.Uid) >= ms.ids.uid && int(st.Uid) < ms.ids.uid+ms.ids.size {
			return nil // already a sandbox id
		}
		return os.Lchown(p, uid, gid)
	})
}

// Boot starts a machine.
func (ms *Machines) Boot(ctx context.Context, spec vultremu.MachineSpec) (vultremu.Machine, error) {
	dir, err := ms.newDisk(spec.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("create disk: %w", err)
	}
	if spec.From != "" {
		ms.mu.Lock()
		src, ok := ms.snaps[spec.From]
		if pw, ok := ms.snapPass[spec.From]; ok {
			spec.RootPassword = pw
		}
		ms.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("snapshot %s has no disk", spec.From)
		}
		if err := copyTree(src, filepath.Join(dir, "disk")); err != nil {
			return nil, fmt.Errorf("restore snapshot %s: %w", spec.From, err)
		}
	}
	m := &machine{ms: ms, spec: spec, dir: dir, done: make(chan struct{})}
	rootSSH := filepath.Join(dir, "disk", "fs", "root", ".ssh")
	if err := writeAuthorizedKeys(rootSSH, spec.AuthorizedKeys); err == nil {
		err = ms.chownTree(rootSSH)
	} else {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("write authorized_keys: %w", err)
	}
	// The keys are those of root's authorized_keys on the disk, as sshd
	// reads them: the instance's, and those a restored snapshot holds.
	keys := diskKeys(filepath.Join(rootSSH, "authorized_keys"))
	if ms.o.SSHD != "" {
		err = m.startSSHD(keys)
	} else {
		err = m.startBuiltin(keys)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	ms.mu.Lock()
	ms.live[m] = struct{}{}
	ms.mu.Unlock()
	go m.watch()
	ms.o.Logf("machine %s up at %s", spec.InstanceID, m.addr)
	return m, nil
}

// Snapshot copies a machine's disk.
func (ms *Machines) Snapshot(_ context.Context, vm vultremu.Machine, snapshotID string) error {
	m, ok := vm.(*machine)
	if !ok {
		return fmt.Errorf("not a machine of this emulator")
	}
	dst := filepath.Join(ms.base, "snapshots", snapshotID)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	// The disk is the overlay upper layers and the machine's own trees;
	// overlay work directories are per mount and not part of the image.
	for _, part := range []string{"upper", "fs"} {
		if err := copyTree(filepath.Join(m.dir, "disk", part), filepath.Join(dst, part)); err != nil {
			return fmt.Errorf("copy disk of %s: %w", m.spec.InstanceID, err)
		}
	}
	for _, d := range overlayDirs {
		_ = os.MkdirAll(filepath.Join(dst, "work", d), 0o755)
	}
	_ = ms.chownTree(filepath.Join(dst, "work"))
	ms.mu.Lock()
	ms.snaps[snapshotID] = dst
	if ms.snapPass == nil {
		ms.snapPass = map[string]string{}
	}
	ms.snapPass[snapshotID] = m.spec.RootPassword
	ms.mu.Unlock()
	return nil
}

// DeleteSnapshot forgets a snapshot's disk.
func (ms *Machines) DeleteSnapshot(snapshotID string) error {
	ms.mu.Lock()
	dir, ok := ms.snaps[snapshotID]
	delete(ms.snaps, snapshotID)
	ms.mu.Unlock()
	if ok {
		return os.RemoveAll(dir)
	}
	return nil
}

// machine is one running machine.
type machine struct {
	ms   *Machines
	spec vultremu.MachineSpec
	dir  string
	addr string

	srv      *sshserver.Server // built-in mode
	sshd     *exec.Cmd         // sshd mode
	fwd      *forwarder        // sshd mode: main_ip:22 -> sshd
	sshdDone chan struct{}

	mu        sync.Mutex
	halted    bool
	destroyed bool
	cmds      map[*exec.Cmd]struct{}
	done      chan struct{}
	stopWatch sync.Once
}

func (m *machine) Addr() string { return m.addr }

// listen binds the instance's address, port 22 when allowed.
func listen(ip string) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "22"))
	if err == nil {
		return ln, nil
	}
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		return net.Listen("tcp", net.JoinHostPort(ip, "0"))
	}
	return nil, err
}

func (m *machine) startBuiltin(keys []ssh.PublicKey) error {
	ln, err := listen(m.spec.IPv4)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.spec.IPv4, err)
	}
	srv, err := sshserver.Serve(ln, sshserver.Config{
		AuthorizedKeys: keys,
		Password:       m.spec.RootPassword,
		User:           "root",
		Exec:           sshserver.ExecFunc(m.exec),
		SFTP:           sftpHandler{m},
		Logf:           m.ms.o.Logf,
	})
	if err != nil {
		_ = ln.Close()
		return err
	}
	m.srv, m.addr = srv, ln.Addr().String()
	return nil
}

// exec runs a session's command in a fresh sandbox over the machine's disk.
func (m *machine) exec(ctx context.Context, s *sshserver.Session) (int, error) {
	return m.sandboxed(ctx, sandboxConfig{Mode: "exec", Command: s.Command, Env: s.Env}, s.Stdin, s.Stdout, s.Stderr)
}

type sftpHandler struct{ m *machine }

func (h sftpHandler) Serve(ctx context.Context, _ string, rw io.ReadWriteCloser) error {
	_, err := h.m.sandboxed(ctx, sandboxConfig{Mode: "sftp"}, rw, rw, io.Discard)
	return err
}

var errHalted = errors.New("machine is powered off")

func (m *machine) sandboxed(ctx context.Context, cfg sandboxConfig, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	m.mu.Lock()
	if m.halted {
		m.mu.Unlock()
		return 0, errHalted
	}
	cfg.Disk, cfg.Ctl = filepath.Join(m.dir, "disk"), filepath.Join(m.dir, "ctl")
	cmd, err := sandboxCmd(ctx, m.ms.o.Executable, m.ms.ids, cfg)
	if err != nil {
		m.mu.Unlock()
		return 0, err
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// As sshd: the command's exit ends the session, whether or not the
	// client has closed its standard input (Ansible's ssh keeps it open).
	// So the copy is not one that Wait waits for.
	if stdin != nil {
		in, err := cmd.StdinPipe()
		if err != nil {
			m.mu.Unlock()
			return 0, err
		}
		go func() {
			_, _ = io.Copy(in, stdin)
			_ = in.Close()
		}()
	}
	cmd.WaitDelay = time.Second
	if m.cmds == nil {
		m.cmds = map[*exec.Cmd]struct{}{}
	}
	if err := cmd.Start(); err != nil {
		m.mu.Unlock()
		return 0, fmt.Errorf("start sandbox: %w", err)
	}
	m.cmds[cmd] = struct{}{}
	m.mu.Unlock()
	err = cmd.Wait()
	m.mu.Lock()
	delete(m.cmds, cmd)
	halted := m.halted
	m.mu.Unlock()
	if halted || ctx.Err() != nil {
		// The machine went down under the command: no exit status.
		return 0, errHalted
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}

// watch notices power commands run inside the machine.
func (m *machine) watch() {
	t := time.NewTicker(m.ms.o.PollInterval)
	defer t.Stop()
	power := filepath.Join(m.dir, "ctl", "power")
	for {
		select {
		case <-m.done:
			return
		case <-m.sshdExited():
			m.ms.o.Logf("machine %s: sshd exited", m.spec.InstanceID)
			m.powerOff()
			return
		case <-t.C:
		}
		if _, err := os.Stat(filepath.Join(power, "poweroff")); err == nil {
			m.ms.o.Logf("machine %s: powered off from inside", m.spec.InstanceID)
			m.powerOff()
			return
		}
		if _, err := os.Stat(filepath.Join(power, "reboot")); err == nil {
			_ = os.Remove(filepath.Join(power, "reboot"))
			m.ms.o.Logf("machine %s: rebooting", m.spec.InstanceID)
			m.reboot()
		}
	}
}

func (m *machine) sshdExited() <-chan struct{} {
	if m.sshdDone == nil {
		return nil
	}
	return m.sshdDone
}

// powerOff stops the machine as a guest shutdown does, then tells the API.
func (m *machine) powerOff() {
	if m.stop() && m.spec.OnPowerOff != nil {
		m.spec.OnPowerOff()
	}
}

// reboot drops every connection; the machine stays powered on.
func (m *machine) reboot() {
	m.mu.Lock()
	for c := range m.cmds {
		_ = c.Process.Kill()
	}
	m.mu.Unlock()
	if m.srv != nil {
		m.srv.CloseConnections()
	}
	if m.fwd != nil {
		m.fwd.dropAll()
	}
}

// stop ends the machine's processes; it reports whether it was running.
func (m *machine) stop() bool {
	m.mu.Lock()
	if m.halted {
		m.mu.Unlock()
		return false
	}
	m.halted = true
	for c := range m.cmds {
		_ = c.Process.Kill()
	}
	sshd := m.sshd
	m.mu.Unlock()
	if m.srv != nil {
		_ = m.srv.Close()
	}
	if m.fwd != nil {
		m.fwd.close()
	}
	if sshd != nil && sshd.Process != nil {
		_ = sshd.Process.Kill()
		<-m.sshdDone
	}
	m.stopWatch.Do(func() { close(m.done) })
	return true
}

// Halt powers the machine off hard.
func (m *machine) Halt() error {
	m.stop()
	return nil
}

// Destroy halts the machine and removes its disk.
func (m *machine) Destroy() error {
	m.stop()
	m.mu.Lock()
	if m.destroyed {
		m.mu.Unlock()
		return nil
	}
	m.destroyed = true
	m.mu.Unlock()
	m.ms.mu.Lock()
	delete(m.ms.live, m)
	m.ms.mu.Unlock()
	return os.RemoveAll(m.dir)
}

// startSSHD runs a real OpenSSH sshd inside the machine's sandbox.
func (m *machine) startSSHD(keys []ssh.PublicKey) error {
	ctl := filepath.Join(m.dir, "ctl")
	// Host key and authorized keys live on the machine's disk, as on a VM.
	sshDir := filepath.Join(m.dir, "disk", "upper", "etc", "ssh")
	if err := os.MkdirAll(sshDir, 0o755); err != nil {
		return err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(priv, "vultr-emu host key")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(sshDir, "vultr_emu_host_ed25519_key"), pem.EncodeToMemory(block), 0o600); err != nil {
		return err
	}
	// Boot wrote root's authorized_keys, as cloud-init does.
	// sshd cannot bind port 22 from inside the sandbox (the network
	// namespace is the host's), so it listens on a free high port and the
	// machine forwards main_ip:22 to it, byte for byte.
	ln, err := listen(m.spec.IPv4)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.spec.IPv4, err)
	}
	free, err := net.Listen("tcp", net.JoinHostPort(m.spec.IPv4, "0"))
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("find a port for sshd: %w", err)
	}
	addr := free.Addr().String()
	_ = free.Close()
	_, port, _ := net.SplitHostPort(addr)
	// Keys only: the machine's /etc/shadow belongs to the host's root,
	// which the sandbox cannot rewrite, so root's password is not set.
	pwAuth := "no"
	conf := fmt.Sprintf(`ListenAddress %s
Port %s
HostKey /etc/ssh/vultr_emu_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin yes
PubkeyAuthentication yes
AuthorizedKeysFile /root/.ssh/authorized_keys
PasswordAuthentication %s
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
SetEnv PATH=%s
LogLevel ERROR
`, m.spec.IPv4, port, pwAuth, sandboxPath)
	if len(m.spec.TrustedUserCAKeys) > 0 {
		ca := strings.Join(m.spec.TrustedUserCAKeys, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(sshDir, "vultr_emu_user_ca.pub"), []byte(ca), 0o644); err != nil {
			return err
		}
		conf += "TrustedUserCAKeys /etc/ssh/vultr_emu_user_ca.pub\n"
	}
	for _, o := range m.spec.SSHDOptions {
		conf += o + "\n"
	}
	if err := os.WriteFile(filepath.Join(sshDir, "vultr_emu_sshd_config"), []byte(conf), 0o644); err != nil {
		return err
	}
	if err := m.ms.chownTree(filepath.Join(m.dir, "disk")); err != nil {
		return err
	}
	cmd, err := sandboxCmd(context.Background(), m.ms.o.Executable, m.ms.ids, sandboxConfig{
		Mode: "sshd", Disk: filepath.Join(m.dir, "disk"), Ctl: ctl, SSHD: m.ms.o.SSHD, SSHDConfig: "/etc/ssh/vultr_emu_sshd_config",
	})
	if err != nil {
		return err
	}
	logf := m.ms.o.Logf
	cmd.Stdout = logWriter{logf, m.spec.InstanceID}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		_ = ln.Close()
		return fmt.Errorf("start sshd: %w", err)
	}
	m.sshd, m.addr = cmd, ln.Addr().String()
	m.fwd = &forwarder{ln: ln, target: addr, conns: map[net.Conn]struct{}{}}
	m.sshdDone = make(chan struct{})
	go func() { _ = cmd.Wait(); close(m.sshdDone) }()
	// Wait until sshd accepts connections.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-m.sshdDone:
			return fmt.Errorf("sshd exited at start (see the emulator log)")
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			go m.fwd.serve()
			return nil
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-t.C:
		case <-m.sshdDone:
			t.Stop()
		}
	}
	_ = cmd.Process.Kill()
	<-m.sshdDone
	_ = ln.Close()
	return fmt.Errorf("sshd did not listen on %s within 10s", addr)
}

type logWriter struct {
	logf func(string, ...any)
	id   string
}

func (w logWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if line != "" {
			w.logf("machine %s: %s", w.id, line)
		}
	}
	return len(p), nil
}

// forwarder relays connections from the machine's address to sshd.
type forwarder struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (f *forwarder) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.relay(c)
	}
}

func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *forwarder) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

func (f *forwarder) relay(c net.Conn) {
	defer c.Close()
	up, err := net.DialTimeout("tcp", f.target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	if !f.track(c) || !f.track(up) {
		return
	}
	defer f.untrack(c)
	defer f.untrack(up)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}

func (f *forwarder) dropAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		_ = c.Close()
	}
}

func (f *forwarder) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	_ = f.ln.Close()
	f.dropAll()
}

// SnapshotDir is the directory that holds a snapshot's disk, for tests that
// look at what went into an image. ok is false for an unknown snapshot.
func (ms *Machines) SnapshotDir(snapshotID string) (dir string, ok bool) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	dir, ok = ms.snaps[snapshotID]
	return dir, ok
}

// diskKeys are the keys of an authorized_keys file.
func diskKeys(path string) []ssh.PublicKey {
	b, _ := os.ReadFile(path)
	var keys []ssh.PublicKey
	for len(b) > 0 {
		k, _, _, rest, err := ssh.ParseAuthorizedKey(b)
		if err != nil {
			break
		}
		keys = append(keys, k)
		b = rest
	}
	return keys
}

// writeAuthorizedKeys adds the instance's keys to root's authorized_keys on
// the machine's disk, as Vultr's cloud-init does at first boot: lines as the
// API holds them (comments kept), after those already there (a machine
// restored from a snapshot keeps its file).
func writeAuthorizedKeys(dir string, lines []string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	p := filepath.Join(dir, "authorized_keys")
	old, _ := os.ReadFile(p)
	var b strings.Builder
	b.Write(old)
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || strings.Contains(string(old), line) {
			continue
		}
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteString("\n")
		}
		b.WriteString(line + "\n")
	}
	return os.WriteFile(p, []byte(b.String()), 0o600)
}
