//go:build linux

package machine

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
)

func TestMain(m *testing.M) {
	if code, ok := SandboxMain(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// loopbackIP picks a random 127.x.y.z address.
func loopbackIP(t *testing.T) string {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(1<<22))
	if err != nil {
		t.Fatal(err)
	}
	v := n.Int64()
	return fmt.Sprintf("127.%d.%d.%d", 1+v>>16%250, (v>>8)&255, 1+v&127)
}

type testMachine struct {
	ms      *Machines
	m       vultremu.Machine
	signer  ssh.Signer
	powered atomic.Int32
}

func boot(t *testing.T, o Options, from string) *testMachine {
	t.Helper()
	o.Logf = t.Logf
	ms, err := New(o)
	if errors.Is(err, ErrNoSandbox) {
		t.Skipf("no sandbox on this host: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ms.Close)
	return bootOn(t, ms, from)
}

func bootOn(t *testing.T, ms *Machines, from string) *testMachine {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	tm := &testMachine{ms: ms, signer: signer}
	m, err := ms.Boot(context.Background(), vultremu.MachineSpec{
		InstanceID:     fmt.Sprintf("inst-%d", time.Now().UnixNano()),
		IPv4:           loopbackIP(t),
		AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(signer.PublicKey()))},
		RootPassword:   "emu-root-pw-1234",
		From:           from,
		OnPowerOff:     func() { tm.powered.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	tm.m = m
	t.Cleanup(func() { _ = m.Destroy() })
	return tm
}

func (tm *testMachine) client(t *testing.T) *ssh.Client {
	t.Helper()
	c, err := ssh.Dial("tcp", tm.m.Addr(), &ssh.ClientConfig{
		User:            "root",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(tm.signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func run(t *testing.T, c *ssh.Client, cmd string) (string, error) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	var out, errOut bytes.Buffer
	s.Stdout, s.Stderr = &out, &errOut
	err = s.Run(cmd)
	return out.String() + errOut.String(), err
}

func TestCommandsRunAsSandboxRoot(t *testing.T) {
	t.Parallel()
	tm := boot(t, Options{}, "")
	c := tm.client(t)
	tests := []struct {
		cmd  string
		want string
	}{
		{"id -u", "0\n"},
		{"uname -n", "vultr-emu\n"},
		{"echo $HOME; pwd", "/root\n/root\n"},
		{"echo hi > /etc/motd-emu && cat /etc/motd-emu", "hi\n"},
		{"tr '\\0' ' ' < /proc/1/cmdline | cut -d' ' -f2", "__vultr-emu-sandbox\n"}, // PID 1 is the sandbox's init
	}
	for _, tt := range tests {
		got, err := run(t, c, tt.cmd)
		if err != nil {
			t.Errorf("%q: %v (%s)", tt.cmd, err, got)
			continue
		}
		if got != tt.want {
			t.Errorf("%q = %q, want %q", tt.cmd, got, tt.want)
		}
	}
	// The host's /etc is untouched by the machine's write.
	if _, err := os.Stat("/etc/motd-emu"); err == nil {
		t.Fatalf("a write inside the machine reached the host's /etc")
	}
	out, err := run(t, c, "exit 3")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 3 {
		t.Errorf("exit 3: err %v, out %q; want exit status 3", err, out)
	}
}

func TestPowerCommandsStayInside(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"shutdown -P now", "/sbin/poweroff", "halt -p", "systemctl poweroff"} {
		cmd := cmd
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			tm := boot(t, Options{}, "")
			c := tm.client(t)
			if out, err := run(t, c, cmd); err != nil {
				var missing *ssh.ExitMissingError
				if !errors.As(err, &missing) {
					t.Fatalf("%q: %v (%s)", cmd, err, out)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for tm.powered.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := tm.powered.Load(); got != 1 {
				t.Fatalf("OnPowerOff called %d times, want 1", got)
			}
			if c, err := net.DialTimeout("tcp", tm.m.Addr(), time.Second); err == nil {
				c.Close()
				t.Errorf("machine still accepts SSH after %q", cmd)
			}
		})
	}
}

func TestKillAllIsConfined(t *testing.T) {
	t.Parallel()
	tm := boot(t, Options{}, "")
	c := tm.client(t)
	_, err := run(t, c, "kill -9 -1; sleep 1; echo survived")
	_ = err // the shell itself may be killed
	// This test process is alive, and the machine still serves.
	got, err := run(t, c, "echo alive")
	if err != nil || got != "alive\n" {
		t.Fatalf("after kill -9 -1: %q, %v", got, err)
	}
}

func TestSFTPAndSnapshotRestore(t *testing.T) {
	t.Parallel()
	tm := boot(t, Options{}, "")
	c := tm.client(t)
	sc, err := sftp.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	f, err := sc.Create("/opt/app.conf")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "setting=1\n")
	f.Close()
	sc.Close()
	got, err := run(t, c, "cat /opt/app.conf; stat -c %a /opt/app.conf")
	if err != nil || !strings.HasPrefix(got, "setting=1\n") {
		t.Fatalf("cat after upload: %q %v", got, err)
	}
	if _, err := run(t, c, "mkdir -p /root/data && echo persisted > /root/data/x"); err != nil {
		t.Fatal(err)
	}
	if err := tm.ms.Snapshot(context.Background(), tm.m, "snap-1"); err != nil {
		t.Fatal(err)
	}
	tm2 := bootOn(t, tm.ms, "snap-1")
	c2 := tm2.client(t)
	got, err = run(t, c2, "cat /opt/app.conf /root/data/x")
	if err != nil || got != "setting=1\npersisted\n" {
		t.Fatalf("restored machine: %q, %v", got, err)
	}
}

func TestPasswordAuth(t *testing.T) {
	t.Parallel()
	tm := boot(t, Options{}, "")
	c, err := ssh.Dial("tcp", tm.m.Addr(), &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.Password("emu-root-pw-1234")}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	_, err = ssh.Dial("tcp", tm.m.Addr(), &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.Password("wrong")}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err == nil {
		t.Fatal("wrong password accepted")
	}
}

func TestRealSSHD(t *testing.T) {
	t.Parallel()
	const sshd = "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must have %s (installed by .ci/run): %v", sshd, err)
		}
		t.Skip("no sshd here")
	}
	if os.Geteuid() != 0 {
		t.Skip("sshd inside the sandbox needs the emulator to run as root")
	}
	tm := boot(t, Options{SSHD: sshd}, "")
	c := tm.client(t)
	got, err := run(t, c, "id -u; echo $SSH_CONNECTION | cut -d' ' -f3")
	if err != nil || !strings.HasPrefix(got, "0\n") {
		t.Fatalf("real sshd: %q %v", got, err)
	}
	sc, err := sftp.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	f, err := sc.Create("/tmp/up.txt")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "via openssh\n")
	f.Close()
	sc.Close()
	if got, err := run(t, c, "cat /tmp/up.txt"); err != nil || got != "via openssh\n" {
		t.Fatalf("cat: %q %v", got, err)
	}
	run(t, c, "shutdown -P now")
	deadline := time.Now().Add(5 * time.Second)
	for tm.powered.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if tm.powered.Load() != 1 {
		t.Fatalf("real sshd machine did not power off")
	}
}
