package remote

// Tests against real OpenSSH: Debian's sshd runs inside the emulator's
// sandboxed machines (installed by .ci/run; needs root).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu/machine"
)

func TestMain(m *testing.M) {
	if code, ok := machine.SandboxMain(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

type sshdMachine struct {
	m      vultremu.Machine
	signer ssh.Signer
	host   string
	port   int
}

// ipCounter hands parallel tests distinct loopback addresses.
var ipCounter atomic.Int64

func init() { ipCounter.Store(time.Now().UnixNano() % 1000000) }

func bootSSHD(t *testing.T, ms *machine.Machines) *sshdMachine {
	t.Helper()
	return bootSSHDSpec(t, ms, nil)
}

// bootSSHDSpec boots a machine whose spec mutate may change (sshd options,
// trusted CAs).
func bootSSHDSpec(t *testing.T, ms *machine.Machines, mutate func(*vultremu.MachineSpec)) *sshdMachine {
	t.Helper()
	signer := newSigner(t)
	n := ipCounter.Add(1)
	ip := fmt.Sprintf("127.%d.%d.%d", 100+n%100, (n/100)%250, 1+(n/25000)%250)
	spec := vultremu.MachineSpec{
		InstanceID:     fmt.Sprintf("remote-%d", n),
		IPv4:           ip,
		AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(signer.PublicKey()))},
	}
	if mutate != nil {
		mutate(&spec)
	}
	m, err := ms.Boot(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Destroy() })
	host, port, _ := net.SplitHostPort(m.Addr())
	var p int
	fmt.Sscan(port, &p)
	return &sshdMachine{m: m, signer: signer, host: host, port: p}
}

func (s *sshdMachine) config() Config {
	return Config{Host: s.host, Port: s.port, User: "root", Signers: []ssh.Signer{s.signer}, Timeout: 20 * time.Second, Backoff: 20 * time.Millisecond}
}

func realSSHD(t *testing.T) *machine.Machines {
	t.Helper()
	const sshd = "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil || os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI runs as root with %s installed (by .ci/run)", sshd)
		}
		t.Skip("needs root and OpenSSH's sshd")
	}
	ms, err := machine.New(machine.Options{SSHD: sshd})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ms.Close)
	return ms
}

