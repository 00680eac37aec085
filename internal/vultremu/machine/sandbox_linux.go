package machine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pkg/sftp"
)

// The sandbox: every command a machine runs executes in a fresh process
// tree, re-executed from this binary, in new user, mount, PID, UTS and IPC
// namespaces. Root inside maps to an unprivileged host uid, so host files
// stay read-only; the root filesystem is the host's /usr, /etc, /var, /opt
// and /srv through overlays whose upper layers are the machine's disk, plus
// the disk's own /root, /home, /tmp; shutdown, poweroff, reboot, halt and
// systemctl are stubs that only write a note for the emulator. A reboot(2)
// or kill(-1) inside reaches no further than the sandbox's PID namespace.

const (
	sandboxArg = "__vultr-emu-sandbox"
	sandboxEnv = "VULTR_EMU_SANDBOX"
)

// ErrNoSandbox means this host cannot create the sandbox (user namespaces
// are disabled), so the emulator refuses to run commands at all.
var ErrNoSandbox = errors.New("the emulator's machine sandbox needs Linux user namespaces, which are unavailable here (check /proc/sys/user/max_user_namespaces and kernel.apparmor_restrict_unprivileged_userns)")

// sandboxConfig tells the re-executed process what to do.
type sandboxConfig struct {
	Mode    string   `json:"mode"` // exec, sftp, sshd
	Disk    string   `json:"disk"`
	Ctl     string   `json:"ctl"`
	Command string   `json:"command,omitempty"`
	Env     []string `json:"env,omitempty"`
	// SSHD mode.
	SSHD       string `json:"sshd,omitempty"`
	SSHDConfig string `json:"sshd_config,omitempty"`
}

// overlayDirs are host directories the machine sees copy-on-write.
var overlayDirs = []string{"usr", "etc", "var", "opt", "srv"}

// diskDirs are directories that live only on the machine's disk.
// var/tmp is one of them (mounted over the /var overlay): templates use it
// as remote_folder, and the host's copy belongs to a root the sandbox does
// not map, so the overlay could not create files in it.
var diskDirs = []string{"root", "home", "tmp", "var/tmp", "mnt", "media"}

// SandboxMain runs the sandbox side of a re-executed process. main (and
// the TestMain of packages that boot machines) calls it first:
//
//	if code, ok := machine.SandboxMain(); ok { os.Exit(code) }
//
// It reports ok=false in every process that is not a sandbox.
func SandboxMain() (int, bool) {
	if len(os.Args) < 2 || os.Args[1] != sandboxArg {
		return 0, false
	}
	var cfg sandboxConfig
	if err := json.Unmarshal([]byte(os.Getenv(sandboxEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: bad config:", err)
		return 126, true
	}
	if err := enterRoot(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 126, true
	}
	switch cfg.Mode {
	case "exec":
		return runShell(cfg), true
	case "sftp":
		srv, err := sftp.NewServer(stdio{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "sandbox: sftp:", err)
			return 126, true
		}
		if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
			return 1, true
		}
		return 0, true
	case "sshd":
		cmd := exec.Command(cfg.SSHD, "-D", "-e", "-f", cfg.SSHDConfig)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.Env = []string{"PATH=" + sandboxPath}
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "sandbox: sshd:", err)
			return 1, true
		}
		return 0, true
	}
	fmt.Fprintln(os.Stderr, "sandbox: unknown mode", cfg.Mode)
	return 126, true
}

type stdio struct{}

func (stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdio) Close() error                { return os.Stdout.Close() }

const sandboxPath = "/run/vultr-emu/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func runShell(cfg sandboxConfig) int {
	cmd := exec.Command("/bin/sh", "-c", cfg.Command)
	if cfg.Command == "" {
		cmd = exec.Command("/bin/sh")
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Dir = "/root"
	cmd.Env = append([]string{"HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh", "PATH=" + sandboxPath}, cfg.Env...)
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exit.ExitCode()
	default:
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 127
	}
}

// enterRoot builds the machine's root filesystem and pivots into it.
func enterRoot(cfg sandboxConfig) error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	root := filepath.Join(cfg.Ctl, "rootfs")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", root, "tmpfs", 0, "mode=755"); err != nil {
		return fmt.Errorf("mount root tmpfs: %w", err)
	}
	entries, err := os.ReadDir("/")
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if e.Type()&os.ModeSymlink != 0 {
			// Merged /usr: /bin -> usr/bin and friends.
			if target, err := os.Readlink("/" + name); err == nil && !strings.HasPrefix(target, "/") {
				_ = os.Symlink(target, filepath.Join(root, name))
			}
		}
	}
	for _, name := range overlayDirs {
		fi, err := os.Lstat("/" + name)
		if err != nil || !fi.IsDir() {
			continue
		}
		dst := filepath.Join(root, name)
		if err := os.Mkdir(dst, 0o755); err != nil {
			return err
		}
		opts := fmt.Sprintf("lowerdir=/%s,upperdir=%s,workdir=%s,userxattr", name, filepath.Join(cfg.Disk, "upper", name), filepath.Join(cfg.Disk, "work", name))
		if err := syscall.Mount("overlay", dst, "overlay", 0, opts); err != nil {
			if errors.Is(err, syscall.EINVAL) {
				return fmt.Errorf("mount overlay on /%s: %w (the host's /%s cannot be an overlay's lower layer here: is an overlay mounted inside it, such as a running container's storage under /var/lib/containers? Keep that storage elsewhere, e.g. podman --root /tmp/...)", name, err, name)
			}
			return fmt.Errorf("mount overlay on /%s: %w", name, err)
		}
	}
	for _, name := range diskDirs {
		dst := filepath.Join(root, name)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
		if err := syscall.Mount(filepath.Join(cfg.Disk, "fs", name), dst, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /%s: %w", name, err)
		}
	}
	// /proc of the sandbox's own PID namespace.
	if err := os.Mkdir(filepath.Join(root, "proc"), 0o555); err != nil {
		return err
	}
	if err := syscall.Mount("proc", filepath.Join(root, "proc"), "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	if err := makeDev(root); err != nil {
		return err
	}
	if err := makeRun(root, cfg.Ctl); err != nil {
		return err
	}
	// Pivot into the new root and drop the host's.
	old := filepath.Join(root, ".oldroot")
	if err := os.Mkdir(old, 0o700); err != nil {
		return err
	}
	if err := syscall.PivotRoot(root, old); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := os.Chdir("/"); err != nil {
		return err
	}
	if err := syscall.Unmount("/.oldroot", syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("detach host root: %w", err)
	}
	_ = os.Remove("/.oldroot")
	_ = syscall.Sethostname([]byte("vultr-emu"))
	return nil
}

func makeDev(root string) error {
	dev := filepath.Join(root, "dev")
	if err := os.Mkdir(dev, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", dev, "tmpfs", syscall.MS_NOSUID, "mode=755"); err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	for _, name := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		p := filepath.Join(dev, name)
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		_ = f.Close()
		if err := syscall.Mount("/dev/"+name, p, "", syscall.MS_BIND, ""); err != nil {
			_ = os.Remove(p)
		}
	}
	for _, l := range [][2]string{{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}} {
		_ = os.Symlink(l[0], filepath.Join(dev, l[1]))
	}
	for _, d := range []string{"shm", "pts"} {
		_ = os.Mkdir(filepath.Join(dev, d), 0o1777)
	}
	// A devpts of the machine's own, as a VM has: sshd allocates
	// pseudo-terminals there (ssh_pty). A kernel that refuses it in a user
	// namespace leaves the machine without terminals, nothing else.
	pts := filepath.Join(dev, "pts")
	if err := syscall.Mount("devpts", pts, "devpts", syscall.MS_NOSUID|syscall.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620"); err == nil {
		_ = os.Symlink("pts/ptmx", filepath.Join(dev, "ptmx"))
	}
	return nil
}

// stub replaces power commands: it notes what was asked for in the control
// directory, which the emulator watches, and never touches the host.
const stub = `#!/bin/sh
# Emulated machine: power commands change only this machine's state.
name=$(basename "$0")
action=poweroff
case "$name $*" in
  reboot*|"shutdown -r"*|*" -r "*|*" --reboot"*) action=reboot ;;
esac
if [ "$name" = systemctl ]; then
  case "$1" in
    poweroff|halt) action=poweroff ;;
    reboot|kexec) action=reboot ;;
    *) echo "systemctl: not available on this emulated machine" >&2; exit 1 ;;
  esac
fi
echo "$name $*" > "/run/vultr-emu/ctl/$action"
exit 0
`

var stubNames = []string{"shutdown", "poweroff", "reboot", "halt", "systemctl", "telinit", "init"}

func makeRun(root, ctl string) error {
	run := filepath.Join(root, "run")
	if err := os.Mkdir(run, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", run, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=755"); err != nil {
		return fmt.Errorf("mount /run: %w", err)
	}
	bin := filepath.Join(run, "vultr-emu", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	for _, n := range stubNames {
		if err := os.WriteFile(filepath.Join(bin, n), []byte(stub), 0o755); err != nil {
			return err
		}
	}
	ctlDir := filepath.Join(run, "vultr-emu", "ctl")
	if err := os.Mkdir(ctlDir, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount(filepath.Join(ctl, "power"), ctlDir, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind control directory: %w", err)
	}
	// Cover the real binaries too, so an absolute path reaches the stub.
	for _, n := range stubNames {
		for _, dir := range []string{"usr/sbin", "usr/bin", "sbin", "bin"} {
			target := filepath.Join(root, dir, n)
			if fi, err := os.Lstat(target); err == nil && fi.Mode().IsRegular() {
				_ = syscall.Mount(filepath.Join(bin, n), target, "", syscall.MS_BIND, "")
			}
		}
	}
	// sshd's privilege separation directory.
	return os.MkdirAll(filepath.Join(run, "sshd"), 0o755)
}

// idMap describes how sandbox ids map to host ids.
type idMap struct {
	uid, gid int // host ids of sandbox root
	size     int // 1, or 65536 when the emulator runs as host root
}

// hostBase is where sandbox ids start on the host when the emulator runs as
// root: far above any real user or subordinate-id range.
const hostBase = 0x70000000

func currentIDMap() idMap {
	if os.Geteuid() == 0 {
		return idMap{uid: hostBase, gid: hostBase, size: 65536}
	}
	return idMap{uid: os.Geteuid(), gid: os.Getegid(), size: 1}
}

// sandboxCmd prepares a re-execution of this binary as a sandbox.
func sandboxCmd(ctx context.Context, exe string, ids idMap, cfg sandboxConfig) (*exec.Cmd, error) {
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, sandboxArg)
	cmd.Env = []string{sandboxEnv + "=" + string(data)}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: ids.uid, Size: ids.size}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: ids.gid, Size: ids.size}},
		// Become the sandbox's root, which maps to an unprivileged host id;
		// without this the process would keep its host ids, unmapped.
		Credential: &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
		// sshd's privilege separation calls setgroups; only a root parent
		// may allow it, and only then are there several ids to switch to.
		GidMappingsEnableSetgroups: ids.size > 1,
		Pdeathsig:                  syscall.SIGKILL,
		Setpgid:                    true,
	}
	// Ending the context ends the sandbox: its init is our own child, and
	// the kernel then ends everything in its PID namespace.
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	return cmd, nil
}