func TestOpenSSHTransfersSFTPAndSCP(t *testing.T) {
	t.Parallel()
	ms := realSSHD(t)
	s := bootSSHD(t, ms)
	for _, method := range []string{"sftp", "scp"} {
		cfg := s.config()
		cfg.FileTransferMethod = method
		c := connect(t, cfg)
		ctx := context.Background()
		body := bytes.Repeat([]byte(method), 100000)
		dst := "/root/" + method + ".bin"
		if err := c.Upload(ctx, dst, bytes.NewReader(body), 0o640, int64(len(body))); err != nil {
			t.Fatalf("%s upload: %v", method, err)
		}
		var out bytes.Buffer
		if err := c.Run(ctx, "stat -c %a "+dst+"; wc -c < "+dst, nil, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		if got, want := out.String(), fmt.Sprintf("640\n%d\n", len(body)); got != want {
			t.Errorf("%s: remote stat %q, want %q", method, got, want)
		}
		var back bytes.Buffer
		if err := c.Download(ctx, dst, &back); err != nil || !bytes.Equal(back.Bytes(), body) {
			t.Errorf("%s download: %v (%d bytes)", method, err, back.Len())
		}
	}
}

func TestOpenSSHChangedHostKeyIsRefused(t *testing.T) {
	t.Parallel()
	ms := realSSHD(t)
	a, b := bootSSHD(t, ms), bootSSHD(t, ms)
	pin := &Pin{}
	cfg := a.config()
	cfg.HostKeyPin = pin
	connect(t, cfg)
	// The same build reconnects, but a different machine (its own host
	// key) answers: refused.
	cfg2 := b.config()
	cfg2.HostKeyPin = pin
	_, err := Connect(context.Background(), cfg2)
	var hk *HostKeyChangedError
	if !errors.As(err, &hk) {
		t.Fatalf("err = %v, want *HostKeyChangedError", err)
	}
}

func TestOpenSSHReconnectAfterReboot(t *testing.T) {
	t.Parallel()
	ms := realSSHD(t)
	s := bootSSHD(t, ms)
	pin := &Pin{}
	cfg := s.config()
	cfg.HostKeyPin = pin
	c := connect(t, cfg)
	err := c.Run(context.Background(), "reboot; sleep 10", nil, io.Discard, io.Discard)
	if !errors.Is(err, ErrDisconnected) {
		t.Fatalf("reboot: err = %v, want ErrDisconnected", err)
	}
	c2 := connect(t, cfg) // same pin: the same machine's key is accepted
	var out bytes.Buffer
	if err := c2.Run(context.Background(), "echo back", nil, &out, io.Discard); err != nil || out.String() != "back\n" {
		t.Errorf("after reconnect: %q %v", out.String(), err)
	}
}

func TestOpenSSHBastionHop(t *testing.T) {
	t.Parallel()
	ms := realSSHD(t)
	target, jump := bootSSHD(t, ms), bootSSHD(t, ms)
	var mu sync.Mutex
	var dialled []string
	record := func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialled = append(dialled, addr)
		mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	cfg := target.config()
	cfg.Dial = record
	b := jump.config()
	b.Dial = record
	cfg.Bastion = &b
	c := connect(t, cfg)
	var out bytes.Buffer
	if err := c.Run(context.Background(), "echo via-bastion", nil, &out, io.Discard); err != nil || out.String() != "via-bastion\n" {
		t.Fatalf("run through the bastion: %q %v", out.String(), err)
	}
	// Only the bastion was dialled from here; the target was reached
	// through it.
	mu.Lock()
	defer mu.Unlock()
	for _, a := range dialled {
		if a == target.m.Addr() {
			t.Errorf("the target %s was dialled directly", a)
		}
	}
	if len(dialled) == 0 || dialled[0] != jump.m.Addr() {
		t.Errorf("dials %v, want the bastion %s", dialled, jump.m.Addr())
	}
}

// zeros is an endless stream that allocates nothing.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > z.n {
		n = z.n
	}
	clear(p[:n])
	z.n -= n
	return int(n), nil
}

func TestOpenSSHLargeUploadIsStreamed(t *testing.T) {
	t.Parallel()
	ms := realSSHD(t)
	s := bootSSHD(t, ms)
	c := connect(t, s.config())
	const size = 256 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := c.Upload(context.Background(), "/tmp/big", &zeros{n: size}, 0o600, size); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapSys) - int64(before.HeapSys); grew > 64<<20 {
		t.Errorf("heap grew %d MB for a 256 MB upload; it should stream", grew>>20)
	}
	var out bytes.Buffer
	if err := c.Run(context.Background(), "wc -c < /tmp/big", nil, &out, io.Discard); err != nil || strings.TrimSpace(out.String()) != fmt.Sprint(size) {
		t.Errorf("remote size %q %v", out.String(), err)
	}
}

// ssh_pty: with it, commands run on a terminal; without it, they do not.
func TestOpenSSHPTY(t *testing.T) {
	t.Parallel()
	ms := realSSHD(t)
	s := bootSSHD(t, ms)
	for _, pty := range []bool{false, true} {
		cfg := s.config()
		cfg.PTY = pty
		c := connect(t, cfg)
		var out bytes.Buffer
		err := c.Run(context.Background(), "if [ -t 0 ]; then echo terminal; else echo none; fi", nil, &out, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		want := "none"
		if pty {
			want = "terminal"
		}
		if got := strings.TrimSpace(out.String()); got != want {
			t.Errorf("ssh_pty %v: the command saw %q, want %q", pty, got, want)
		}
	}
}
